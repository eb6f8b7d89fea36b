"""Plots with matplotlib: a function with its derivatives, decision regions of a classifier.

Figures are built as :class:`matplotlib.figure.Figure` objects on the Agg canvas, never
through ``pyplot``'s global state, so plotting works without a display, does not change
the backend of a running notebook, and Jupyter shows each figure once. Saving writes
atomically (PNG, SVG or PDF by the file's suffix). matplotlib is an optional extra:
``pip install -e ".[viz]"`` (in a clone of chainrule).
"""

from __future__ import annotations

import io
import os
import pathlib

import numpy as np

from chainrule._figure import new_figure
from chainrule.autodiff.graph import no_grad
from chainrule.tensor import Tensor, tensor
from chainrule.viz._files import write_atomic

__all__ = ["plot_function", "plot_decision_regions", "plot_training", "save_figure"]

_FORMATS = ("png", "svg", "pdf")


def save_figure(fig, path, *, dpi: int = 110) -> pathlib.Path:
    """Save ``fig`` to ``path`` (PNG, SVG or PDF by suffix) atomically; return the path."""
    target = pathlib.Path(os.fspath(path))
    fmt = target.suffix.lstrip(".").lower() or "png"
    if fmt not in _FORMATS:
        raise ValueError(
            f"plot: cannot save {str(target)!r} as {fmt!r}; use a .png, .svg or .pdf file"
        )
    buffer = io.BytesIO()
    # Fixed metadata: the same plot gives the same bytes (no creation date, no version).
    metadata = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None}
    import matplotlib

    # SVG element ids are random unless salted: a fixed salt makes the file reproducible.
    with matplotlib.rc_context({"svg.hashsalt": "chainrule"}):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return write_atomic(target, buffer.getvalue(), what="plot")


# ----- a function and its derivatives -----------------------------------------------------------


def _superscript(n: int) -> str:
    return "" if n == 1 else str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _label(name: str, wrt: str, k: int) -> str:
    if k == 0:
        return f"{name}({wrt})"
    return f"d{_superscript(k)}{name}/d{wrt}{_superscript(k)}"


def function_values(expr, wrt=None, *, order: int = 1, xs, point=None):
    """``(program, wrt, [f(xs), f'(xs), ...])``: the expression and its derivatives up to
    ``order`` on the grid ``xs``, all from chainrule's engine (NaN outside the domain)."""
    from chainrule.autodiff.backward import grad
    from chainrule.explain.diff import MAX_ORDER, choose_input
    from chainrule.explain.errors import ExprError
    from chainrule.explain.evaluate import chainrule_functions, evaluate
    from chainrule.explain.expr import Program, parse
    from chainrule.tensor import Tensor

    program = expr if isinstance(expr, Program) else parse(expr)
    wrt = choose_input(program, wrt, "plot against")
    if not isinstance(order, int) or not 0 <= order <= MAX_ORDER:
        raise ExprError(f"the order must be a whole number from 1 to {MAX_ORDER}, got {order!r}")
    point = dict(point or {})
    missing = [n for n in program.inputs if n != wrt and n not in point]
    if missing:
        raise ExprError(
            f"no value for {', '.join(repr(m) for m in missing)}: the plot varies '{wrt}' only, "
            f"so give the others, as in --at {missing[0]}=1"
        )
    x = Tensor(np.asarray(xs, dtype=np.float64))
    x.requires_grad = True
    values = {n: float(point[n]) for n in program.inputs if n != wrt}
    values[wrt] = x
    fns = chainrule_functions()
    with np.errstate(all="ignore"):
        # Outside the domain (log of a negative number) a plot just has a gap: no error.
        for name, d in program.definitions.items():
            values[name] = evaluate(d.expr, values, fns, check_domain=False)
        f = values[program.output]
        curves = []
        current = f if isinstance(f, Tensor) else Tensor(np.full(x.shape, float(f)))
        for k in range(order + 1):
            curves.append(np.broadcast_to(np.asarray(current.data, np.float64), x.shape).copy())
            if k == order:
                break
            if not current.requires_grad:
                current = Tensor(np.zeros(x.shape))
                continue
            (current,) = grad(current.sum(), [x], create_graph=k + 1 < order)
            if current is None:
                current = Tensor(np.zeros(x.shape))
    # Where f is undefined, so are its derivatives (the rules would still give numbers:
    # d/dx log(x) = 1/x at x = -1).
    undefined = ~np.isfinite(curves[0])
    for c in curves[1:]:
        c[undefined] = np.nan
    return program, wrt, curves


