"""What the explorer shows for an expression at a point: the chain, the graph, the curve.

All of it is computed here from :func:`chainrule.explain.explain` (links, paths, checks),
the viz module's graph and step-through page, and the engine (the curve of ``f`` and
``df/dx``). Expressions go only through the whitelist parser
(:func:`chainrule.explain.parse`); nothing here reads or writes a file.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

from chainrule.explain import explain, parse
from chainrule.explain.errors import ExprError

__all__ = [
    "explain_payload",
    "curve_payload",
    "stepthrough_payload",
    "MAX_EXPRESSION",
    "CURVE_POINTS",
]

#: Longest expression text accepted (characters).
MAX_EXPRESSION = 2000
#: Points on the plotted curve.
CURVE_POINTS = 161


class RequestError(ValueError):
    """A request the page would never send (wrong types): answered with a 400.

    What a person types into the expression box is judged by the parser instead, and its
    errors (:class:`~chainrule.explain.errors.ExprError`) are shown as they type.
    """


def _finite(v):
    """A float for JSON, or None where it is not finite (JSON has no nan or inf)."""
    try:
        v = float(np.asarray(v, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _program(text: str):
    if not isinstance(text, str):
        raise RequestError(f"the expression must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ExprError("type an expression, e.g. sin(x^2)")
    if len(text) > MAX_EXPRESSION:
        raise ExprError(
            f"the expression is {len(text)} characters long; the limit is {MAX_EXPRESSION}"
        )
    return parse(text)


def _point(program, point) -> dict[str, float]:
    if not isinstance(point, dict):
        raise RequestError('the point must map each input to a number, e.g. {"x": 1}')
    out = {}
    for name in program.inputs:
        v = point.get(name, 1.0)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise RequestError(f"the value of {name} must be a finite number, got {v!r}")
        out[name] = float(v)
    return out


def _wrt(program, wrt) -> str:
    # No name, or a name the page kept from an earlier expression: the first input.
    if program.inputs and (
        wrt in (None, "")
        or (isinstance(wrt, str) and wrt.isidentifier() and wrt not in program.inputs)
    ):
        return program.inputs[0]
    if wrt not in program.inputs:
        raise RequestError(
            f"'{wrt}' is not an input (inputs: {', '.join(program.inputs) or 'none'})"
        )
    return wrt


def _explain(program, wrt: str, point: dict, budget: float | None):
    """``explain`` within a symbolic time budget (seconds; None: explain's default): a
    formula SymPy cannot simplify in time is shown unsimplified, with a note, never a hang."""
    return explain(program, wrt=wrt, symbolic_budget=budget, **point)


def explain_payload(text: str, point: dict, wrt: str | None, budget: float | None = None):
    """The explorer's view of ``text`` at ``point``: a JSON-ready dict."""
    program = _program(text)
    at = _point(program, point)
    return dict(_cached_explain(text, tuple(sorted(at.items())), _wrt(program, wrt), budget))


@lru_cache(maxsize=256)
def _cached_explain(text: str, at: tuple, wrt: str, budget):
    from chainrule.drawing.layout import graph_svg
    from chainrule.viz.explanation_picture import explanation_graph

    program = parse(text)
    e = _explain(program, wrt, dict(at), budget)
    graph = explanation_graph(e)
    nodes = [(nid, role, label.split("\n")) for nid, role, label in graph.nodes]
    svg = graph_svg(nodes, graph.edges, "g-")
    # The edge of each link, so the page can light up the links of a path.
    ids = {
        q.name: f"q{i}"
        for i, q in enumerate(q for q in e.quantities.values() if q.role != "constant")
    }
    edge_of, k = {}, 0
    for link in e.steps:
        if link.source in ids and link.target in ids:
            edge_of[(link.source, link.target)] = f"g-e{k}"
            k += 1
    links = [
        {
            "label": link.label,
            "from": link.source,
            "to": link.target,
            "formula": link.formula,
            "value": _finite(link.value),
            "edge": edge_of.get((link.source, link.target)),
        }
        for link in e.steps
    ]
    paths = [
        {
            "links": [lk.label for lk in p.links],
            "values": [_finite(lk.value) for lk in p.links],
            "value": _finite(p.value),
            "edges": [edge_of.get((lk.source, lk.target)) for lk in p.links],
        }
        for p in e.paths
        if p.wrt == wrt
    ]
    return {
        "source": text,
        "inputs": list(program.inputs),
        "point": dict(at),
        "wrt": wrt,
        "output": e.output,
        "value": _finite(e.value),
        "derivative": _finite(e.derivatives[wrt]),
        "label": f"d{e.output}/d{wrt}",
        "quantities": [
            {
                "name": q.name,
                "role": q.role,
                "definition": q.definition,
                "value": _finite(q.value),
                "gradient": _finite(q.gradient),
            }
            for q in e.quantities.values()
            if q.role != "constant"
        ],
        "links": links,
        "paths": paths,
        "agrees": bool(e.agrees),
        "notes": list(e.notes),
        "svg": svg,
    }


def curve_payload(text: str, point: dict, wrt: str | None, half_width: float | None = None):
    """``f`` and ``df/dwrt`` on ``CURVE_POINTS`` points around the point (the other inputs
    held at their values), both from the engine: one backward pass of ``sum(f(xs))`` gives
    every ``f'(x_k)``, since ``f(x_k)`` depends on ``x_k`` alone."""
    from chainrule.explain.evaluate import chainrule_functions, evaluate
    from chainrule.tensor import Tensor

    program = _program(text)
    at = _point(program, point)
    wrt = _wrt(program, wrt)
    x0 = at[wrt]
    r = half_width if half_width else min(max(2.0, 0.5 * abs(x0)), 1e6)
    if not (isinstance(r, int | float) and 0 < r <= 1e6):
        raise RequestError(f"the plot's half width must be a number from 0 to 1e6, got {r!r}")
    xs = np.linspace(x0 - r, x0 + r, CURVE_POINTS)
    leaves = {}
    for name in program.inputs:
        values = xs if name == wrt else np.asarray(at[name], dtype=np.float64)
        leaves[name] = Tensor(np.array(values, dtype=np.float64), requires_grad=name == wrt)
    functions = chainrule_functions()
    values = dict(leaves)
    try:
        with np.errstate(all="ignore"):
            # Outside the domain (log at x <= 0) the curve has gaps (NaN), not an error.
            for name, d in program.definitions.items():
                values[name] = evaluate(d.expr, values, functions, check_domain=False)
            y = values[program.output]
            if isinstance(y, Tensor) and y.requires_grad:
                y = y * np.ones_like(xs)  # a constant part broadcasts to every point
                y.sum().backward()
                dy = leaves[wrt].grad
                fy = y.data
            else:
                fy = np.broadcast_to(np.asarray(getattr(y, "data", y), np.float64), xs.shape)
                dy = np.zeros_like(xs)
    except ArithmeticError as err:  # a division by a constant zero, in Python floats
        raise ExprError(f"the curve cannot be computed around the point: {err}") from None
    dy = np.zeros_like(xs) if dy is None else np.asarray(dy, np.float64)
    return {
        "wrt": wrt,
        "x": [float(v) for v in xs],
        "f": [_finite(v) for v in np.asarray(fy, np.float64)],
        "df": [_finite(v) for v in dy],
    }


_EXEC_SCRIPT = re.compile(r"<script>.*?</script>", re.S)
_STYLE = re.compile(r"<style>.*?</style>", re.S)


def stepthrough_payload(text: str, point: dict, wrt: str | None, budget: float | None = None):
    """The step-through page of the explanation as a fragment without its style and its
    script (the app serves both as files, so the Content-Security-Policy allows no inline
    code); its steps stay in the fragment as a JSON data block."""
    from chainrule.explain.page import explanation_html

    program = _program(text)
    at = _point(program, point)
    e = _explain(program, _wrt(program, wrt), at, budget)
    fragment = explanation_html(e, fragment=True)
    return {"html": _EXEC_SCRIPT.sub("", _STYLE.sub("", fragment))}
