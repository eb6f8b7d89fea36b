"""SymPy expressions built from the expression tree (never from user text).

Each node becomes the SymPy object it denotes: names become real ``sympy.Symbol``\\ s,
``sigmoid(x)`` becomes ``1/(1 + exp(-x))`` and ``relu(x)`` becomes ``Max(0, x)``.
Integral numbers become ``sympy.Integer`` (so ``d/dt t**2 = 2*t``, not ``2.0*t**1.0``) and
other numbers ``sympy.Float`` (so ``0.5*9.8*t**2`` stays readable as ``4.9*t**2``).

>>> from chainrule.explain.expr import parse
>>> exprs = parse("P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2").to_sympy()
>>> exprs["P"]
101325*exp(-0.0001*h)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from chainrule.explain.nodes import BinOp, Call, Const, Name, Neg, Node, Num
from chainrule.ops import expression_functions

__all__ = [
    "to_sympy",
    "symbol",
    "number",
    "program_to_sympy",
    "require_sympy",
    "have_sympy",
    "without_derivatives",
]


def have_sympy() -> bool:
    """Whether SymPy can be imported (formulas need it; numbers do not)."""
    try:
        require_sympy()
    except ImportError:
        return False
    return True


def require_sympy():
    try:
        import sympy
    except ImportError as err:  # pragma: no cover - sympy is in the 'explain' extra
        raise ImportError(
            'formulas need SymPy: pip install -e ".[explain]" in chainrule\'s clone '
            "(or pip install sympy)"
        ) from err
    return sympy


def _functions(sp, textbook: bool = False) -> dict:
    """The language's functions on SymPy objects: each primitive's declared SymPy form, or
    with ``textbook`` the functions a textbook names (``σ``, ``softplus``, ``max`` ...:
    :mod:`chainrule.explain.textbook`), whose derivatives print as a textbook's."""
    fns = {name: functools.partial(p.symbolic, sp) for name, p in expression_functions().items()}
    if textbook:
        from chainrule.explain.textbook import functions

        fns.update(functions(sp))
    return fns


def symbol(name: str):
    """The SymPy symbol used for a quantity: real, so ``d|x|/dx = sign(x)``."""
    return require_sympy().Symbol(name, real=True)


def number(value: float):
    """``sympy.Integer`` for integral values, ``sympy.Float`` otherwise."""
    sp = require_sympy()
    if value == int(value) and abs(value) < 1e15:
        return sp.Integer(int(value))
    return sp.Float(value)


def to_sympy(node: Node, symbols: Mapping | None = None, textbook: bool = False):
    """The SymPy expression of ``node``; names are looked up in ``symbols`` (a mapping
    from name to SymPy expression), or become real symbols if absent.  With ``textbook``,
    ``sigmoid softplus gelu leaky_relu max min`` are SymPy functions of those names whose
    derivatives read as a textbook's (same values)."""
    sp = require_sympy()
    fns = _functions(sp, textbook)
    symbols = {} if symbols is None else symbols

    def conv(n: Node):
        # Recursion is bounded: parse() refuses trees deeper than LIMITS["depth"].
        if isinstance(n, Num):
            return number(n.value)
        if isinstance(n, Const):
            return sp.pi if n.name == "pi" else sp.E
        if isinstance(n, Name):
            return symbols[n.id] if n.id in symbols else symbol(n.id)
        if isinstance(n, Neg):
            return -conv(n.operand)
        if isinstance(n, Call):
            return fns[n.func](*(conv(a) for a in n.args))
        assert isinstance(n, BinOp)
        a, b = conv(n.left), conv(n.right)
        if n.op == "+":
            return a + b
        if n.op == "-":
            return a - b
        if n.op == "*":
            return a * b
        if n.op == "/":
            return a / b
        return a**b

    return conv(node)


def program_to_sympy(program, expand: bool = False, textbook: bool = False) -> dict:
    """``{name: expression}`` for every definition of ``program``: in terms of the names
    it uses, or (``expand=True``) with every defined name substituted, down to the inputs;
    ``textbook`` as for :func:`to_sympy`."""
    out: dict = {}
    for name, d in program.definitions.items():
        out[name] = to_sympy(d.expr, out if expand else None, textbook)
    return out


def without_derivatives(expr):
    """``expr`` with the derivatives SymPy leaves unevaluated worked out, or None if any
    remain (an unevaluated ``Derivative`` is never shown as a result).

    SymPy differentiates ``sign(u)`` only when it can tell that ``u`` is real: elsewhere
    ``d sign(u)/dx = 2·δ(u)·du/dx`` is applied here, SymPy's own rule for real ``u``
    (``δ(u) = 0`` wherever ``u ≠ 0``, where the engine's ``sign'`` is 0 too).
    """
    sp = require_sympy()
    if expr is None or not expr.has(sp.Derivative):
        return expr

    def sign_rule(der):
        out = der.expr
        for v, n in der.variable_count:
            for _ in range(n):
                if isinstance(out, sp.sign):
                    u = out.args[0]
                    out = 2 * sp.DiracDelta(u) * sp.diff(u, v)
                else:
                    out = sp.diff(out, v)
        return out

    for _ in range(3):  # a rule's result may hold sign(...) to differentiate again
        expr = expr.replace(
            lambda e: isinstance(e, sp.Derivative) and isinstance(e.expr, sp.sign), sign_rule
        )
        if not expr.has(sp.Derivative):
            return expr
    return None


# ----- helpers of the explainer's formulas -------------------------------------------------


def _simplify(sp, expr, most_ops: int = 40, saving: int = 2):
    """The simpler of ``expr`` and ``simplify(expr)``: ``simplify``'s form only where it has
    at least ``saving`` operations fewer, so ties keep ``expr``, whose form follows the
    definition (``exp(-y)/(1 + exp(-y))**2``, not ``1/(4*cosh(y/2)**2)``).  An expression
    of more than ``most_ops`` operations is left as it is.

    The explainer's links take the defaults; ``differentiate``'s one formula is simplified
    up to 60 operations and takes a saving of one."""
    # simplify() can take long on big expressions; small ones are what people read.
    if sp.count_ops(expr) > most_ops or expr.has(sp.Piecewise):
        # (the cases of max/min's rule at a tie are as a textbook writes them already)
        return expr
    try:
        simpler = sp.simplify(expr)
    except Exception:  # noqa: BLE001 - the unsimplified derivative is still right
        return expr
    # A sign moved into a bracket (σ·(σ − 1) for −σ·(1 − σ)) saves one operation and
    # reads worse: by default only a real simplification (two operations or more) is taken.
    return simpler if sp.count_ops(simpler) <= sp.count_ops(expr) - saving else expr


def _at_point(sp, expr, subs: dict):
    """``expr`` at the point as a float, or None where SymPy cannot give a real number.

    ``Heaviside(0)`` is taken as 0, the convention of ``relu'(0)`` in the engine.
    """
    try:
        expr = expr.replace(sp.Heaviside, lambda *a: sp.Heaviside(a[0], 0))
        # Substituted as 30-digit Floats, then evaluated: evalf(subs=...) would evaluate
        # 1 - x**2 at x = -1 to a tiny non-zero number instead of 0.
        exact = {k: sp.Float(v, 30) for k, v in subs.items()}
        value = complex(expr.subs(exact).evalf(30))
    except Exception:  # noqa: BLE001 - nothing to check against
        return None
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)) or not math.isfinite(value.real):
        # Not a real number here (0*log(0), d/da a^a at 0): the derivative does not exist
        # at the point, and the engine's convention (PyTorch's, e.g. 0) cannot be checked.
        return None
    return value.real
