"""The documentation site builds in strict mode (the tutorials are not executed here; CI's
full build and tests/test_tutorials.py run them): every public name has a docstring and
every cross-reference resolves. A new public function without a docstring fails here."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


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
