"""Gradient flow: how large each layer's weight gradient is, from the input to the output.

Backpropagation multiplies the gradient by each layer's local derivative on its way back;
when those factors are small (a sigmoid's σ′ ≤ 1/4) the layers near the input receive
almost nothing -- the vanishing gradient -- and a bar chart on a log scale shows it as a
staircase down toward the input.
"""

from __future__ import annotations

import numpy as np

from chainrule._figure import new_figure

__all__ = ["gradient_flow"]


def gradient_flow(model, path=None):
    """Bar chart of ``‖∂L/∂W‖`` for each layer of ``model`` (log scale, input layer on the
    left), read from the gradients the last ``loss.backward()`` left in ``.grad``; saved to
    ``path`` (PNG, SVG or PDF) if given. Returns the :class:`matplotlib.figure.Figure`.

    Call it right after ``loss.backward()`` (before ``optimizer.zero_grad()``). For the
    norms per epoch of a whole run, use ``fit(..., track_gradients=True)`` and
    :meth:`chainrule.train.History.plot_gradient_flow`.

    >>> import chainrule as cr
    >>> model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Sigmoid(), cr.nn.Linear(4, 1))
    >>> model(cr.randn(8, 3)).sum().backward()
    >>> fig = gradient_flow(model)
    """
    from chainrule.train import layer_gradient_norms

    norms = layer_gradient_norms(model)
    names, values = list(norms), np.array(list(norms.values()))
    fig = new_figure(figsize=(max(4.5, 0.8 * len(names) + 2.0), 3.8), layout="constrained")
    ax = fig.add_subplot()
    shown = np.where(values > 0, values, np.nan)  # a zero gradient has no log: no bar
    ax.bar(range(len(names)), shown, color="#2563eb")
    for i, v in enumerate(values):
        ax.annotate(f"{v:.2g}", (i, v if v > 0 else 1), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("‖∂L/∂W‖")
    title = "gradient norm per layer"
    if len(values) > 1 and values[0] > 0 and values[-1] > 0:
        title += f" (first / last = {values[0] / values[-1]:.2g})"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y", which="both")
    if path is not None:
        from chainrule.viz.plots import save_figure

        save_figure(fig, path)
    return fig
