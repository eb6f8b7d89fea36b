"""chainrule in a real Jupyter kernel (executed with nbclient): each plot call shows exactly
one image, saving a plot leaves later inline plots working, fit shows a notebook progress
bar, and Explanations and graphs render inline."""

from __future__ import annotations

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = pathlib.Path(__file__).resolve().parents[1]

CELLS = [
    # 0: set-up; fit with a progress bar
    f"""import sys
sys.path.insert(0, {str(ROOT)!r})
import numpy as np
import chainrule as cr
from chainrule import nn, optim
rng = np.random.default_rng(0)
X, y = rng.standard_normal((64, 2)).astype(np.float32), rng.integers(0, 2, 64)
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
history = cr.train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), (X, y),
                       3, track_gradients=True)""",
    # 1: saving a plot shows it once and leaves the backend alone
    "history.plot('curves.png')",
    # 2: a plain pyplot plot afterwards still appears inline
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);",
    # 3: plot without a path: once
    "history.plot()",
    # 4: activations and gradient flow: once each
    "cr.viz.activations(['sigmoid', 'relu'])",
    "history.plot_gradient_flow()",
    # 6: a figure kept in a variable is not shown
    "fig = history.plot()",
    # 7: an Explanation renders as Markdown
    "cr.explain('y = sin(x**2)', wrt='x', x=1.0)",
    # 8: the backend is still the notebook's
    "import matplotlib\nprint(matplotlib.get_backend())",
    # 9, 10: a History shows its curves; a graph its picture
    "history",
    "loss = nn.CrossEntropyLoss()(model(cr.tensor(X[:4])), cr.tensor(y[:4]))\n"
    "loss.backward(retain_graph=True)\ncr.viz.graph(loss)",
]


def _images(cell) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.outputs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    workdir = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return nb, workdir


def test_fit_shows_a_notebook_progress_bar(executed):
    nb, _ = executed
    outputs = nb.cells[0].outputs
    pytest.importorskip("ipywidgets")
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) == 1, outputs
    assert not any(o.get("name") == "stderr" for o in outputs)  # no terminal bar as well


def test_each_plot_call_shows_one_image(executed):
    nb, workdir = executed
    assert (workdir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [_images(nb.cells[i]) for i in (1, 3, 4, 5)] == [1, 1, 1, 1]
    assert _images(nb.cells[6]) == 0


def test_pyplot_still_shows_inline_after_saving_a_plot(executed):
    nb, _ = executed
    assert _images(nb.cells[2]) == 1
    backend = "".join(o.get("text", "") for o in nb.cells[8].outputs)
    assert "inline" in backend.lower()


def test_history_and_graph_render_inline(executed):
    nb, _ = executed
    assert _images(nb.cells[9]) == 1
    (result,) = [o for o in nb.cells[10].outputs if o.output_type == "execute_result"]
    if "image/svg+xml" not in result["data"]:
        pytest.skip("the graph's picture needs Graphviz (apt-get install graphviz)")
    assert "<svg" in result["data"]["image/svg+xml"]


def test_explanation_renders_as_markdown(executed):
    nb, _ = executed
    (result,) = [o for o in nb.cells[7].outputs if o.output_type == "execute_result"]
    assert "text/markdown" in result["data"]
    assert "cos" in result["data"]["text/markdown"]
