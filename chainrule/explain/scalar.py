"""Safe arithmetic on Python floats for the expression language's constants.

Each operation checks its domain before computing, and the size of its result (a power's
before computing it), so that ``1/0``, ``log(-1)``, ``(-8)**(1/3)`` or ``9**387420489``
raise a clear :class:`~chainrule.explain.errors.ExprError` instead of
``ZeroDivisionError``, a complex number, or minutes of big-integer arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.explain.errors import ExprDomainError, ExprError
from chainrule.explain.nodes import Call, Const, Name, Neg, Node, Num, format_number
from chainrule.ops import expression_functions
from chainrule.ops.notation import evaluate_formula

__all__ = ["scalar_binop", "scalar_call", "check_constants"]

#: Largest magnitude a constant may have.
MAX_MAGNITUDE = 1e300


def scalar_call(func: str, v: float, *more: float) -> float:
    """``func(v, *more)`` for a function of the language, with its domain checked: the
    primitive's own forward in float64, refused outside its declared ``domain`` and when
    the result is over ``MAX_MAGNITUDE``."""
    prim = expression_functions()[func]
    if not all(map(math.isfinite, (v, *more))):
        raise ExprError(f"{func} of a non-finite number")
    arg = ", ".join(map(format_number, (v, *more)))
    domain = prim.domain
    with np.errstate(all="ignore"):
        result = float(prim.forward(np.float64(v), *map(np.float64, more)))
    if domain is not None and not evaluate_formula(domain, {"x": v}):
        if result == -math.inf:  # log(0): the edge of the domain
            raise ExprDomainError(
                f"{func}({arg}) is minus infinity; {func} is defined for {domain}")
        raise ExprDomainError(f"{func}({arg}) is undefined: {func} is defined for {domain}")
    if not math.isfinite(result) or abs(result) > MAX_MAGNITUDE:
        raise ExprError(f"{func}({arg}) is too large (over 1e300)")
    return result


def scalar_binop(op: str, a: float, b: float) -> float:
    """``a op b`` for ``op`` in ``+ - * / **``, refusing division by zero, complex powers
    and results over ``MAX_MAGNITUDE``, with the size of a power judged before computing it.
    """
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise ExprDomainError(f"division by zero: {format_number(a)}/0")
        return a / b
    if op != "**":
        raise ValueError(f"unknown operator {op!r}")
    if a == 0:
        if b < 0:
            raise ExprDomainError(f"0**{format_number(b)}: zero to a negative power")
        return 1.0 if b == 0 else 0.0
    if a < 0 and b != int(b):
        raise ExprDomainError(
            f"({format_number(a)})**{format_number(b)} is not a real number "
            "(a negative number to a non-integer power)"
        )
    # log10 |a**b| = b * log10 |a|, known without computing a**b.
    magnitude = b * math.log10(abs(a))
    if magnitude > 300:
        raise ExprError(
            f"{format_number(a)}**{format_number(b)} is too large (about 10^{magnitude:.4g})"
        )
    if magnitude < -300:
        return 0.0
    return float(math.pow(a, b))


def check_constants(trees, source: str | None, exponent_limit: float) -> None:
    """Refuse constants that would blow up, *before* anything computes them.

    Every constant sub-expression of ``trees`` is computed in floats with its size checked
    first (``9**9**9**9`` is refused at ``9**387420489``); a constant exponent, even over a
    quantity, must be at most ``exponent_limit`` in size (``(x + 1)**100000`` is refused,
    as SymPy could spend minutes on it).
    """

    def err(node: Node, message: str, cls=ExprError) -> ExprError:
        return cls(message, source=source, line=node.line or None, col=node.col or None)

    def checked(compute, node: Node) -> float:
        try:
            result = compute()
        except ExprError as e:
            raise err(node, e.message, type(e)) from None
        if not math.isfinite(result) or abs(result) > MAX_MAGNITUDE:
            raise err(node, f"the constant {node} is too large (over 1e300)")
        return result

    def value(node: Node) -> float | None:
        # Recursion is bounded: parse() refuses trees deeper than its depth limit.
        if isinstance(node, (Num, Const)):
            return node.value
        if isinstance(node, Name):
            return None
        if isinstance(node, Neg):
            v = value(node.operand)
            return None if v is None else -v
        if isinstance(node, Call):
            vs = [value(a) for a in node.args]
            if any(v is None for v in vs):
                return None
            return checked(lambda: scalar_call(node.func, *vs), node)
        a, b = value(node.left), value(node.right)
        if node.op == "**" and b is not None and abs(b) > exponent_limit:
            raise err(node.right, f"exponent {b:.6g} is too large (at most {exponent_limit:g})")
        if a is None or b is None:
            return None
        return checked(lambda: scalar_binop(node.op, a, b), node)

    for tree in trees:
        value(tree)
