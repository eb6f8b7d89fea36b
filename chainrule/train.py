"""``cr.train``: the training loop, written once -- ``fit`` and ``evaluate``.

``fit`` runs the loop every PyTorch user writes by hand (forward, loss, ``zero_grad``,
``backward``, ``step``), with validation each epoch, learning-rate scheduling, a progress
bar, metrics, and a guard against a diverging loss, and returns a :class:`History`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.autodiff.graph import no_grad
from chainrule.data import DataLoader, TensorDataset
from chainrule.history import History, _GradientNorms, layer_gradient_norms, layer_weights
from chainrule.optim.snapshot import Checkpoint

__all__ = [
    "fit",
    "evaluate",
    "predict",
    "History",
    "METRICS",
    "layer_weights",
    "layer_gradient_norms",
]


# ----- metrics ----------------------------------------------------------------------------------


def _predicted_classes(out: np.ndarray) -> np.ndarray:
    # One output column (or none): a binary classifier's logit, positive means class 1.
    if out.ndim == 1 or out.shape[-1] == 1:
        return (out.reshape(out.shape[0], -1)[:, 0] > 0).astype(np.int64)
    return np.argmax(out, axis=-1)


def accuracy(out: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples whose predicted class (argmax of the outputs, or logit > 0 for a
    single output) equals the label."""
    if y.ndim == 2 and y.shape[-1] > 1 and y.shape == out.shape:
        y = np.argmax(y, axis=-1)  # one-hot or class-probability targets
    y = y.reshape(y.shape[0], -1)[:, 0] if y.ndim > 1 and y.shape[-1] == 1 else y
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        # Regression targets: a "class" comparison would quietly give 0.
        raise ValueError(
            "accuracy: the targets are not class labels (they have fractional values); "
            "for regression pass metrics=('mse', 'mae', 'r2') or metrics=() to fit/evaluate"
        )
    predicted = _predicted_classes(out)
    if predicted.shape != y.shape:
        raise ValueError(
            f"accuracy: outputs of shape {out.shape} give {predicted.shape[0]} predicted "
            f"classes, but the targets have shape {y.shape}; accuracy needs one class label "
            "(or one one-hot row) per sample"
        )
    return float(np.mean(predicted == y))


