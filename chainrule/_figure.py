"""matplotlib figures that leave pyplot alone and show themselves once in Jupyter.

Every picture chainrule draws is a :class:`matplotlib.figure.Figure` made here, on its own
Agg canvas. It never goes through ``pyplot``: no backend is chosen (``matplotlib.use`` is
global, and switching a notebook to Agg would make every later inline plot disappear), no
figure is registered with pyplot's figure manager (the inline backend would draw it a
second time at the end of the cell), and nothing needs a display. In Jupyter such a figure
shows itself through ``_repr_png_`` when it is a cell's value: one image per plot call.

This module sits at the bottom of the package (it imports only matplotlib, lazily), so
both ``cr.train.History`` and ``cr.viz`` draw with it.
"""

from __future__ import annotations

import io

__all__ = ["new_figure"]


def _figure_class():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib, an optional extra; in chainrule's clone: "
            'pip install -e ".[viz]"'
        ) from None

    class InlineFigure(Figure):
        """A Figure on its own Agg canvas that Jupyter displays as one PNG."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            FigureCanvasAgg(self)  # a Figure unpickled or re-parented may have lost it
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return InlineFigure, FigureCanvasAgg


_CLASS = None


def new_figure(**kwargs):
    """A new :class:`matplotlib.figure.Figure` (keyword arguments as ``Figure``'s) attached
    to an Agg canvas of its own, outside pyplot's global state; shown inline in Jupyter."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _figure_class()
    figure_class, canvas = _CLASS
    fig = figure_class(**kwargs)
    canvas(fig)
    return fig
