"""``History``: what ``cr.train.fit`` records per epoch, and its plots.

Per epoch: the loss and each metric (training and validation), the learning rate and the
time; with ``fit(..., track_gradients=True)`` also each layer's weight-gradient norm
``‖∂L/∂W‖`` (mean over the epoch's batches), which shows whether the gradient vanishes on
its way back to the input. ``History.plot`` and ``History.plot_gradient_flow`` draw them on
a :class:`matplotlib.figure.Figure` of their own, never through pyplot's global state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._figure import new_figure

__all__ = ["History", "layer_weights", "layer_gradient_norms"]


class History:
    """Per-epoch records of a ``fit``: ``history["loss"]``, ``history.val_accuracy``, ...

    Keys: ``loss`` and each metric (training, computed over the epoch's batches as the
    weights moved), ``val_loss`` and ``val_<metric>`` when there is validation data,
    ``lr`` (the first group's learning rate during the epoch) and ``time`` (seconds).
    With ``fit(..., track_gradients=True)``, ``history.gradients`` maps each layer's weight
    name to its gradient norm per epoch (see :meth:`plot_gradient_flow`).
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.gradients: dict[str, list[float]] = {}

    def _record(self, epoch: int, values: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for k, v in values.items():
            self.history.setdefault(k, []).append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __getattr__(self, key: str) -> list[float]:
        if key.startswith("__") or key in ("epochs", "history", "gradients"):
            raise AttributeError(key)
        try:
            return self.__dict__["history"][key]
        except KeyError:
            raise AttributeError(
                f"History has no record {key!r}; it has {sorted(self.__dict__.get('history', {}))}"
            ) from None

    def keys(self) -> list[str]:
        """The names of the records, in the order they were first recorded (for example
        ``['loss', 'val_loss', 'lr', 'time']``)."""
        return list(self.history)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self.epochs)} epochs; last: {last})"

    def _repr_png_(self) -> bytes | None:
        # Jupyter shows a History as its curves (the text repr where it cannot draw).
        if not self.epochs:
            return None
        try:
            return self.plot()._repr_png_()
        except ImportError:
            return None

    def plot(self, path=None):
        """Draw the loss and each metric per epoch (training and validation); save to
        ``path`` (PNG, SVG or PDF by its suffix) if given. Returns the
        :class:`matplotlib.figure.Figure`.

        The figure is drawn outside pyplot (matplotlib's backend and pyplot's figures are
        left as they were); in Jupyter it shows once, as the cell's value.
        """
        from matplotlib.ticker import MaxNLocator

        names = [k for k in self.history if not k.startswith("val_") and k not in ("lr", "time")]
        if not names:
            raise ValueError("History.plot: nothing to plot; train for at least one epoch")
        fig = new_figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
        axes = fig.subplots(1, len(names), squeeze=False)[0]
        epochs = [e + 1 for e in self.epochs]
        marker = "." if len(epochs) < 40 else None
        for ax, name in zip(axes, names, strict=True):
            ax.plot(epochs, self.history[name], label="train", marker=marker)
            if "val_" + name in self.history:
                ax.plot(epochs, self.history["val_" + name], label="validation", marker=marker)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def plot_gradient_flow(self, path=None):
        """How the gradient reaches each layer, epoch by epoch (needs
        ``fit(..., track_gradients=True)``); save to ``path`` if given. Returns the figure.

        Left: the norm ``‖∂L/∂W‖`` of each layer's weight gradient (mean over the epoch's
        batches), from the input layer to the output layer, one line per epoch, on a log
        scale. Gradients that shrink by a factor at every layer toward the input -- a
        straight falling line on this scale -- are vanishing: with sigmoid, each layer
        multiplies the backward signal by ``σ'(z) ≤ 1/4``. Right: each layer's norm over
        the epochs.
        """
        if not self.gradients:
            raise ValueError(
                "History.plot_gradient_flow: no gradient norms were recorded; train with "
                "cr.train.fit(..., track_gradients=True)"
            )
        from matplotlib.ticker import MaxNLocator

        names = list(self.gradients)
        norms = np.array([self.gradients[n] for n in names])  # (layers, epochs)
        fig = new_figure(figsize=(10.0, 3.8), layout="constrained")
        by_layer, by_epoch = fig.subplots(1, 2)
        cmap = _colormap("viridis")
        n_epochs = norms.shape[1]
        shown = sorted({0, n_epochs // 2, n_epochs - 1}) if n_epochs > 3 else range(n_epochs)
        for e in shown:
            colour = cmap(e / max(n_epochs - 1, 1))
            by_layer.plot(
                range(len(names)),
                norms[:, e],
                marker="o",
                color=colour,
                label=f"epoch {self.epochs[e] + 1}",
            )
        by_layer.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        by_layer.set_yscale("log")
        by_layer.set_xlabel("layer (input → output)")
        by_layer.set_ylabel("‖∂L/∂W‖")
        by_layer.set_title("gradient norm per layer", fontsize=10)
        by_layer.grid(alpha=0.3, which="both")
        by_layer.legend(fontsize=8)
        epochs = [e + 1 for e in self.epochs]
        layer_cmap = _colormap("plasma")
        for i, name in enumerate(names):
            by_epoch.plot(epochs, norms[i], color=layer_cmap(i / max(len(names), 1)), label=name)
        by_epoch.set_yscale("log")
        by_epoch.set_xlabel("epoch")
        by_epoch.set_title("gradient norm per epoch", fontsize=10)
        by_epoch.grid(alpha=0.3, which="both")
        by_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
        by_epoch.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig


def _colormap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def layer_weights(model) -> list[tuple[str, Any]]:
    """The ``(name, parameter)`` pairs whose gradients tell how the gradient flows: the
    parameters with two or more axes (the weights of ``Linear``, ``Conv2d``,
    ``Embedding``), from the input to the output; every parameter where there are none."""
    named = list(model.named_parameters()) if hasattr(model, "named_parameters") else []
    return [(n, p) for n, p in named if p.ndim >= 2] or named


def layer_gradient_norms(model) -> dict[str, float]:
    """``{name: ‖∂L/∂W‖}``: the norm (the square root of the sum of squares) of each layer's
    weight gradient now, as left by the last ``backward`` (see :func:`layer_weights`).

    Raises ``ValueError`` when no such parameter has a gradient yet."""
    return _gradient_norms(layer_weights(model))


def _gradient_norms(weights: list[tuple[str, Any]]) -> dict[str, float]:
    """:func:`layer_gradient_norms` of the ``(name, parameter)`` pairs ``weights``."""
    norms = {
        name: float(np.linalg.norm(np.asarray(p.grad.data, np.float64)))
        for name, p in weights
        if p.grad is not None
    }
    if not norms:
        raise ValueError(
            "no layer of the model has a gradient yet: call loss.backward() first "
            "(and not optimizer.zero_grad() in between)"
        )
    return norms


class _GradientNorms:
    """Sums of each layer's weight-gradient norm over an epoch's batches
    (``fit(..., track_gradients=True)``)."""

    def __init__(self, model) -> None:
        # The model's weights, found once: fit trains the same Parameters throughout (casts
        # and loads write into them), so each batch reads their gradients without walking
        # the model's modules again.
        self.weights = layer_weights(model)
        self.sums: dict[str, float] = {name: 0.0 for name, _ in self.weights}
        self.batches = 0

    def add(self) -> None:
        for name, norm in _gradient_norms(self.weights).items():
            self.sums[name] += norm
        self.batches += 1

    def record(self, history: History) -> None:
        for name, total in self.sums.items():
            history.gradients.setdefault(name, []).append(total / max(self.batches, 1))
            self.sums[name] = 0.0
        self.batches = 0
