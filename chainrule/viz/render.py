"""The :class:`Graph` that holds a drawing's DOT text and renders it with Graphviz.

The DOT text needs nothing but Python; turning it into SVG or PNG runs ``dot``
(:mod:`chainrule.drawing.dot`), which is not a Python package (Debian/Ubuntu:
``apt-get install graphviz``). Without it, the text is still there and
:meth:`Graph.render` says how to install it.
"""

from __future__ import annotations

import os
import pathlib

from chainrule.drawing.dot import GraphvizNotFoundError, run_dot
from chainrule.viz._files import write_atomic

__all__ = ["Graph", "GraphvizNotFoundError", "run_dot", "FORMATS"]

#: Output formats :meth:`Graph.render` knows, by file suffix. ``dot`` writes the text itself.
FORMATS = ("svg", "png", "pdf", "dot")

def _format_of(path: pathlib.Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = path.suffix.lstrip(".").lower() or "svg"
    fmt = fmt.lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise ValueError(
            f"render: unknown format {fmt!r} for {str(path)!r}; use one of {', '.join(FORMATS)}"
        )
    return fmt


class Graph:
    """A drawing of a computation graph: its DOT text and ways to render it.

    ``dot`` is the Graphviz source (deterministic: the same computation gives the same
    text). ``nodes`` is a list of ``(id, role, label)`` for programs that want to read
    the drawing, ``edges`` a list of ``(source id, target id, label)``.
    """

    def __init__(self, dot: str, nodes=(), edges=()):
        self.dot = dot
        self.nodes = list(nodes)
        self.edges = list(edges)

    @property
    def source(self) -> str:
        """The DOT text (alias of ``dot``, as the ``graphviz`` package names it)."""
        return self.dot

    def pipe(self, format: str = "svg") -> bytes:
        """The rendered bytes (``svg``, ``png`` or ``pdf``), made by Graphviz's ``dot``."""
        if format == "dot":
            return self.dot.encode("utf-8")
        return run_dot(self.dot, format)

    def svg(self) -> str:
        """The graph as SVG text."""
        return self.pipe("svg").decode("utf-8")

    def render(self, path, format: str | None = None) -> pathlib.Path:
        """Write the graph to ``path`` as SVG, PNG, PDF or DOT and return the path.

        The format comes from ``format`` or else the file's suffix (default SVG). The file
        is written atomically: on any error nothing is left at ``path``.
        """
        target = pathlib.Path(os.fspath(path))
        fmt = _format_of(target, format)
        data = self.pipe(fmt)
        return write_atomic(target, data, what="render")

    def _repr_svg_(self):
        # Jupyter shows the picture; without Graphviz it falls back to the text repr.
        try:
            return self.svg()
        except (GraphvizNotFoundError, RuntimeError):
            return None

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return f"<chainrule.viz.Graph with {len(self.nodes)} nodes, {len(self.edges)} edges>"
