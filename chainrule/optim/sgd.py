"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's formulas and defaults).

    For each parameter ``w`` with gradient ``g``, at step ``t``::

        g  <- g + weight_decay * w
        b  <- g                                 at t = 1   (momentum buffer)
        b  <- momentum * b + (1 - dampening) * g   after
        g  <- g + momentum * b   if nesterov,  else  g <- b     (when momentum != 0)
        w  <- w - lr * g

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3, as PyTorch 2).
        momentum, dampening, nesterov, weight_decay, maximize: as above; ``maximize``
            ascends instead of descending.

    Example::

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()    # dL/dw = 2w
        >>> opt.step()                  # w - 0.1 * 2w
        >>> w
        tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, w, g, state, group, tmp) -> None:
        lr, momentum = group["lr"], group["momentum"]
        dampening, wd = group["dampening"], group["weight_decay"]
        if wd:
            g = np.add(g, np.multiply(w, wd, out=tmp), out=tmp)
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= momentum
                buf += g if dampening == 0 else (1.0 - dampening) * g
            if group["nesterov"]:
                g = np.add(g, momentum * buf, out=tmp)
            else:
                g = buf
        w -= np.multiply(g, lr, out=tmp)
