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

import html
import math
from dataclasses import dataclass, field

import numpy as np

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


def _value(v):
    """A number as a float, an array as a copy (a parameter's values at one step)."""
    arr = np.array(v, dtype=np.float64 if np.asarray(v).dtype.kind in "biu" else None)
    return float(arr.reshape(())) if arr.ndim == 0 else arr


def _norm(v) -> float:
    return float(np.linalg.norm(np.ravel(v)))


def _summary(v):
    """JSON for one value: the number, or an array's shape and norm (and its values when it
    has at most 12: a network's weights are summarised, not dumped)."""
    if np.ndim(v) == 0:
        return float(v)
    out = {"shape": list(np.shape(v)), "norm": _norm(v)}
    if np.size(v) <= 12:
        out["values"] = np.asarray(v).tolist()
    return out


@dataclass
class DescentStep:
    """One step ``w ← w − η·dL/dw`` for every input ``w`` differentiated by: the values
    ``before``, the derivatives ``gradient`` there, the values ``after`` (numbers, or a
    network's parameter arrays), and the output at both points."""

    index: int
    before: dict[str, object]
    gradient: dict[str, object]
    after: dict[str, object]
    loss_before: float
    loss_after: float

    def to_dict(self) -> dict:
        return {
            "step": self.index,
            "before": {k: _summary(v) for k, v in self.before.items()},
            "gradient": {k: _summary(v) for k, v in self.gradient.items()},
            "after": {k: _summary(v) for k, v in self.after.items()},
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

    def _d(self) -> str:
        scalar = all(np.ndim(v) == 0 for v in self.steps[0].before.values()) if self.steps else True
        return "d" if len(self.wrt) == 1 and scalar else "∂"

    def _numbers(self, s: DescentStep, name: str) -> str:
        """The step's numbers: ``0.5 − 0.5·(−0.19) = 0.59``, or for an array its norms,
        ``‖W1‖ 1.23 → 1.25, ‖∂L/∂W1‖ = 0.04 (4×3)``."""
        from chainrule.explain.render import _factor, _num

        before, g, after = s.before[name], s.gradient[name], s.after[name]
        if np.ndim(before) == 0:
            return f"{_num(before)} − {_num(self.lr)}·{_factor(g)} = {_num(after)}"
        d = self._d()
        shape = "×".join(map(str, np.shape(before)))
        return (f"‖{name}‖ {_num(_norm(before))} → {_num(_norm(after))}, "
                f"‖{d}{self.output}/{d}{name}‖ = {_num(_norm(g))} ({shape})")

    def _rows(self, s: DescentStep) -> list[tuple[str, str]]:
        d, L = self._d(), self.output
        return [(f"{name} ← {name} − η·{d}{L}/{d}{name}", self._numbers(s, name))
                for name in self.wrt]

    def to_text(self) -> str:
        from chainrule.explain.render import _num

        L = self.output
        eta = _num(self.lr)
        out = [f"Gradient descent with learning rate η = {eta}:"]
        for s in self.steps:
            rows = self._rows(s)
            width = max(len(a) for a, _ in rows)
            head = f"  step {s.index}: " if len(self.steps) > 1 else "  "
            pad = " " * len(head)
            for i, (a, b) in enumerate(rows):
                sep = ": " if b.startswith("‖") else " = "
                out.append(f"{head if i == 0 else pad}{a.ljust(width)}{sep}{b}")
            change = "down" if s.loss_after < s.loss_before else "up"
            out.append(f"{pad}{L}: {_num(s.loss_before)} → {_num(s.loss_after)} ({change})")
        if len(self.steps) > 1:
            out.append(f"  {L} after {len(self.steps)} steps: {_num(self.steps[-1].loss_after)}")
        return "\n".join(out)

    def to_json(self, indent: int | None = 2) -> str:
        """The steps as JSON: each with the values before and after, the gradient, and the
        loss before and after (an array as its shape and norm)."""
        from chainrule.explain.render import to_json_text

        return to_json_text(self.to_dict(), indent)

    def to_markdown(self) -> str:
        """The steps as a Markdown table (each update and the loss before → after)."""
        from chainrule.explain.render import _num

        out = [f"**Gradient descent** with learning rate $\\eta = {_num(self.lr)}$", "",
               "| step | update | numbers | " + self.output + " |", "|---|---|---|---|"]
        for s in self.steps:
            loss = f"{_num(s.loss_before)} → {_num(s.loss_after)}"
            for i, (update, numbers) in enumerate(self._rows(s)):
                out.append(f"| {s.index if i == 0 else ''} | {update} | {numbers} | "
                           f"{loss if i == 0 else ''} |")
        return "\n".join(out)

    def to_latex(self) -> str:
        """The steps as a LaTeX ``align*`` block: ``w_{1} = w_{0} − η·∂L/∂w = ...``."""
        from chainrule.explain.render import _latex_number, _sym

        L, d = _sym(self.output), self._d()
        frac = (lambda n: rf"\frac{{d {L}}}{{d {_sym(n)}}}") if d == "d" else (
            lambda n: rf"\frac{{\partial {L}}}{{\partial {_sym(n)}}}")
        lines = []
        for s in self.steps:
            for name in self.wrt:
                before, g, after = s.before[name], s.gradient[name], s.after[name]
                if np.ndim(before) == 0:
                    numbers = (f"{_latex_number(before)} - {_latex_number(self.lr)} \\cdot "
                               f"({_latex_number(g)}) = {_latex_number(after)}")
                else:
                    numbers = (rf"\lVert {_sym(name)} \rVert: {_latex_number(_norm(before))} "
                               rf"\to {_latex_number(_norm(after))}")
                lines.append(rf"{_sym(name)} &\leftarrow {_sym(name)} - \eta\, {frac(name)}"
                             rf" = {numbers} \\")
            lines.append(rf"{L} &: {_latex_number(s.loss_before)} \to "
                         rf"{_latex_number(s.loss_after)} \\")
        lines[-1] = lines[-1].removesuffix(" \\\\")
        return ("% gradient descent, eta = " + f"{self.lr:g}\n\\begin{{align*}}\n"
                + "\n".join(lines) + "\n\\end{align*}")

    def to_html(self) -> str:
        """The steps as an HTML section (a table), for a page or a notebook."""
        from chainrule.explain.render import _num

        rows = []
        for s in self.steps:
            loss = f"{_num(s.loss_before)} → {_num(s.loss_after)}"
            for i, (update, numbers) in enumerate(self._rows(s)):
                cells = [str(s.index) if i == 0 else "", update, numbers, loss if i == 0 else ""]
                rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                            + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("step", "update", "numbers",
                                                  html.escape(self.output)))
        return (f'<section class="crx crx-descent"><h2>Gradient descent, learning rate '
                f"η = {html.escape(_num(self.lr))}</h2>\n<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></section>")

    def __str__(self) -> str:
        return self.to_text()


def descend(evaluate, output: str, wrt, point: dict, lr, steps: int = 1) -> Descent:
    """Take ``steps`` steps of size ``lr`` from ``point``; ``evaluate(point)`` gives the
    output and ``{name: derivative}`` at a point (numbers, or a network's arrays)."""
    lr, steps = check_descent(lr, steps)
    here = dict(point)
    loss, grads = evaluate(here)
    result = Descent(output, lr, tuple(wrt))
    for i in range(1, steps + 1):
        before = {n: _value(here[n]) for n in wrt}
        gradient = {n: _value(grads[n]) for n in wrt}
        after = {n: before[n] - lr * gradient[n] for n in wrt}
        here.update(after)
        new_loss, grads = evaluate(here)
        result.steps.append(DescentStep(i, before, gradient, after, float(loss), float(new_loss)))
        loss = new_loss
        if not math.isfinite(loss):
            break  # diverged: the steps so far say so
    return result
