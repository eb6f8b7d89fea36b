"""cr.viz.graph: DOT text, SVG/PNG through Graphviz, bad input, the page without a browser."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.drawing.layout import fallback_svg
from chainrule.explain.page import explanation_html, walk
from chainrule.viz import Graph, GraphvizNotFoundError, graph

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)"
)

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def skydiver():
    t = cr.tensor(10.0, dtype=cr.float64, requires_grad=True).named("t")
    g = cr.named(0.5 * 9.8 * t**2, "g")
    h = cr.named(4000 - g, "h")
    return t, cr.named(101325 * cr.exp(-0.0001 * h), "P")


def mlp_loss():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.ReLU(), cr.nn.Linear(5, 3))
    x = cr.tensor(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    y = cr.tensor(np.arange(8) % 3)
    return model, cr.nn.CrossEntropyLoss()(model(x), y)


def labels(g: Graph) -> dict[str, str]:
    return {nid: label for nid, _, label in g.nodes}


def test_skydiver_graph_values_gradients_and_edge_formulas():
    t, P = skydiver()
    g = graph(P)
    text = "\n".join(labels(g).values())
    assert "t\nvalue 10\ngrad 699.0453" in text
    assert "h = subtract(4000, g)\nvalue 3510\ngrad -7.133115" in text
    assert "P = multiply(101325, u3)" in text
    edges = {label for _, _, label in g.edges}
    assert "2·t^(2-1)\n= 20" in edges  # the power rule, with t substituted, and its value
    assert "exp(u2)\n= 0.7039838" in edges
    roles = {label.split("\n")[0]: role for _, role, label in g.nodes}
    assert roles["t"] == "input" and roles["P = multiply(101325, u3)"] == "output"
    assert t.grad is None  # drawing accumulates nothing


def test_dot_is_deterministic():
    first = graph(skydiver()[1]).dot
    second = graph(skydiver()[1]).dot
    assert first == second
    _, loss1 = mlp_loss()
    _, loss2 = mlp_loss()
    assert graph(loss1).dot == graph(loss2).dot


def test_network_parameters_named_and_told_apart():
    model, loss = mlp_loss()
    g = graph(loss, params=model)
    roles = {label.split("\n")[0]: role for _, role, label in g.nodes}
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert roles[name] == "parameter"
    assert roles["c1"] == "constant"  # the data
    assert any(r == "output" for r in roles.values())
    assert 'shape="box3d"' in g.dot and 'shape="note"' in g.dot
    # The same names from a dict, and gradients of arrays summarised by shape and stats.
    g2 = graph(loss, params=dict(model.named_parameters()))
    assert "0.weight\nvalue shape (5, 4)" in g2.dot.replace("\\n", "\n")
    assert "grad shape (5, 4)  min" in g2.dot


def test_after_backward_uses_leaf_grad_and_says_values_were_freed():
    model, loss = mlp_loss()
    loss.backward()
    g = graph(loss, params=model)
    w = dict(model.named_parameters())["0.weight"]
    assert np.abs(w.grad.data).max() > 0
    assert "value freed by backward()" in g.dot
    assert "retain_graph=True" in g.dot
    assert "grad shape (5, 4)" in g.dot  # the leaves' .grad is still drawn


def test_leaf_draws_one_node():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = graph(x)
    assert len(g.nodes) == 1 and g.edges == []
    assert g.nodes[0][1] == "input"
    assert "x1\nvalue shape (3,)" in g.nodes[0][2]
    c = graph(cr.tensor(2.5))
    assert c.nodes[0][1] == "constant" and "value 2.5" in c.nodes[0][2]


def test_too_many_nodes_refused_with_max_nodes_hint():
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(5001):
        y = cr.sin(y)
    with pytest.raises(ValueError, match=r"more than 5000 nodes.*max_nodes="):
        graph(y)
    g = graph(y, max_nodes=6000)  # allowed when asked; a chain collapses into one node
    assert len(g.nodes) == 2
    out = next(label for _, role, label in g.nodes if role == "output")
    assert "out = sin(…)" in out and "folded in: sin ×5000" in out


def test_collapse_keeps_one_node_per_layer_op():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.normal(size=(4, 3)))
    ws = [cr.tensor(rng.normal(size=(3, 3)), requires_grad=True) for _ in range(30)]
    h = x
    for w in ws:
        h = cr.tanh(cr.exp(-cr.square(h @ w)))
    loss = cr.mean(h)
    full = graph(loss, collapse=False)
    small = graph(loss, collapse=True)
    ops = [lab for _, role, lab in small.nodes if role in ("intermediate", "output")]
    assert sum(lab.split("\n")[0].split(" = ")[1].startswith("matmul") for lab in ops) == 30
    assert len(small.nodes) < len(full.nodes) / 2
    assert graph(loss).dot == small.dot  # over COLLAPSE_ABOVE operations: collapsed
    roles = {nid: role for nid, role, _ in small.nodes}
    from_weights = [label for src, _, label in small.edges if roles[src] == "input"]
    assert len(from_weights) == 30 and not any(lb.startswith("via") for lb in from_weights)
    between = [label for src, _, label in small.edges if roles[src] == "intermediate"]
    assert all(label.startswith("via square: 2·") for label in between)  # the folded op


def test_collapsed_edges_name_the_inner_op_they_enter():
    xs = [cr.tensor(v, dtype=cr.float64) for v in (1.0, -2.0)]
    ws = [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (0.5, 0.25)]
    y = cr.tanh(ws[0] * xs[0] + ws[1] * xs[1])
    g = graph(y, collapse=True)
    assert len(g.nodes) == 3
    assert sorted(label for _, _, label in g.edges) == ["via multiply: -2", "via multiply: 1"]


@needs_dot
def test_svg_parses_and_names_every_node(tmp_path):
    _, P = skydiver()
    g = graph(P)
    path = g.render(tmp_path / "sky.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(el.text or "" for el in root.iter() if el.tag.endswith("text"))
    for name in (
        "t",
        "u1 = power(t, 2)",
        "g = multiply(4.9, u1)",
        "h = subtract(4000, g)",
        "P = multiply(101325, u3)",
    ):
        assert name in texts
    assert g.svg() == path.read_text(encoding="utf-8")
    assert g._repr_svg_().startswith("<?xml")


@needs_dot
def test_png_written_and_non_empty(tmp_path):
    _, loss = mlp_loss()
    path = graph(loss).render(tmp_path / "mlp.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.png"]  # no temporary left


def test_dot_format_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.devnull)
    g = graph(skydiver()[1])
    path = g.render(tmp_path / "sky.gv")
    assert path.read_text(encoding="utf-8") == g.dot
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        g.render(tmp_path / "sky.svg")
    assert not (tmp_path / "sky.svg").exists()
    assert g._repr_svg_() is None


def test_unwritable_path_is_a_clear_error_and_leaves_nothing(tmp_path):
    g = graph(skydiver()[1])
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=r"render: cannot write .*file.txt/x.gv"):
        g.render(blocker / "x.gv")
    with pytest.raises(OSError, match="does not exist"):
        g.render(tmp_path / "missing" / "x.gv")
    with pytest.raises(OSError, match="is a directory"):
        g.render(tmp_path, format="dot")
    with pytest.raises(ValueError, match="unknown format 'bmp'"):
        g.render(tmp_path / "x.bmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        graph(np.ones(3))
    x = cr.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="not a Tensor"):
        graph(x * 2, params={"w": 3.0})


# ----- the step-through page, read without a browser --------------------------------------


def test_page_walk_for_the_skydiver():
    e = cr.explain(SKYDIVER, wrt="t", t=10)
    nodes, edges, steps = walk(e)
    assert [s["name"] for s in steps] == ["P", "h", "g", "t"]
    assert steps[-1]["equation"] == "dP/dt = 98 × 7.133115386 = 699.0453078"
    assert steps[-1]["grad"] == "699.0453078"
    assert len(edges) == 3


def test_page_walk_sums_over_paths():
    e = cr.explain("z = x*y + sin(x); y = x**2", x=1.5)
    steps = walk(e)[2]
    last = steps[-1]
    assert last["name"] == "x" and "summed over 2 links" in last["title"]
    expected = 1.5**2 + np.cos(1.5) + 2 * 1.5 * 1.5
    assert float(last["grad"]) == pytest.approx(expected, rel=1e-9)


def test_page_is_self_contained_and_deterministic():
    e = cr.explain(SKYDIVER, wrt="t", t=10)
    page = explanation_html(e)
    assert page == explanation_html(cr.explain(SKYDIVER, wrt="t", t=10))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    for bad in ('src="http', 'href="http', "<link", "@import", "<!DOCTYPE svg"):
        assert bad not in page
    assert "699.0453078" in page
    fragment = explanation_html(e, fragment=True)
    assert not fragment.startswith("<!DOCTYPE") and "<svg" in fragment


def test_fallback_drawing_parses():
    nodes = [("a", "input", ["t", "value 10"]), ("b", "output", ["P <&> Q", "value 1"])]
    svg = fallback_svg(nodes, [("a", "b", "dP/dt\n= 2")], "p-")
    root = ET.fromstring(svg)
    ids = {el.get("id") for el in root.iter()}
    assert {"p-a", "p-b", "p-e0"} <= ids
    assert "P <&> Q" in "".join(root.itertext())


def test_explanation_to_html_and_jupyter_repr():
    e = cr.explain(SKYDIVER, wrt="t", t=10)
    assert e.to_html() == explanation_html(e)
    inline = e._repr_html_()
    assert inline.startswith("<style>") and 'class="crx-step"' in inline


def test_page_walk_of_a_network_follows_the_engine_sweep():
    model, _ = mlp_loss()
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    labels_ = cr.tensor(np.arange(8) % 3)
    e = cr.explain(lambda x: cr.nn.CrossEntropyLoss()(model(x), labels_), x=x)
    nodes, edges, steps = walk(e)
    assert steps[0]["name"] == e.output and steps[0]["grad"] == "1"
    ops = [s for s in steps if "role" not in s]
    assert len(ops) == len(e.backward)  # one step per node of the reverse sweep
    leaves = {s["name"]: s for s in steps if "role" in s}
    weight = dict(model.named_parameters())["0.weight"]
    cr.nn.CrossEntropyLoss()(model(cr.tensor(x)), labels_).backward()
    grad = weight.grad.data
    first = next(s for s in leaves.values() if s["value"] == "shape (5, 4)")
    assert first["role"] == "parameter"
    assert first["grad"] == f"shape (5, 4), norm {np.linalg.norm(np.asarray(grad)):.6g}"
    page = explanation_html(e)
    assert f'data-name="{first["name"]}"' in page


def test_gradients_only_for_a_single_number_and_retain_grad_is_used():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = cr.named(x * 3, "y")
    assert "grad" not in graph(y).dot.split("label=", 1)[1].split("];")[0]  # y is a vector
    z = cr.sum(y**2)
    y.retain_grad()
    z.backward(retain_graph=True)
    text = "\n".join(labels(graph(z)).values())
    assert "y = multiply(x1, 3)\nvalue shape (2,)  min 3  mean 4.5  max 6\ngrad shape (2,)" in text
    assert "grad shape (2,)  min 6  mean 9  max 12" in text  # d z / d y = 2 y
    fresh = cr.sum(cr.tensor([1.0, 2.0], requires_grad=True) ** 2)
    assert "grad" not in "\n".join(labels(graph(fresh, gradients=False)).values())
    assert "grad 1" in "\n".join(labels(graph(fresh)).values())
