"""``cr.nn.utils``: gradient clipping and parameter vectors."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.compile.effects import effect
from chainrule.tensor import Tensor, get_default_dtype, make

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector"]


def _grads(parameters) -> list[np.ndarray]:
    if hasattr(parameters, "data") and hasattr(parameters, "grad"):
        parameters = [parameters]
    out = []
    for p in parameters:
        g = p.grad
        if g is None:
            continue
        out.append(g if isinstance(g, np.ndarray) else g.data)
    return out


def clip_grad_norm_(
    parameters: Iterable, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    ``total = ||(||g_1||, ..., ||g_k||)||_p`` (the p-norm of all gradient entries as one
    vector; ``norm_type=inf`` for the largest magnitude). If ``total > max_norm``, every
    gradient is multiplied in place by ``max_norm / (total + 1e-6)``, as PyTorch.
    Returns the total norm before clipping, as a 0-d tensor (as PyTorch).  A NaN in any
    gradient makes the total NaN: ``error_if_nonfinite=True`` raises, otherwise every
    gradient becomes NaN (PyTorch's behaviour); an infinite total scales them by 0.
    """
    if not (hasattr(parameters, "data") and hasattr(parameters, "grad")):
        parameters = list(parameters)  # a generator: compiled code calls this again
    return _clip_grad_norm(parameters, max_norm, norm_type, error_if_nonfinite)


@effect("clip_grad_norm_: the gradients scaled in place")
def _clip_grad_norm(parameters, max_norm, norm_type, error_if_nonfinite) -> Tensor:
    grads = _grads(parameters)
    if not grads:
        return make(np.zeros((), dtype=get_default_dtype()))
    norm_type = float(norm_type)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan are results here
        return _clip_by_norm(grads, max_norm, norm_type, error_if_nonfinite)


def _clip_by_norm(grads: list, max_norm: float, norm_type: float, error_if_nonfinite: bool):
    if norm_type == math.inf:
        # np.max, not Python's max: a NaN anywhere makes the total NaN, as in PyTorch
        # (Python's max(3.0, nan) is 3.0 but max(nan, 3.0) is nan).
        total = float(np.max([np.max(np.abs(g)) if g.size else 0.0 for g in grads]))
    else:
        total = float(
            sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
            ** (1.0 / norm_type)
        )
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total}; set error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    # A NaN total (no error asked for) makes every gradient NaN, as PyTorch's multiply by
    # clamp(nan, max=1) does: a NaN must not pass silently as "nothing to clip".
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g *= coef
    return make(np.asarray(total, dtype=np.result_type(*grads)))


def clip_grad_value_(parameters: Iterable, clip_value: float) -> None:
    """Clip every gradient entry into ``[-clip_value, clip_value]`` in place."""
    if not (hasattr(parameters, "data") and hasattr(parameters, "grad")):
        parameters = list(parameters)
    _clip_grad_value(parameters, clip_value)


@effect("clip_grad_value_: the gradients clipped in place")
def _clip_grad_value(parameters, clip_value: float) -> None:
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters: Iterable) -> np.ndarray:
    """All parameter values concatenated into one 1-D array (a copy)."""
    return np.concatenate([np.ravel(p.data) for p in parameters])
