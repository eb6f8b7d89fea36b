"""RMSprop and Adagrad: per-coordinate step sizes from accumulated squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, _check_non_negative

__all__ = ["RMSprop", "Adagrad"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), with PyTorch's formulas and defaults.

    For each parameter ``w`` with gradient ``g``::

        g    <- g + weight_decay * w
        s    <- alpha * s + (1 - alpha) * g^2                  (s_0 = 0)
        a    <- alpha * a + (1 - alpha) * g                    (centered only; a_0 = 0)
        d    <- sqrt(s - a^2) + eps   if centered,   else  sqrt(s) + eps
        b    <- momentum * b + g / d ;  w <- w - lr * b        if momentum > 0
        w    <- w - lr * g / d                                 otherwise

    Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered False.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_non_negative("RMSprop", "alpha", alpha)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, w, g, state, group, tmp) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum = group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(w)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        if wd:
            g = g + wd * w
        s = state["square_avg"]
        s *= alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        s += tmp
        if group["centered"]:
            a = state.setdefault("grad_avg", np.zeros_like(w))
            np.subtract(g, a, out=tmp)  # lerp, as PyTorch
            tmp *= 1.0 - alpha
            a += tmp
            np.multiply(a, a, out=tmp)
            np.subtract(s, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(s, out=tmp)
        tmp += eps
        np.divide(g, tmp, out=tmp)
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(w))
            buf *= momentum
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        w -= tmp


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's formulas and defaults.

    For each parameter ``w`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g    <- g + weight_decay * w
        clr  =  lr / (1 + (t - 1) * lr_decay)
        s    <- s + g^2                          (s_0 = initial_accumulator_value)
        w    <- w - clr * g / (sqrt(s) + eps)

    Defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        _check_non_negative("Adagrad", "lr_decay", lr_decay)
        _check_non_negative("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, w, g, state, group, tmp) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(w, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += group["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= clr
        w -= tmp
