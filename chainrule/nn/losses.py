"""Loss functions, with PyTorch's definitions, defaults and ``reduction`` semantics.

``reduction="mean"`` (default) averages the per-element losses, ``"sum"`` adds them,
``"none"`` returns them. Class-weighted classification losses average with the weights:
``sum_n w[y_n] l_n / sum_n w[y_n]``, as PyTorch does.

A loss computes in its input's dtype: targets, weights and ``pos_weight`` of another dtype
(integer labels, float64 arrays) are cast to it, never promoting the loss.
"""

from __future__ import annotations

import numpy as np

from chainrule import numpy_api as api
from chainrule.compile.effects import traced_function
from chainrule.nn.module import Module
from chainrule.ops import nn as _ops
from chainrule.tensor import Tensor

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return api.mean(loss)
    if reduction == "sum":
        return api.sum(loss)
    return loss


def _explained_as_one_step(loss, kind: str, input, target, reduction: str):
    """Mark ``loss`` so that ``cr.explain`` shows the operations that compute it as one
    step with the rule a textbook gives (``∂L/∂z = (softmax(z) − onehot(y))/N`` for
    cross-entropy, ``(2/N)·(ŷ − y)`` for the mean squared error); returns ``loss``."""
    node = getattr(loss, "_node", None)
    start = input._node if isinstance(input, Tensor) and input._node is not None else input
    if node is not None and reduction in ("mean", "sum") and isinstance(input, Tensor):
        if start is input and not input.requires_grad:
            return loss
        node.explain_loss = (kind, start, np.asarray(_array(target)), reduction)
    return loss


def _check_same_shape(name: str, input, target) -> None:
    if tuple(input.shape) != tuple(np.shape(_array(target))):
        raise ValueError(
            f"{name}: input of shape {tuple(input.shape)} and target of shape "
            f"{tuple(np.shape(_array(target)))} differ; they must have the same shape"
        )


def _as_target(target, like) -> Tensor | np.ndarray:
    """Targets, weights and ``pos_weight`` in the input's dtype (cast, never promoting the
    loss: see ``chainrule.nn.dtype_policy``); a tensor is cast by ``astype``, which casts
    a gradient back."""
    if isinstance(target, Tensor):
        return target if target.dtype == like.dtype else target.astype(like.dtype)
    return np.asarray(target, dtype=like.dtype)


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error: l = (input - target)^2."""
    _check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", input, target)
    d = input - _as_target(target, input)
    return _explained_as_one_step(_reduce(d * d, reduction), "mse", input, target, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error: l = |input - target|; the gradient sign(input - target) is 0
    where they are equal and where the difference is NaN (PyTorch's sign(nan) = 0; the
    loss itself is NaN there)."""
    _check_reduction("l1_loss", reduction)
    _check_same_shape("l1_loss", input, target)
    d = input - _as_target(target, input)
    nan = api.isnan(d)
    # At a NaN the value comes through a detached copy: NaN, with no gradient.
    loss = api.where(nan, _detached(d), api.abs(api.where(nan, 0.0, d)))
    return _reduce(loss, reduction)


def _detached(x):
    return x.detach() if isinstance(x, Tensor) else x


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """Huber: l = 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target.

    Written as l = 0.5 q^2 + delta (|d| - q) with q = min(|d|, delta) (the same values),
    so that no branch squares an infinite d: a ``where`` between the two formulas would
    send 0 * inf = nan back from the branch not taken.  dl/dd = clip(d, -delta, delta).
    """
    _check_reduction("huber_loss", reduction)
    _check_same_shape("huber_loss", input, target)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - _as_target(target, input)
    a = api.abs(d)
    q = api.minimum(a, delta)
    loss = 0.5 * q * q + delta * (a - q)
    return _reduce(loss, reduction)


def _class_targets(name: str, input, target, ignore_index: int) -> np.ndarray:
    """Validate integer class targets against logits/log-probabilities of shape (N, C, ...)."""
    y = _array(target)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class targets must be integers (got dtype {y.dtype}); pass labels "
            "0..C-1, or class probabilities of the input's shape (cross_entropy only)"
        )
    shape = tuple(input.shape)
    if len(shape) < 1:
        raise ValueError(f"{name}: input must have a class dimension, got a scalar")
    expected = (shape[0], *shape[2:]) if len(shape) >= 2 else ()
    if y.shape != expected:
        raise ValueError(
            f"{name}: input of shape {shape} needs targets of shape {expected}, got {y.shape}"
        )
    n_classes = shape[1] if len(shape) >= 2 else shape[0]
    valid = y != ignore_index
    bad = valid & ((y < 0) | (y >= n_classes))
    if bad.any():
        v = int(y[bad].flat[0])
        raise ValueError(
            f"{name}: target {v} is out of range for {n_classes} classes (labels must be in "
            f"0..{n_classes - 1}, or ignore_index={ignore_index})"
        )
    return y