def plot_function(
    expr,
    wrt: str | None = None,
    path=None,
    *,
    order: int = 1,
    range: tuple[float, float] = (-5.0, 5.0),  # noqa: A002 - the CLI's name for it
    point: dict | None = None,
    num: int = 401,
):
    """Plot the expression ``expr`` and its derivatives up to ``order`` against ``wrt``.

    ``range`` is the interval of ``wrt``; ``point`` gives the other inputs (and, if it
    gives ``wrt``, that point is marked). Values come from the engine; the legend shows
    the simplified formula of each derivative. Returns the matplotlib figure, saved to
    ``path`` if given (PNG/SVG/PDF).

    >>> fig = plot_function("x**2*sin(x)", "x", order=2, range=(-3, 3))
    """
    a, b = (float(v) for v in range)
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"plot: the range must be two finite numbers a < b, got {range!r}")
    if not 2 <= num <= 100_000:
        raise ValueError(f"plot: num must be from 2 to 100000, got {num}")
    xs = np.linspace(a, b, num)
    program, wrt, curves = function_values(expr, wrt, order=order, xs=xs, point=point)
    formulas = _formulas(program, wrt, order)
    name = program.output
    # One panel per curve, sharing the axis of `wrt`: f and f' often differ in scale by
    # orders of magnitude (the skydiver: P ~ 7e4 Pa, dP/dt ~ 7e2 Pa/s).
    fig = new_figure(figsize=(7.0, 1.2 + 2.3 * len(curves)), layout="constrained")
    axes = fig.subplots(len(curves), 1, sharex=True, squeeze=False)[:, 0]
    colors = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04"]
    x0 = float(point[wrt]) if point and wrt in point else None
    for k, (ax, ys) in enumerate(zip(axes, curves)):
        label = _label(name, wrt, k)
        if formulas.get(k):
            label += f" = {formulas[k]}"
        if len(label) > 80:
            label = label[:77] + "…"
        ax.plot(xs, ys, color=colors[k % len(colors)], linewidth=2.0 if k == 0 else 1.6)
        ax.set_title(label, fontsize=9, loc="left")
        ax.axhline(0, color="#d1d5db", linewidth=0.8, zorder=0)
        ax.grid(alpha=0.3)
        finite = ys[np.isfinite(ys)]
        if finite.size:
            lo, hi = np.percentile(finite, [1, 99])
            pad = 0.08 * (hi - lo) or max(1.0, abs(hi) * 0.1)
            ax.set_ylim(lo - pad, hi + pad)  # a pole (1/x) must not flatten the rest
        if x0 is not None and a <= x0 <= b:
            idx = int(np.argmin(np.abs(xs - x0)))
            ax.axvline(x0, color="#9ca3af", linewidth=0.8)
            if np.isfinite(ys[idx]):
                ax.plot([xs[idx]], [ys[idx]], "o", color=colors[k % len(colors)], markersize=4)
                ax.annotate(
                    f"{ys[idx]:.6g}",
                    (xs[idx], ys[idx]),
                    textcoords="offset points",
                    xytext=(6, 6),
                    fontsize=8,
                )
    axes[-1].set_xlim(a, b)
    axes[-1].set_xlabel(wrt)
    source = " ".join(program.source.split()) if program.source else name
    fig.suptitle(source if len(source) <= 90 else source[:87] + "…", fontsize=10)
    if path is not None:
        save_figure(fig, path)
    return fig


def _formulas(program, wrt: str, order: int) -> dict[int, str]:
    """The simplified formula of each derivative, for the legend (none without SymPy)."""
    out = {}
    try:
        from chainrule.explain.diff import differentiate

        for k in range(1, order + 1):
            out[k] = differentiate(program, wrt, k).formula
    except Exception:  # noqa: BLE001 - the curves are right without the legend's formulas
        pass
    return out


