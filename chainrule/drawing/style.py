"""How pictures look: node styles by role, number formatting, DOT escaping.

Shared by the tensor graphs (:mod:`chainrule.viz.graph`) and the step-through page
(:mod:`chainrule.explain.page`), so a parameter looks the same everywhere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROLES", "fmt", "describe", "quote", "node_attrs", "GRAPH_HEADER"]

#: Node style per role: inputs are blue ellipses, parameters amber 3-D boxes, constant data
#: grey notes, intermediate results white rounded boxes, the output a green double box.
ROLES: dict[str, dict[str, str]] = {
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe", "color": "#1d4ed8"},
    "parameter": {
        "shape": "box3d",
        "style": "filled",
        "fillcolor": "#fef3c7",
        "color": "#b45309",
    },
    "constant": {"shape": "note", "style": "filled", "fillcolor": "#f3f4f6", "color": "#6b7280"},
    "intermediate": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#ffffff",
        "color": "#374151",
    },
    "output": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#dcfce7",
        "color": "#15803d",
        "peripheries": "2",
    },
}

GRAPH_HEADER = (
    '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.45];\n'
    '  node [fontname="Helvetica", fontsize=11, margin="0.12,0.06"];\n'
    '  edge [fontname="Helvetica", fontsize=9, color="#6b7280", fontcolor="#374151"];\n'
)


def fmt(x, digits: int = 7) -> str:
    """A number as people read it: ``699.0453``, ``3510``, ``-7.133115``, ``1e-05``."""
    x = float(x)
    if x == 0:
        return "0"  # also turns -0.0 into 0
    return f"{x:.{digits}g}"


def describe(value, digits: int = 7) -> str:
    """A value in one line: the number itself, or the shape and min/mean/max of an array."""
    arr = np.asarray(value)
    if arr.size == 1:
        v = arr.reshape(())
        return fmt(v, digits) if arr.dtype.kind in "fiu" else str(v)
    if arr.size == 0:
        return f"shape {tuple(arr.shape)} (empty)"
    if arr.dtype.kind not in "fiu":
        return f"shape {tuple(arr.shape)} {arr.dtype}"
    with np.errstate(all="ignore"):
        a = arr.astype(np.float64)
        stats = f"min {fmt(a.min(), 3)}  mean {fmt(a.mean(), 3)}  max {fmt(a.max(), 3)}"
    return f"shape {tuple(arr.shape)}  {stats}"


def quote(text: str) -> str:
    """A DOT double-quoted string; line breaks become DOT's centred ``\\n``."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def node_attrs(role: str, label: str, extra: dict[str, str] | None = None) -> str:
    """DOT attributes of a node with this role and label, in a fixed order."""
    attrs = {"label": label, **ROLES[role], **(extra or {})}
    return ", ".join(f"{k}={quote(v)}" for k, v in attrs.items())
