"""Derivatives of any order of an expression: the formula from SymPy, the number from the
engine (differentiating its own backward pass, ``create_graph=True``), compared.

>>> r = differentiate("x**2*sin(x)", "x", order=2, point={"x": 0.0})
>>> r.formula, r.value
('-x**2*sin(x) + 4*x*cos(x) + 2*sin(x)', 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from chainrule.explain.errors import ExprError
from chainrule.explain.expr import Program, parse
from chainrule.explain.pretty import pretty

__all__ = ["differentiate", "Derivative", "MAX_ORDER"]

#: Highest order accepted.  Formulas and the engine's nested backward passes both grow
#: about five-fold per order (order 8 of a small expression takes about a second).
MAX_ORDER = 8


@dataclass
class Derivative:
    """``d^order f / d wrt^order``: formula (text and LaTeX), and at the point (if one was
    given) the engine's value and the formula's value."""

    function: str
    wrt: str
    order: int
    formula: str | None
    latex: str | None
    point: dict | None = None
    value: float | None = None
    symbolic_value: float | None = None
    #: What the formula could not give (budget run out, not evaluable at the point).
    notes: list = field(default_factory=list)
    #: The formula in textbook notation (``−x²·sin(x) + 4·x·cos(x)``), as the CLI prints it.
    pretty: str | None = None

    @property
    def agrees(self) -> bool:
        """Whether the engine's value and the formula's value at the point agree (relative
        tolerance 1e-7, absolute 1e-9). True when there is nothing to compare (no point, or no
        formula value) and when either is not finite (such a value is not checked).
        """
        if self.value is None or self.symbolic_value is None:
            return True
        a, s = self.value, self.symbolic_value
        if math.isfinite(a) and math.isfinite(s):
            return math.isclose(a, s, rel_tol=1e-7, abs_tol=1e-9)
        # Not finite: not differentiable here, or only in a limit that the simplified formula
        # takes and the chain rule's product (inf · 0 = nan) does not; as cr.explain, such a
        # value is not checked (see ``unchecked``).
        return True

    @property
    def checked(self) -> bool:
        """Whether the formula was compared with the engine at the point."""
        return (
            self.formula is not None
            and self.value is not None
            and self.symbolic_value is not None
            and not self.unchecked
        )

    @property
    def unchecked(self) -> bool:
        """Whether the engine and the formula give different non-finite values at the point
        (sqrt(x**2) at 0: the chain rule's inf · 0 = nan, the formula's sign(x) = 0)."""
        if self.value is None or self.symbolic_value is None:
            return False
        a, s = self.value, self.symbolic_value
        if math.isfinite(a) and math.isfinite(s):
            return False
        return not (a == s or (math.isnan(a) and math.isnan(s)))

    @property
    def label(self) -> str:
        """The derivative's name, ``df/dx`` (``d^2f/dx^2`` for the second order, and so on)."""
        if self.order == 1:
            return f"d{self.function}/d{self.wrt}"
        return f"d^{self.order}{self.function}/d{self.wrt}^{self.order}"


def choose_input(program: Program, wrt: str | None, purpose: str) -> str:
    """The input ``wrt`` names, checked; the only input when ``wrt`` is None. ``purpose``
    completes "say which input to ..." in the error for several inputs."""
    if wrt is None:
        if len(program.inputs) != 1:
            raise ExprError(
                f"say which input to {purpose} (--wrt); the inputs are "
                + (", ".join(program.inputs) or "none")
            )
        return program.inputs[0]
    if wrt not in program.inputs:
        raise ExprError(f"'{wrt}' is not an input (inputs: {', '.join(program.inputs) or 'none'})")
    return wrt