# ----- classifiers ------------------------------------------------------------------------------


def _predict_classes(model, points: np.ndarray) -> np.ndarray:
    dtype = np.float32
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    if params:
        dtype = params[0].data.dtype
    training = getattr(model, "training", None)
    if training:
        model.eval()  # dropout and batch norm as at test time
    try:
        chunks = []
        with no_grad():
            for start in range(0, len(points), 8192):
                out = model(tensor(points[start : start + 8192].astype(dtype)))
                chunks.append(np.asarray(out.data if isinstance(out, Tensor) else out))
    finally:
        if training:
            model.train()
    out = np.concatenate(chunks)
    if out.ndim == 2 and out.shape[1] > 1:
        return np.argmax(out, axis=1)
    return (out.reshape(len(points)) > 0).astype(np.int64)  # one logit: positive is class 1


def plot_decision_regions(
    model,
    X,
    y,
    path=None,
    *,
    X_test=None,
    y_test=None,
    resolution: int = 250,
    ax=None,
    title: str | None = None,
):
    """Colour the plane by the class ``model`` predicts, with the points ``(X, y)`` on top.

    ``model`` maps a ``(n, 2)`` batch to class scores ``(n, classes)`` (or one logit);
    ``X`` holds 2-D points in the model's input units (standardised, if it was trained so).
    Test points, if given, are drawn as crosses. Returns the figure (saved to ``path``).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"plot_decision_regions: needs 2-D points, X of shape (n, 2); got {X.shape}"
        )
    if len(X) != len(y):
        raise ValueError(f"plot_decision_regions: {len(X)} points but {len(y)} labels")
    every = X if X_test is None else np.vstack([X, np.asarray(X_test, dtype=np.float64)])
    lo, hi = every.min(axis=0), every.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    regions = _predict_classes(model, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    labels = np.concatenate([y, np.asarray(y_test).reshape(-1)]) if y_test is not None else y
    n_classes = int(max(regions.max(), labels.max())) + 1
    from matplotlib.colors import ListedColormap

    palette = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04"]
    cmap = ListedColormap([palette[i % len(palette)] for i in range(n_classes)])
    fig = None
    if ax is None:
        fig = new_figure(figsize=(5.2, 4.6), layout="constrained")
        ax = fig.add_subplot()
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(xx, yy, regions, levels=levels, cmap=cmap, alpha=0.25)
    ax.contour(xx, yy, regions, levels=levels, colors="#374151", linewidths=0.6)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap=cmap,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        s=12,
        edgecolors="white",
        linewidths=0.3,
        label="train",
    )
    if X_test is not None:
        Xt = np.asarray(X_test, dtype=np.float64)
        ax.scatter(
            Xt[:, 0],
            Xt[:, 1],
            c=np.asarray(y_test).reshape(-1),
            cmap=cmap,
            vmin=-0.5,
            vmax=n_classes - 0.5,
            s=22,
            marker="x",
            linewidths=1.0,
            label="test",
        )
        legend = ax.legend(fontsize=8, loc="best")
        for handle in legend.legend_handles:  # markers in grey: the colour means the class
            handle.set_color("#374151")
    ax.set_title(title or "decision regions", fontsize=10)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    fig = fig or ax.figure
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_training(history, model, X, y, path=None, *, X_test=None, y_test=None):
    """Training curves (loss and metrics per epoch) beside the decision regions of a 2-D
    classifier: what ``chainrule train --dataset moons --plot FILE`` writes."""
    hist = history.history
    names = [k for k in hist if not k.startswith("val_") and k not in ("lr", "time")]
    fig = new_figure(figsize=(4.4 * (len(names) + 1), 4.0), layout="constrained")
    axes = fig.subplots(1, len(names) + 1, squeeze=False)[0]
    epochs = np.arange(1, len(hist[names[0]]) + 1) if names else []
    for ax, name in zip(axes, names):
        ax.plot(epochs, hist[name], label="train")
        if "val_" + name in hist:
            ax.plot(epochs, hist["val_" + name], label="validation")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    plot_decision_regions(model, X, y, X_test=X_test, y_test=y_test, ax=axes[-1])
    if path is not None:
        save_figure(fig, path)
    return fig
