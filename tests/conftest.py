import numpy as np
import pytest
from hypothesis import Phase, settings

import chainrule as cr


def pytest_configure(config):
    """Formulas in tests do not depend on the machine's load: the symbolic budget of
    explain/diff is generous (tests of the budget give their own), here and in the
    command-line subprocesses."""
    import os

    os.environ["CHAINRULE_SYMBOLIC_BUDGET"] = "120"


# Hypothesis's "explain" phase re-runs a failing example under sys.settrace to say which
# lines it reached; through SymPy that takes many minutes and holds up the report of the
# failure itself. The failure, its shrunk example and its traceback are reported without it.
settings.register_profile(
    "chainrule", phases=[p for p in Phase if p is not Phase.explain])
settings.load_profile("chainrule")


@pytest.fixture(autouse=True)
def _fresh_defaults():
    """Every test starts with float32 as the default dtype and a seeded generator."""
    cr.set_default_dtype(cr.float32)
    cr.manual_seed(0)
    yield
    cr.set_default_dtype(cr.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


_MISSING_TOOL = ("could not import", "not installed", "no chromium", "apt-get", "pip install",
                 "optional extra", "graphviz")


def pytest_runtest_makereport(item, call):
    """With CHAINRULE_REQUIRE_TOOLS=1 (CI), a test skipped for a missing tool fails instead."""
    import os

    if call.excinfo is None or os.environ.get("CHAINRULE_REQUIRE_TOOLS") != "1":
        return None
    if call.excinfo.errisinstance(pytest.skip.Exception):
        reason = str(call.excinfo.value).lower()
        if any(word in reason for word in _MISSING_TOOL):
            from _pytest.reports import TestReport

            report = TestReport.from_item_and_call(item, call)
            report.outcome = "failed"
            report.longrepr = f"required tool missing in CI: {call.excinfo.value}"
            return report
    return None


# ----- one headless Chromium for the browser tests ---------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _chromium_executable() -> str:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium executable on PATH (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(request, tmp_path_factory):
    """One headless Chromium per test module (Debian's ``chromium``, driven by Playwright's
    Python package; Playwright's own browser download is not used), with a fresh profile
    directory, as a Playwright browser context. Its viewport is the module's
    ``BROWSER_VIEWPORT`` (width, height), 1200x900 by default. Skipped, with the reason,
    where Playwright or Chromium is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package is not installed"
    )
    executable = _chromium_executable()
    width, height = getattr(request.module, "BROWSER_VIEWPORT", (1200, 900))
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()
