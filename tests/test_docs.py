"""The documentation site builds in strict mode (the tutorials are not executed here; CI's
full build and tests/test_tutorials.py run them): every public name has a docstring and
every cross-reference resolves. A new public function without a docstring fails here, and
so does a public method or property of a documented class (autodoc would silently leave
it out of the reference)."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _api_pages():
    """docs/api_pages.py: the reference's pages and public names, as conf.py reads them."""
    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "docs" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _public_members() -> dict[str, list[str]]:
    """``{documented class: [its public methods and properties]}`` for the reference."""
    pages = _api_pages()
    classes = pages.documented_classes()
    documented = set(classes.values())
    return {dotted: list(pages.public_members(cls, documented)) for dotted, cls in classes.items()}


def test_every_public_method_and_property_has_its_own_docstring():
    """Methods and properties of the documented classes (``Module.buffers``,
    ``Linear.forward``, ``Tensor.add_``, ``Explanation.to_dict``...) need a docstring of
    their own: an override does not count as documented by its base method's docstring,
    which would describe the base class, not this one."""
    pages = _api_pages()
    classes = pages.documented_classes()
    assert "chainrule.Tensor" in classes and "chainrule.nn.Linear" in classes
    documented = set(classes.values())
    missing = [
        f"{dotted}.{attr}"
        for dotted, cls in classes.items()
        for attr in pages.members_without_docstring(cls, documented)
    ]
    assert not missing, (
        f"{len(missing)} public methods/properties without a docstring (the API reference "
        "leaves them out): " + ", ".join(missing)
    )


def test_the_docstring_check_finds_what_it_should():
    """The check above can fail: an undocumented method, property or static method, and an
    override relying on its base's docstring, are reported; private names and documented
    members are not."""
    pages = _api_pages()

    class Base:
        def forward(self, x):
            """Base computation."""
            return x

    class Layer(Base):
        def forward(self, x):
            return x

        @property
        def size(self):
            return 1

        @staticmethod
        def make():
            return Layer()

        def documented(self):
            """Says what it does."""

        def _private(self):
            pass

    assert pages.members_without_docstring(Layer, {Base}) == ["forward", "size", "make"]

    class Internal:
        def helper(self):
            return 1

    class Public(Internal):
        def own(self):
            """Documented."""

    Internal.__module__ = Public.__module__ = "chainrule.example"
    # An internal base's members are shown on the class's entry, so they are checked too;
    # a documented base's are checked on its own entry.
    assert pages.members_without_docstring(Public, set()) == ["helper"]
    assert pages.members_without_docstring(Public, {Internal}) == []


def test_docs_build_in_strict_mode(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("furo")
    pytest.importorskip("jupyter_server_mathjax")
    out = tmp_path / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-D",
        "nb_execution_mode=off",
        "-d",
        str(tmp_path / "doctrees"),
        "docs",
        str(out),
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    api = (out / "api" / "train.html").read_text()
    assert "plot_gradient_flow" in api and "track_gradients" in api
    assert (out / "tutorials" / "06_activations_and_vanishing_gradients.html").exists()
    assert "chainrule activations" in (out / "cli.html").read_text()
    # autodoc shows every public method and property (it silently skips one without a
    # docstring): each has its anchor in the reference.
    html = "".join(page.read_text() for page in (out / "api").glob("*.html"))
    absent = [
        f"{dotted}.{attr}"
        for dotted, attrs in _public_members().items()
        for attr in attrs
        if f'id="{dotted}.{attr}"' not in html
    ]
    assert not absent, "not in the API reference: " + ", ".join(absent)


def _steps_and_script(page: str) -> tuple[str, str, str]:
    """What the step-through page shows, step by step, and the code that shows it: the
    page's id (a digest of its graph and steps), its steps' JSON and its script (the
    graph's layout and the MathML are left out: they come from Graphviz and SymPy)."""
    uid = re.search(r'<div class="crx" id="(crx-[0-9a-f]+)"', page)
    steps = re.search(r'<script type="application/json" class="crx-steps">(.*?)</script>', page)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert uid and steps and script, "not a step-through page"
    return uid.group(1), steps.group(1), script.group(1)


def test_skydiver_page_is_what_the_code_writes(tmp_path):
    """docs/skydiver.html is written by python docs/make_skydiver.py, never by hand."""
    pytest.importorskip("sympy")
    spec = importlib.util.spec_from_file_location(
        "make_skydiver", ROOT / "docs" / "make_skydiver.py"
    )
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    out = tmp_path / "skydiver.html"
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", *make.command("html", out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "docs" / "skydiver.html").read_text()
    assert _steps_and_script(committed) == _steps_and_script(out.read_text()), (
        "docs/skydiver.html is out of date: run python docs/make_skydiver.py"
    )
