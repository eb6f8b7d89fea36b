"""The tutorial notebooks: each runs top to bottom in a fresh Jupyter kernel (a failing cell
fails the test), and they are stored without outputs so their diffs stay readable.

This is the one place they are executed: each executed notebook is kept in
``docs/_build/executed/`` (docs/executed_tutorials.py), and the docs build renders it from
there instead of running the notebook a second time."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("*.ipynb"))


@functools.cache  # one module, so that chainrule's source is hashed once per test run
def _executed_tutorials():
    spec = importlib.util.spec_from_file_location(
        "executed_tutorials", ROOT / "docs" / "executed_tutorials.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = [
    "01_composite_functions",
    "02_chains_and_the_skydiver",
    "03_several_paths",
    "04_backpropagation",
    "05_gradient_descent",
    "06_activations_and_vanishing_gradients",
    "07_classification_and_regression",
    "08_your_own_primitive",
]


def test_the_tutorials_are_all_there():
    assert [p.stem for p in TUTORIALS] == EXPECTED


def test_fingerprint_follows_the_notebook_and_every_source_file(tmp_path):
    executed = _executed_tutorials()
    source = hashlib.sha256()
    package = ROOT / "chainrule"
    for path in sorted(package.rglob("*.py")):
        source.update(str(path.relative_to(package)).encode() + path.read_bytes())
    notebook = tmp_path / "n.ipynb"
    notebook.write_bytes(b"{}")
    first = executed.fingerprint(notebook)
    assert first == hashlib.sha256(b"{}" + source.digest()).hexdigest()
    notebook.write_bytes(b"{ }")
    assert executed.fingerprint(notebook) != first


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem[:2])
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}, cell {i} has stored outputs: clear them "
                "(jupyter nbconvert --clear-output --inplace tutorials/*.ipynb)"
            )
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem[:2])
def test_runs_top_to_bottom(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")  # the datasets
    pytest.importorskip("sympy")  # the explainer's formulas
    # The kernel imports this checkout's chainrule; one BLAS thread, as `chainrule train`.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on an error
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
    # Kept for the docs build, stamped with the notebook and the chainrule it ran with.
    executed = _executed_tutorials()
    saved = executed.save(nb, path)
    assert executed.current_copy(path) == saved
