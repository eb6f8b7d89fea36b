"""Learning-rate schedules: ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``.

As in PyTorch, a scheduler is built over an optimizer, remembers each group's starting
learning rate as ``group["initial_lr"]``, and sets ``group["lr"]`` on every :meth:`step`
(call it once per epoch, after the optimizer's steps). The update is the recursive form
PyTorch uses, so a learning rate changed by hand between steps carries on from its new value.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: subclasses give :meth:`get_lr`, the new learning rate of each group."""

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__} needs an optimizer, got {type(optimizer)}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param group {i} has no 'initial_lr'; resuming "
                        "with last_epoch >= 0 needs a scheduler that ran on this optimizer"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The constructor's step is PyTorch's "initial mode": schedules that scale the current
        # rate leave it as it is, so resuming with last_epoch >= 0 (rates loaded from a
        # checkpoint) does not move them one epoch ahead of themselves.
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of each parameter group for the current ``last_epoch``, one per
        group: what :meth:`step` sets. Each subclass gives its formula; the base class has none
        and raises ``NotImplementedError``.
        """
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (which has its own state dict)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state returned by :meth:`state_dict` (the epoch count, base rates and
        settings).
        """
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr_e = initial_lr * gamma ** (e // step_size)``."""

    def __init__(
        self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate times ``gamma`` when ``last_epoch`` is a positive multiple of
        ``step_size``, else unchanged.
        """
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr_e = initial_lr * gamma**e``."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate times ``gamma`` (unchanged at the first epoch): lr_e = initial_lr ·
        gammaᵉ.
        """
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing (SGDR without restarts, Loshchilov & Hutter 2017):

    ``lr_e = eta_min + (initial_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2``,

    reaching ``eta_min`` at ``e = T_max`` and climbing back after (a period of ``2 T_max``).
    Computed recursively from the current learning rate, as PyTorch does.
    """

    def __init__(
        self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate one epoch further along the cosine, computed recursively from the
        current rate (as PyTorch): lr_e = eta_min + (lr_{e−1} − eta_min) ·
        (1 + cos(π e / T_max)) / (1 + cos(π (e − 1) / T_max)); where that ratio would be 0/0
        (e − 1 − T_max a multiple of 2 T_max), lr_e = lr_{e−1} + (initial_lr − eta_min) ·
        (1 − cos(π / T_max)) / 2.
        """
        groups = self.optimizer.param_groups
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [g["lr"] for g in groups]
        if (e - 1 - T) % (2 * T) == 0:  # at the bottom, where the ratio below is 0/0
            return [
                g["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base, g in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (g["lr"] - eta_min) + eta_min for g in groups]
