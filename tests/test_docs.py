"""The documentation site builds in strict mode (the tutorials are not executed here; CI's
full build and tests/test_tutorials.py run them): every public name has a docstring and
every cross-reference resolves. A new public function without a docstring fails here."""

from __future__ import annotations

import pathlib
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
