"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, _check_non_negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's formulas and defaults.

    For each parameter ``w`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g     <- g + weight_decay * w                     (coupled L2, Adam only)
        m     <- beta1 * m + (1 - beta1) * g              (first moment; m_0 = 0)
        v     <- beta2 * v + (1 - beta2) * g^2            (second moment; v_0 = 0)
        vmax  <- max(vmax, v)                             (amsgrad only; used for v below)
        w     <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        lr: 1e-3.  betas: (0.9, 0.999).  eps: 1e-8.  weight_decay: 0.
        amsgrad: keep the running maximum of ``v`` (Reddi et al., 2018).
        maximize: ascend instead of descend.
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group) -> None:
        super()._check_group(group)
        name = type(self).__name__
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair, got {betas!r}")
        for i, b in enumerate(betas):
            _check_non_negative(name, f"beta parameter at index {i}", b)
            if not b < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (need < 1)")

    def _update(self, w, g, state, group, tmp) -> None:
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]

        if wd:
            if self._decoupled:
                w *= 1.0 - lr * wd
            else:
                g = g + wd * w
        # m <- m + (1 - beta1) (g - m), the lerp PyTorch uses; equal to the formula above.
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - beta1
        m += tmp
        v *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta2
        v += tmp

        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        if group["amsgrad"]:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:  # amsgrad switched on mid-run
                vmax = state["max_exp_avg_sq"] = np.zeros_like(w)
            np.maximum(vmax, v, out=vmax)
            v = vmax
        np.sqrt(v, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        w -= tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's.

    Identical to :class:`Adam` except that weight decay shrinks the weights directly,
    ``w <- w * (1 - lr * weight_decay)``, before the Adam step, instead of being added to the
    gradient. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
