"""Activation functions compared: each one beside its derivative, the derivative's maximum
marked.

The derivative is what backpropagation multiplies by at every layer. The sigmoid's never
exceeds 1/4 (σ′(z) = σ(z)(1 − σ(z)), largest at z = 0), so a stack of sigmoid layers
shrinks the gradient by at least a factor 4 per layer on its way to the input: the
vanishing gradient. ReLU's is exactly 1 wherever the unit is active. All curves come from
chainrule's engine (``backward`` on a grid of points), not from the formulas shown.
"""

from __future__ import annotations

import numpy as np

from chainrule._figure import new_figure

__all__ = ["ACTIVATIONS", "activation_curves", "activations"]


def _functions():
    import chainrule.nn.functional as F

    return {
        "sigmoid": (F.sigmoid, "σ(x) = 1/(1 + e^(−x))", "σ(x)·(1 − σ(x))"),
        "tanh": (F.tanh, "tanh(x)", "1 − tanh²(x)"),
        "relu": (F.relu, "max(0, x)", "1 if x > 0 else 0"),
        "leaky_relu": (F.leaky_relu, "max(0.01·x, x)", "1 if x > 0 else 0.01"),
        "gelu": (F.gelu, "x·Φ(x)", "Φ(x) + x·φ(x)"),
        "softplus": (F.softplus, "log(1 + e^x)", "σ(x)"),
    }


#: The activations :func:`activations` knows, in the order it draws them.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softplus")

_TITLES = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "gelu": "GELU",
    "softplus": "softplus",
}


def _resolve(names) -> list[str]:
    if names is None:
        return list(ACTIVATIONS)
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out = []
    for name in names:
        key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
        if key not in ACTIVATIONS:
            raise ValueError(
                f"activations: unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}"
            )
        out.append(key)
    if not out:
        raise ValueError(f"activations: no names given; choose from {', '.join(ACTIVATIONS)}")
    return out


def activation_curves(names=None, xs=None) -> dict[str, dict]:
    """Values and derivatives of the activations ``names`` (default: all of
    :data:`ACTIVATIONS`) on the points ``xs`` (default: 801 points on [−5, 5]).

    Returns ``{name: {"x", "f", "df", "formula", "derivative", "max", "argmax", "where"}}``:
    the derivative ``df`` is computed by chainrule's reverse mode (``f(x).sum().backward()``
    gives each ``f′(x_i)`` because the points do not interact); ``max`` is the largest
    derivative on the points, ``argmax`` the first point that reaches it and ``where``
    says so in words (``"x = 0"``; ``"x > 0"`` for a plateau).

    >>> curves = activation_curves(["sigmoid"])
    >>> round(curves["sigmoid"]["max"], 4)
    0.25
    """
    from chainrule.tensor import Tensor

    xs = np.linspace(-5.0, 5.0, 801) if xs is None else np.asarray(xs, dtype=np.float64)
    table = _functions()
    out = {}
    for name in _resolve(names):
        fn, formula, derivative = table[name]
        x = Tensor(xs.copy(), requires_grad=True)
        y = fn(x)
        y.sum().backward()
        df = np.asarray(x.grad.data, dtype=np.float64)
        i = int(np.argmax(df))
        top = df >= df[i] - 1e-9
        if top[i:].all() and i > 0 and len(xs) - i > 2:
            where = f"x > {xs[i - 1]:.3g}"  # a plateau: ReLU's 1 for every positive x
        elif i == len(xs) - 1:
            where = f"x = {xs[i]:.3g} (rising at the edge)"
        else:
            where = f"x = {xs[i]:.3g}"
        out[name] = {
            "x": xs,
            "f": np.asarray(y.data, dtype=np.float64),
            "df": df,
            "formula": formula,
            "derivative": derivative,
            "max": float(df[i]),
            "argmax": float(xs[i]),
            "where": where,
        }
    return out


def activations(names=None, path=None):
    """Each activation (top row) above its derivative (bottom row), side by side, with the
    derivative's maximum marked: ``σ′ ≤ 0.25`` is why deep sigmoid stacks lose their
    gradient, and ReLU's ``1`` is why they don't. ``names`` picks and orders them (from
    :data:`ACTIVATIONS`, e.g. ``["sigmoid", "relu"]`` or ``"sigmoid,relu"``); saved to
    ``path`` (PNG, SVG or PDF) if given. Returns the :class:`matplotlib.figure.Figure`.

    >>> fig = activations(["sigmoid", "relu"])
    """
    curves = activation_curves(names)
    n = len(curves)
    fig = new_figure(figsize=(2.7 * n + 0.6, 5.4), layout="constrained")
    axes = fig.subplots(2, n, sharex=True, squeeze=False)
    for col, (name, c) in enumerate(curves.items()):
        top, bottom = axes[0, col], axes[1, col]
        top.plot(c["x"], c["f"], color="#2563eb", linewidth=2)
        top.set_title(f"{_TITLES[name]}\n{c['formula']}", fontsize=9)
        bottom.plot(c["x"], c["df"], color="#ea580c", linewidth=2)
        bottom.set_title(f"derivative: {c['derivative']}", fontsize=8)
        bottom.plot([c["argmax"]], [c["max"]], "o", color="#b91c1c", markersize=5)
        bottom.annotate(
            f"max {c['max']:.3g}\nat " + c["where"].replace(" (", "\n("),
            (c["argmax"], c["max"]),
            xytext=(0.5, 0.55) if c["argmax"] < 2 else (0.3, 0.65),
            textcoords="axes fraction",
            ha="center",
            fontsize=8,
            color="#b91c1c",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
            arrowprops={"arrowstyle": "->", "color": "#b91c1c", "linewidth": 0.8},
        )
        bottom.set_ylim(min(-0.1, c["df"].min() - 0.1), max(1.25, c["max"] * 1.15))
        bottom.set_xlabel("x")
        for ax in (top, bottom):
            ax.axhline(0, color="#d1d5db", linewidth=0.8, zorder=0)
            ax.axvline(0, color="#d1d5db", linewidth=0.8, zorder=0)
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("f(x)")
    axes[1, 0].set_ylabel("f′(x)")
    if path is not None:
        from chainrule.viz.plots import save_figure

        save_figure(fig, path)
    return fig


def describe(names=None) -> str:
    """A text table of the activations: formula, derivative, and the derivative's maximum
    on [−5, 5] (what ``chainrule activations`` prints)."""
    curves = activation_curves(names)
    rows = [("activation", "f(x)", "f′(x)", "max f′ on [−5, 5]")]
    for name, c in curves.items():
        rows.append(
            (
                _TITLES[name],
                c["formula"],
                c["derivative"],
                f"{c['max']:.4g} at {c['where']}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