def _match(out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = out.astype(np.float64)
    y = y.astype(np.float64)
    if out.shape != y.shape and out.size == y.size:
        out = out.reshape(y.shape)
    return out, y


def mse(out: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error, mean((out - y)^2)."""
    out, y = _match(out, y)
    return float(np.mean((out - y) ** 2))


def mae(out: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute error, mean(|out - y|)."""
    out, y = _match(out, y)
    return float(np.mean(np.abs(out - y)))


def r2(out: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination, 1 - sum (y - out)^2 / sum (y - mean y)^2 (pooled over
    outputs, as scikit-learn's ``r2_score`` for one output)."""
    out, y = _match(out, y)
    ss_res = float(np.sum((y - out) ** 2))
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "mse": mse,
    "mae": mae,
    "r2": r2,
}


def _resolve_metrics(metrics) -> dict[str, Callable]:
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = (metrics,)
    out = {}
    for m in metrics:
        if callable(m):
            out[getattr(m, "__name__", "metric")] = m
        elif m in METRICS:
            out[m] = METRICS[m]
        else:
            raise ValueError(
                f"unknown metric {m!r}; choose from {sorted(METRICS)} or pass a "
                "function (outputs, labels) -> float"
            )
    return out


# ----- the loop ---------------------------------------------------------------------------------


def _as_loader(data, batch_size: int, shuffle: bool, seed: int | None, name: str) -> Any:
    if data is None:
        return None
    if isinstance(data, DataLoader):
        return data
    array_like = isinstance(data, np.ndarray | tuple | list) or hasattr(data, "requires_grad")
    if not array_like and hasattr(data, "__iter__") and hasattr(data, "__len__"):
        return data  # another iterable of (inputs, targets) batches
    if isinstance(data, tuple | list) and len(data) == 2:
        return DataLoader(TensorDataset(*data), batch_size=batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(
        f"{name} must be a DataLoader or an (X, y) pair of arrays, got {type(data).__name__}"
    )


def _in_jupyter() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), without importing IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _progress_bar(total: int, enabled: bool, desc: str):
    """A notebook bar in Jupyter, a terminal bar on a terminal, none elsewhere (logs, CI,
    pipes) or without tqdm."""
    if not enabled:
        return None
    try:
        from tqdm.std import tqdm as terminal_bar
    except ImportError:
        return None
    options = dict(total=total, desc=desc, unit="batch", leave=True)
    if _in_jupyter():
        try:
            from tqdm.notebook import tqdm as notebook_bar

            return notebook_bar(**options)
        except ImportError:  # tqdm's notebook bar needs ipywidgets: text in the cell instead
            return terminal_bar(file=sys.stderr, **options)
    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return terminal_bar(file=stream, dynamic_ncols=True, **options)


def _compiled_step(model, loss_fn, optimizer):
    """One training step as compiled code: forward, loss, zero_grad, backward, step."""
    from chainrule.compile import compile as compile_

    def training_step(x, y):
        out = model(x)
        loss = loss_fn(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return out, loss

    return compile_(training_step)


def _figures(record: dict[str, float]) -> dict[str, str]:
    """An epoch's figures as shown (the epoch line, the bar): the loss and metrics to four
    decimals; the learning rate and the time are not among them."""
    return {k: f"{v:.4f}" for k, v in record.items() if k not in ("lr", "time")}


def _epoch_line(epoch: int, epochs: int, record: dict[str, float]) -> str:
    shown = "  ".join(f"{k} {v}" for k, v in _figures(record).items())
    return f"epoch {epoch + 1}/{epochs}  {shown}  ({record['time']:.1f} s)"


def _params(model) -> list:
    return list(model.parameters()) if hasattr(model, "parameters") else []


class _LastGood:
    """The weights that last gave a finite loss, and the optimizer's state then (Adam's
    moments, step counts, learning rates), so a diverging run is undone as a whole:
    resuming continues from a state the run really was in, not a mix.

    Both are copied before every batch into a :class:`~chainrule.optim.snapshot.Checkpoint`
    (one ``np.concatenate`` while the arrays stay the same, not a ``state_dict()`` built
    anew). A compiled step updates as it computes the loss, so it gets a second checkpoint,
    taken before it and kept only if its loss is finite."""

    def __init__(self, params: list, optimizer) -> None:
        self.saved = Checkpoint(params, optimizer)
        self.pending: Checkpoint | None = None
        self.where: tuple[int, int] | None = None

    def update(self, epoch: int, batch: int) -> None:
        """Before an eager step (after its loss was found finite): copy the weights and the
        optimizer state it starts from."""
        self.saved.take()
        self.where = (epoch, batch)

    def snapshot(self) -> None:
        """Before a compiled step: copy the weights and the optimizer state it starts from
        into the second checkpoint (the first holds the last good ones until the step's
        loss is known)."""
        if self.pending is None:
            self.pending = Checkpoint(self.saved.params, self.saved.optimizer)
        else:
            self.pending.take()

    def commit(self, epoch: int, batch: int) -> None:
        """The compiled step's loss was finite: the weights and optimizer state it started
        from are good. The two checkpoints trade places."""
        self.saved, self.pending = self.pending, self.saved
        self.where = (epoch, batch)

    def restore(self) -> None:
        self.saved.restore("fit (restoring the last good weights)")


def _data_parallel(model):
    if type(model).__name__ != "DistributedDataParallel":
        return None  # cr.distributed is not needed (nor loaded) for one process
    from chainrule.distributed.training import data_parallel

    return data_parallel(model)


def _unpack(batch) -> tuple[Any, Any]:
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        "fit/evaluate: each batch must be a pair (inputs, targets); got "
        f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}"
    )


def fit(
    model,
    loss_fn: Callable,
    optimizer,
    train_data,
    epochs: int,
    val_data=None,
    metrics: Sequence[str] | None = ("accuracy",),
    scheduler=None,
    progress: bool | str = True,
    *,
    batch_size: int = 32,
    seed: int | None = 0,
    start_epoch: int = 0,
    track_gradients: bool = False,
    compile: bool = False,  # noqa: A002  (the API's name, as torch.compile's flag)
) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    Each batch: ``loss = loss_fn(model(x), y)``, ``optimizer.zero_grad()``,
    ``loss.backward()``, ``optimizer.step()``. After each epoch: validation on ``val_data``
    (under ``no_grad``, in ``eval()`` mode), then ``scheduler.step()``.

    Args:
        train_data, val_data: DataLoaders, or ``(X, y)`` arrays (then batched with
            ``batch_size``; training data shuffled with ``seed``).
        metrics: names from ``accuracy``, ``mse``, ``mae``, ``r2``, or functions
            ``(outputs, targets) -> float`` on NumPy arrays.
        progress: ``True``: a tqdm bar with the loss and metrics, a notebook widget in
            Jupyter, a text bar on a terminal; none when stderr is neither or tqdm is not
            installed. ``"epochs"``: one line per epoch on standard output, wherever it
            goes (scripts, logs). ``False``: nothing.
        start_epoch: resume a run: epochs ``start_epoch..epochs-1`` are trained, and seeded
            loaders shuffle as they would have (with the model and optimizer restored from a
            checkpoint, training continues exactly as the uninterrupted run).
        track_gradients: record each layer's weight-gradient norm ``‖∂L/∂W‖`` (mean over
            the epoch's batches) in ``history.gradients``, for
            :meth:`History.plot_gradient_flow`.
        compile: run each training step (forward, loss, ``zero_grad``, ``backward``,
            ``step``) as code generated by :func:`cr.compile <chainrule.compile>`: the
            same updates, traced once per batch shape.

    With a ``cr.distributed.DistributedDataParallel`` model on several processes, each
    process trains on its shard of ``(X, y)`` (``batch_size`` per process), the recorded
    loss, metrics and validation are averaged over the processes, and only rank 0 shows
    progress (see :mod:`chainrule.distributed.training`).

    Raises:
        FloatingPointError: when the loss becomes nan or infinite; the message names the epoch
            and batch, the model keeps the last weights that gave a finite loss and the
            optimizer its state at that point (both restored: resuming continues from a
            state the run was really in), and the history so far is attached as
            ``error.history``.

    On every exit (the end, an error, ``KeyboardInterrupt``) the model is left in the
    mode it was in before (``train()`` or ``eval()``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    parallel = _data_parallel(model)
    if parallel is not None:  # several processes: each trains and validates on its shard
        train_data = parallel.shard(train_data, batch_size, True, seed)
        val_data = parallel.shard(val_data, max(batch_size, 256), False, None)
    train_loader = _as_loader(train_data, batch_size, True, seed, "train_data")
    val_loader = _as_loader(val_data, max(batch_size, 256), False, None, "val_data")
    metric_fns = _resolve_metrics(metrics)
    history = History()
    guard = _LastGood(_params(model), optimizer)
    was_training = getattr(model, "training", None)
    gradient_norms = _GradientNorms(model) if track_gradients else None
    n_batches = len(train_loader)
    if progress not in (True, False, "epochs"):
        raise ValueError(f"fit: progress must be True, False or 'epochs', got {progress!r}")
    main = parallel is None or parallel.is_main  # the process that shows progress
    if compile and parallel is not None:
        raise ValueError(
            "fit: compile=True does not work with a DistributedDataParallel model (its "
            "gradient all-reduce happens outside the traced step); train it uncompiled"
        )
    run = _Run(
        model, loss_fn, optimizer, metric_fns, parallel, history, guard, gradient_norms,
        compiled_step=_compiled_step(model, loss_fn, optimizer) if compile else None,
        bar=_progress_bar(
            max(0, epochs - start_epoch) * n_batches, progress is True and main, "training"
        ),
        epochs=epochs, n_batches=n_batches, show_epochs=progress == "epochs" and main,
    )
    try:
        for epoch in range(start_epoch, epochs):
            run.epoch(epoch, train_loader, val_loader)
            if scheduler is not None:
                scheduler.step()
    finally:
        if run.bar is not None:
            run.bar.close()
        if isinstance(was_training, bool) and hasattr(model, "train"):
            model.train(was_training)  # on every exit: the end, an error, Ctrl-C
    return history


@dataclass
class _Run:
    """One call of :func:`fit`: what its epochs share (model, loss, optimizer, metrics, the
    guard against a diverging loss, progress), and the epoch and the batch step."""

    model: Any
    loss_fn: Callable
    optimizer: Any
    metric_fns: dict[str, Callable]
    parallel: Any  # chainrule.distributed.training's helper, or None for one process
    history: History
    guard: _LastGood
    gradient_norms: _GradientNorms | None
    compiled_step: Callable | None
    bar: Any  # a tqdm bar, or None
    epochs: int
    n_batches: int
    show_epochs: bool  # a line per epoch on standard output

    def epoch(self, epoch: int, train_loader, val_loader) -> None:
        """Train one epoch, validate, and record and show the epoch's figures."""
        t0 = time.perf_counter()
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)
        if hasattr(self.model, "train"):
            self.model.train()
        optimizer = self.optimizer
        lr = optimizer.param_groups[0]["lr"] if hasattr(optimizer, "param_groups") else None
        record = self._train(epoch, train_loader)
        if val_loader is not None:
            val, n_val = _evaluate(
                self.model, self.loss_fn, val_loader, tuple(self.metric_fns.items())
            )
            if self.parallel is not None:
                val = self.parallel.average(val, n_val)
            record.update({"val_" + k: v for k, v in val.items()})
        if lr is not None:
            record["lr"] = lr
        record["time"] = time.perf_counter() - t0
        self.history._record(epoch, record)
        if self.gradient_norms is not None:
            self.gradient_norms.record(self.history)
        self._show(epoch, record)

    def _train(self, epoch: int, loader) -> dict[str, float]:
        """One pass over the training batches: the mean loss and the metrics (averaged over
        the processes when there are several)."""
        total, count = 0.0, 0
        outs, ys = [], []
        for b, batch in enumerate(loader):
            x, y = _unpack(batch)
            out, value = self._step(epoch, b, x, y)
            n = len(y)
            total += value * n
            count += n
            if self.metric_fns:
                outs.append(out.data.copy())
                ys.append(np.asarray(getattr(y, "data", y)))
            if self.bar is not None:
                self.bar.update(1)
                if b % 10 == 0 or b == self.n_batches - 1:
                    self.bar.set_postfix(
                        epoch=f"{epoch + 1}/{self.epochs}",
                        loss=f"{total / count:.4f}",
                        refresh=False,
                    )
        record = {"loss": total / max(count, 1)}
        if self.metric_fns and outs:
            o, t = np.concatenate(outs), np.concatenate(ys)
            record.update({k: f(o, t) for k, f in self.metric_fns.items()})
        if self.parallel is not None:
            record = self.parallel.average(record, count)
        return record

    def _step(self, epoch: int, b: int, x, y) -> tuple[Any, float]:
        """One training step on batch ``b`` (forward, loss, zero_grad, backward, step, or
        the compiled step): the outputs and the loss's value. A non-finite loss restores
        the last good weights and raises."""
        guard, gradient_norms = self.guard, self.gradient_norms
        if self.compiled_step is not None:
            guard.snapshot()  # the step below also updates the weights
            out, loss = self.compiled_step(x, y)
        else:
            out = self.model(x)
            loss = self.loss_fn(out, y)
        value = float(loss.item())
        if self.parallel is not None:
            value = self.parallel.loss_value(value)  # all stop together
        if not math.isfinite(value):
            self._diverged(value, epoch, b)
        if self.compiled_step is not None:
            guard.commit(epoch, b)
            if gradient_norms is not None:
                gradient_norms.add()  # the step leaves .grad as it was
        else:
            guard.update(epoch, b)
            self.optimizer.zero_grad()
            loss.backward()
            if gradient_norms is not None:
                gradient_norms.add()
            self.optimizer.step()
        return out, value

    def _diverged(self, value: float, epoch: int, b: int) -> None:
        """The loss is nan or infinite: restore the last good weights and optimizer state,
        and raise a FloatingPointError that says where, with the history so far."""
        guard = self.guard
        guard.restore()
        where = (
            "the initial weights"
            if guard.where is None
            else f"epoch {guard.where[0] + 1}, batch {guard.where[1] + 1}"
        )
        err = FloatingPointError(
            f"fit: the loss became {value} at epoch {epoch + 1}, batch {b + 1}; "
            f"training stopped, and the model keeps the last weights that gave a "
            f"finite loss ({where}). Try a lower learning rate, gradient clipping "
            "(cr.nn.utils.clip_grad_norm_) or standardised inputs."
        )
        err.history = self.history
        raise err

    def _show(self, epoch: int, record: dict[str, float]) -> None:
        """The epoch's figures: a line on standard output (``progress="epochs"``) or the
        bar's postfix."""
        if self.show_epochs:
            print(_epoch_line(epoch, self.epochs, record), flush=True)
        if self.bar is not None:
            self.bar.set_postfix(epoch=f"{epoch + 1}/{self.epochs}", **_figures(record))


def evaluate(
    model, loss_fn: Callable | None, data, metrics=("accuracy",), batch_size: int = 256
) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``data`` (a DataLoader or ``(X, y)``), in ``eval()``
    mode under ``no_grad``; the model's previous mode is restored. Returns
    ``{"loss": ..., "<metric>": ...}`` (no ``loss`` when ``loss_fn`` is None)."""
    return _evaluate(model, loss_fn, _as_loader(data, batch_size, False, None, "data"), metrics)[0]


def _evaluate(model, loss_fn, loader, metrics) -> tuple[dict[str, float], int]:
    """``evaluate`` on a loader, with the number of samples seen."""
    if isinstance(metrics, tuple) and metrics and isinstance(metrics[0], tuple):
        metric_fns = dict(metrics)  # already resolved (from fit)
    else:
        metric_fns = _resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total, count = 0.0, 0
    outs, ys = [], []
    try:
        with no_grad():
            for batch in loader:
                x, y = _unpack(batch)
                out = model(x)
                n = len(y)
                if loss_fn is not None:
                    total += float(loss_fn(out, y).item()) * n
                count += n
                outs.append(np.asarray(out.data))
                ys.append(np.asarray(getattr(y, "data", y)))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    result = {}
    if loss_fn is not None:
        result["loss"] = total / max(count, 1)
    if outs:
        o, t = np.concatenate(outs), np.concatenate(ys)
        result.update({k: f(o, t) for k, f in metric_fns.items()})
    return result, count


def predict(model, X, batch_size: int = 256) -> np.ndarray:
    """The model's outputs on ``X`` as a NumPy array, in ``eval()`` mode under ``no_grad``."""
    loader = DataLoader(TensorDataset(X), batch_size=batch_size)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            return np.concatenate([np.asarray(model(xb).data) for (xb,) in loader])
    finally:
        if was_training:
            model.train()
