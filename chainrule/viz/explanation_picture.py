"""An explanation's graph as a :class:`~chainrule.viz.Graph`: the nodes and edges of the
step-through page (:func:`chainrule.explain.page.walk`), finished with every gradient, to
render as SVG, PNG or PDF."""

from __future__ import annotations

from chainrule.drawing.layout import to_dot
from chainrule.explain.page import _is_scalar, walk
from chainrule.viz.render import Graph

__all__ = ["explanation_graph"]


def explanation_graph(e):
    """The explanation's graph, finished: every node with its gradient, every edge with its
    local derivative (formula and value), in the page's colours. A :class:`Graph`, so
    ``explanation_graph(e).render("skydiver.svg")`` draws it."""
    nodes, edges, steps = walk(e)
    grads = {s["node"]: s["grad"] for s in steps}
    d = "d" if _is_scalar(e) else "∂"
    names = {s["node"]: s["name"] for s in steps}
    finished = []
    for nid, role, lines in nodes:
        last = f"{d}{e.output}/{d}{names[nid]} = {grads[nid]}" if nid in grads else "grad ?"
        finished.append((nid, role, [*lines[:-1], last]))
    dot = to_dot(finished, edges, graph_id=False)
    return Graph(dot, [(n, r, "\n".join(ls)) for n, r, ls in finished], edges)
