"""Gradient descent, shown: what the derivative is for.

After ``dL/dw`` comes the step every learning algorithm takes, ``w ← w − η·dL/dw``: each
input moves against its derivative by the learning rate ``η``, and the output (the loss)
goes down when ``η`` is small enough.  :meth:`Explanation.descend
<chainrule.explain.explanation.Explanation.descend>` takes such steps from the explained
point, every number from chainrule's engine, and shows them:

>>> import chainrule as cr
>>> e = cr.explain("L = (y - sigmoid(w*x+b))^2", wrt="w", w=0.5, x=1.5, b=0.1, y=1)
>>> d = e.descend(0.5)
>>> round(d.steps[0].after["w"], 9), round(d.steps[0].loss_after, 11)
(0.594219313, 0.07325123912)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Descent", "DescentStep", "check_descent", "MAX_STEPS"]

#: At most this many steps are taken (and shown) at once.
MAX_STEPS = 1000


def check_descent(lr, steps) -> tuple[float, int]:
    """``(lr, steps)`` checked: ``lr`` a positive finite number, ``steps`` a whole number
    from 1 to :data:`MAX_STEPS`; else ``ValueError`` saying which and why."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise ValueError(
                f"the learning rate must be a positive finite number, got {lr!r}"
            ) from None
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive finite number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    return float(lr), steps


@dataclass
class DescentStep:
    """One step ``w ← w − η·dL/dw`` for every input ``w`` differentiated by: the values
    ``before``, the derivatives ``gradient`` there, the values ``after``, and the output
    at both points."""

    index: int
    before: dict[str, float]
    gradient: dict[str, float]
    after: dict[str, float]
    loss_before: float
    loss_after: float

    def to_dict(self) -> dict:
        return {
            "step": self.index,
            "before": dict(self.before),
            "gradient": dict(self.gradient),
            "after": dict(self.after),
            "loss_before": self.loss_before,
            "loss_after": self.loss_after,
        }


@dataclass
class Descent:
    """Gradient-descent steps from the explained point (see :mod:`chainrule.explain.descend`)."""

    output: str
    lr: float
    wrt: tuple[str, ...]
    steps: list[DescentStep] = field(default_factory=list)

    @property
    def loss(self) -> list[float]:
        """The output before the first step and after each step."""
        return [self.steps[0].loss_before] + [s.loss_after for s in self.steps]

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "lr": self.lr,
            "wrt": list(self.wrt),
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_text(self) -> str:
        from chainrule.explain.render import _factor, _num

        L = self.output
        eta = _num(self.lr)
        out = [f"Gradient descent with learning rate η = {eta}:"]
        for s in self.steps:
            rows = []
            for name in self.wrt:
                d = "d" if len(self.wrt) == 1 else "∂"
                rows.append(
                    (
                        f"{name} ← {name} − η·{d}{L}/{d}{name}",
                        f"{_num(s.before[name])} − {eta}·{_factor(s.gradient[name])}"
                        f" = {_num(s.after[name])}",
                    )
                )
            width = max(len(a) for a, _ in rows)
            head = f"  step {s.index}: " if len(self.steps) > 1 else "  "
            pad = " " * len(head)
            for i, (a, b) in enumerate(rows):
                out.append(f"{head if i == 0 else pad}{a.ljust(width)} = {b}")
            change = "down" if s.loss_after < s.loss_before else "up"
            out.append(f"{pad}{L}: {_num(s.loss_before)} → {_num(s.loss_after)} ({change})")
        if len(self.steps) > 1:
            out.append(f"  {L} after {len(self.steps)} steps: {_num(self.steps[-1].loss_after)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def descend(evaluate, output: str, wrt, point: dict, lr, steps: int = 1) -> Descent:
    """Take ``steps`` steps of size ``lr`` from ``point``; ``evaluate(point)`` gives the
    output and ``{name: derivative}`` at a point."""
    lr, steps = check_descent(lr, steps)
    here = dict(point)
    loss, grads = evaluate(here)
    result = Descent(output, lr, tuple(wrt))
    for i in range(1, steps + 1):
        before = {n: float(here[n]) for n in wrt}
        gradient = {n: float(grads[n]) for n in wrt}
        after = {n: before[n] - lr * gradient[n] for n in wrt}
        here.update(after)
        new_loss, grads = evaluate(here)
        result.steps.append(DescentStep(i, before, gradient, after, float(loss), float(new_loss)))
        loss = new_loss
        if not math.isfinite(loss):
            break  # diverged: the steps so far say so
    return result