def _weighted_pick(name, logp, y, weight, ignore_index, reduction, label_smoothing):
    """-sum_c coef[n, c] logp[n, c] with coef built from one-hot targets, weights, smoothing.

    nll_n = -w[y_n] logp[n, y_n];  smooth_n = -sum_c w[c] logp[n, c];
    l_n = (1 - eps) nll_n + (eps / C) smooth_n  (0 where y_n is ignored), and the mean divides
    by sum_n w[y_n] over the targets not ignored -- PyTorch's definition.
    """
    shape = tuple(logp.shape)
    unbatched = len(shape) == 1
    if unbatched:
        logp = api.reshape(logp, (1, shape[0]))
        shape = tuple(logp.shape)
    n_classes = shape[1]
    dtype = logp.dtype
    w = np.ones(n_classes, dtype) if weight is None else _array(weight).astype(dtype)
    if w.shape != (n_classes,):
        raise ValueError(f"{name}: weight must have shape ({n_classes},), got {w.shape}")
    coef = _pick_coefficients(y, w, len(shape), ignore_index, label_smoothing, unbatched)
    if not np.all(np.isfinite(_array(logp))):
        # A log-probability of -inf (a masked logit) that the loss does not use must add 0,
        # not 0 * -inf = nan: PyTorch picks the target entries instead of multiplying.
        logp = api.where(coef != 0, logp, 0.0)
    per_sample = -api.sum(logp * coef, axis=1)
    if reduction == "none":
        return api.reshape(per_sample, ()) if unbatched else per_sample
    total = api.sum(per_sample)
    if reduction == "sum":
        return total
    # Every target ignored (or of weight 0): the mean is 0/0 = nan, but the gradient is 0,
    # as PyTorch's -- dividing by 0 would send inf * 0 = nan back to the logits.
    denom = _mean_denominator(y, w, ignore_index, unbatched)
    none = api.equal(denom, 0)
    return api.where(none, np.asarray(np.nan, dtype=dtype),
                     total / api.where(none, np.asarray(1, dtype=dtype), denom))


def _targets(y, ignore_index, unbatched):
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    y = y.reshape(1) if unbatched else y
    valid = y != ignore_index
    return np.where(valid, y, 0), valid


@traced_function
def _pick_coefficients(y, w, ndim, ignore_index, label_smoothing, unbatched) -> np.ndarray:
    """coef[n, c]: (1 - eps) w[y_n] onehot(y_n)_c + (eps / C) w[c], 0 where y_n is ignored
    (a function of the labels: compiled code recomputes it for each batch)."""
    n_classes, dtype = len(w), w.dtype
    y_safe, valid = _targets(y, ignore_index, unbatched)
    # one-hot along the class axis (axis 1), for targets of any extra dimensions
    onehot = np.moveaxis(np.eye(n_classes, dtype=dtype)[y_safe], -1, 1)
    wy = np.where(valid, w[y_safe], 0).astype(dtype)  # w[y_n], 0 if ignored
    class_w = w.reshape((1, n_classes) + (1,) * (ndim - 2))
    coef = (1.0 - label_smoothing) * onehot * np.expand_dims(wy, 1)
    if label_smoothing:
        coef = coef + (label_smoothing / n_classes) * class_w * np.expand_dims(valid, 1)
    return coef.astype(dtype)


@traced_function
def _mean_denominator(y, w, ignore_index, unbatched) -> np.ndarray:
    """sum_n w[y_n] over the targets not ignored (the mean's denominator, PyTorch's)."""
    y_safe, valid = _targets(y, ignore_index, unbatched)
    return np.asarray(np.where(valid, w[y_safe], 0).astype(w.dtype).sum())