def differentiate(
    expr,
    wrt: str | None = None,
    order: int = 1,
    point: dict | None = None,
    symbolic_budget: float | None = None,
):
    """The ``order``-th derivative of the expression ``expr`` (text or :class:`Program`)
    with respect to the input ``wrt``, simplified; with ``point``, also its value there.

    ``symbolic_budget``: seconds of CPU time SymPy may spend (default
    :data:`chainrule.explain.budget.DEFAULT_SECONDS`).  A formula not simplified in time
    is given as differentiated; one not even derived in time is None; ``notes`` says so.
    The value at the point is always the engine's.
    """
    from chainrule.explain.budget import Budget
    from chainrule.explain.symbolic import _simplify, require_sympy, symbol, without_derivatives

    sp = require_sympy()
    program = expr if isinstance(expr, Program) else parse(expr)
    wrt = choose_input(program, wrt, "differentiate by")
    if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ExprError(f"the order must be a whole number from 1 to {MAX_ORDER}, got {order!r}")
    budget = Budget(symbolic_budget)
    full = program.to_sympy(expand=True, textbook=True)[program.output]
    d = budget.run(
        lambda: without_derivatives(sp.diff(full, symbol(wrt), order)), default=_CUT, essential=True
    )
    notes, seconds = [], f"{budget.seconds:g} s"
    if d is not None and d is not _CUT:
        # the explainer's simplification, taking any saving, on formulas up to 60 operations
        simpler = budget.run(lambda: _simplify(sp, d, most_ops=60, saving=1), default=_CUT)
        if simpler is _CUT:
            notes.append(
                f"Simplifying took longer than the symbolic budget ({seconds}); the formula is "
                "shown as differentiated, not simplified."
            )
        else:
            d = simpler
    text = (None, None, None)
    if d is not None and d is not _CUT:
        text = budget.run(
            lambda: (sp.sstr(d, full_prec=False), sp.latex(d, full_prec=False), pretty(d)),
            default=(None, None, None),
            essential=True,
        )
    if text[0] is None:
        notes.append(
            "No formula: SymPy cannot differentiate this expression in closed form."
            if d is None
            else f"No formula: deriving it took longer than the symbolic budget ({seconds})."
        )
    result = Derivative(program.output, wrt, order, *text[:2], notes=notes, pretty=text[2])
    if point is not None:
        result.point = dict(point)
        # A derivative that is infinite at the point (sqrt at 0) is shown as inf; NumPy's
        # divide-by-zero warning would only repeat it (as cr.explain).
        with np.errstate(all="ignore"):
            result.value = _engine_value(program, wrt, order, point)
        if text[0] is not None:
            from chainrule.explain.symbolic import _at_point

            subs = {symbol(k): float(v) for k, v in point.items()}
            result.symbolic_value = budget.run(
                lambda: _at_point(sp, d, subs), default=None, essential=True
            )
            if result.symbolic_value is None and math.isfinite(result.value):
                notes.append(
                    "The formula gives no real number at this point (or was not evaluated "
                    "within the symbolic budget), so it is not checked; the value is the "
                    "engine's."
                )
            elif result.symbolic_value is None:
                notes.append(
                    "Not finite at this point: the function is not differentiable here (or "
                    "only in a limit); this value is not checked."
                )
        else:
            notes.append("The value is the engine's, not checked against a formula.")
    return result


_CUT = object()  # a step the symbolic budget cut short


def _engine_value(program: Program, wrt: str, order: int, point: dict) -> float:
    """The derivative at the point from the engine: each order differentiates the recorded
    backward pass of the one before."""
    from chainrule.autodiff.backward import grad as engine_grad
    from chainrule.explain.evaluate import chainrule_functions
    from chainrule.tensor import Tensor

    leaves = {}
    for name in program.inputs:
        if name not in point:
            program.evaluate(point)  # raises the error that names the missing value
        leaf = Tensor(np.asarray(float(point[name]), dtype=np.float64))
        leaf.requires_grad = True
        leaves[name] = leaf
    extra = set(point) - set(program.inputs)
    if extra:
        program.evaluate(point)  # raises the error that names the unknown name
    y = program.evaluate(leaves, chainrule_functions())[program.output]
    x = leaves[wrt]
    for _ in range(order):
        if not isinstance(y, Tensor) or not y.requires_grad:
            return 0.0
        (y,) = engine_grad(y, [x], create_graph=True)
        if y is None:
            return 0.0
    return float(np.asarray(y.data if isinstance(y, Tensor) else y).reshape(()))