def _check_smoothing(name, label_smoothing):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    r"""Softmax cross-entropy from logits, as PyTorch's ``cross_entropy``.

    ``input``: logits of shape (N, C) (or (C,), or (N, C, d1, ...)). ``target``: class
    indices of shape (N,) (or (), (N, d1, ...)), or class probabilities shaped like ``input``.

    For indices: l_n = -w[y_n] log softmax(x_n)[y_n]. The log-softmax is the fused,
    stable primitive (``x - logsumexp(x)``), so large logits never overflow; its gradient is
    ``softmax(x) - onehot(y)`` per sample (times the weights).
    """
    _check_reduction("cross_entropy", reduction)
    _check_smoothing("cross_entropy", label_smoothing)
    axis = 0 if len(input.shape) == 1 else 1
    logp = api.log_softmax(input, axis=axis)
    t = _array(target)
    if t.dtype.kind == "f" and t.shape == tuple(input.shape):  # class probabilities
        n_classes = input.shape[axis]
        probs = t.astype(logp.dtype)
        if label_smoothing:
            probs = probs * (1.0 - label_smoothing) + label_smoothing / n_classes
        if weight is not None:
            w = _array(weight).astype(logp.dtype)
            probs = probs * w.reshape((n_classes,) + (1,) * (len(input.shape) - axis - 1))
        return _reduce(-api.sum(logp * probs, axis=axis), reduction)
    y = _class_targets("cross_entropy", input, target, ignore_index)
    loss = _weighted_pick(
        "cross_entropy", logp, y, weight, ignore_index, reduction, label_smoothing
    )
    if weight is None and not label_smoothing and len(input.shape) == 2 and np.all(
        y != ignore_index
    ):
        _explained_as_one_step(loss, "cross_entropy", input, y, reduction)
    return loss


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities: l_n = -w[y_n] input[n, y_n]."""
    _check_reduction("nll_loss", reduction)
    y = _class_targets("nll_loss", input, target, ignore_index)
    return _weighted_pick("nll_loss", input, y, weight, ignore_index, reduction, 0.0)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """l = -w (y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch does.

    The gradient is PyTorch's, w (p - y) / max(p (1 - p), 1e-12): finite even at p = 0 or 1.
    """
    _check_reduction("binary_cross_entropy", reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    p = _array(input)
    if p.size and not (np.all(p >= 0) and np.all(p <= 1)):  # NaN fails too, as in PyTorch
        bad = p[~((p >= 0) & (p <= 1))].flat[0]
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got {bad}; for "
            "logits use binary_cross_entropy_with_logits (BCEWithLogitsLoss)"
        )
    # One fused primitive, for PyTorch's numerics at the ends: the value clamps each log at
    # -100, the gradient (p - y) / max(p (1 - p), 1e-12) stays large and finite where p is 0
    # or 1 against its label (a clamped log alone would give it 0 there).
    loss = _ops.binary_cross_entropy(input, _as_target(target, input))
    if weight is not None:
        loss = loss * _as_target(weight, input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
):
    r"""Sigmoid + binary cross-entropy in one stable formula, as PyTorch's:

    l = (1 - y) x + (1 + (pw - 1) y) (log(1 + exp(-|x|)) + max(-x, 0)),  pw = pos_weight
    (1 if not given) -- equal to -[pw y log s(x) + (1 - y) log(1 - s(x))] without overflow.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    y = _as_target(target, input)
    # softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0), computed stably by the primitive.
    sp = api.softplus(-input)
    if pos_weight is None:
        loss = (1.0 - y) * input + sp
    else:
        lw = 1.0 + (_as_target(pos_weight, input) - 1.0) * y
        loss = (1.0 - y) * input + lw * sp
    if weight is not None:
        loss = loss * _as_target(weight, input)
    return _reduce(loss, reduction)


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(loss)``: ``reduction=...`` unless it is ``"mean"``."""
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error, (input - target)^2 reduced; see :func:`mse_loss`."""

    def forward(self, input, target):
        """(input − target)² elementwise, then reduced (``"mean"``, ``"sum"`` or ``"none"``);
        ∂/∂input = 2 (input − target) (/ n for the mean).
        """
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, |input - target| reduced; see :func:`l1_loss`."""

    def forward(self, input, target):
        """|input − target| elementwise, then reduced; ∂/∂input = sign(input − target) (/ n for
        the mean).
        """
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Huber loss (quadratic below ``delta``, linear above); see :func:`huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        """½ d² where |d| ≤ δ, else δ (|d| − ½ δ), with d = input − target, then reduced;
        ∂/∂input = d clipped to [−δ, δ].
        """
        return huber_loss(input, target, self.reduction, self.delta)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy between logits and class indices (or probabilities); see
    :func:`cross_entropy`. ``weight``: per-class weights, ``ignore_index``: label to skip,
    ``label_smoothing``: mix the targets with the uniform distribution."""

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        _check_smoothing("CrossEntropyLoss", label_smoothing)
        self.weight = None if weight is None else _array(weight).copy()
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        """−log softmax(input)[target] per sample (``input``: logits (N, C); ``target``: class
        indices (N,) or probabilities (N, C)), weighted, smoothed and reduced as configured;
        ∂/∂logits = softmax(input) − one_hot(target) per sample (before weights and the mean).
        """
        try:
            return cross_entropy(
                input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
            )
        except ValueError as e:
            raise ValueError(str(e).replace("cross_entropy:", "CrossEntropyLoss:", 1)) from None


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities; see :func:`nll_loss`."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else _array(weight).copy()
        self.ignore_index = ignore_index

    def forward(self, input, target):
        """−input[n, target[n]] (``input``: log-probabilities (N, C)), weighted by class,
        reduced; ``ignore_index`` samples are left out.
        """
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities; see :func:`binary_cross_entropy`."""

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):
        """−(y log p + (1 − y) log(1 − p)) elementwise, p = ``input`` (probabilities in
        [0, 1]), y = ``target``, weighted and reduced; ∂/∂p = (p − y) / (p (1 − p)).
        """
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable; see :func:`binary_cross_entropy_with_logits`."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def forward(self, input, target):
        """Binary cross-entropy of σ(input) against ``target``, computed from the logits
        without forming σ (stable for large |input|); ∂/∂input = σ(input) − y (with
        ``pos_weight`` scaling the positive term).
        """
        return binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
