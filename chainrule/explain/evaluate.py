"""Evaluation of expression trees over a namespace of functions.

The same tree is evaluated with NumPy's functions (:func:`numpy_functions`) or with
chainrule's differentiable ones (:func:`chainrule_functions`, so the engine records the
graph and can differentiate it).  The operators ``+ - * / **`` are applied to the values
themselves, so arrays and Tensors work alike.  Constant parts are computed on Python
floats with checked domains (:mod:`chainrule.explain.scalar`).

A value that is finite going in and infinite or NaN coming out (``log(-1)``, ``1/0``)
raises :class:`~chainrule.explain.errors.ExprDomainError` that names the operation and
where it is in the text, unless ``check_domain=False``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

import numpy as np

from chainrule.explain.errors import ExprDomainError, ExprError
from chainrule.explain.nodes import BinOp, Call, Const, Name, Neg, Node, Num, format_number, walk
from chainrule.explain.scalar import scalar_binop, scalar_call
from chainrule.ops import expression_functions

__all__ = [
    "evaluate",
    "evaluate_program",
    "constant_value",
    "numpy_functions",
    "chainrule_functions",
]

_OPS: dict[str, Callable] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def numpy_functions() -> dict[str, Callable]:
    """The language's functions on NumPy arrays: each primitive's own forward (``sigmoid``
    written stably there, once)."""
    return {name: p.forward for name, p in expression_functions().items()}


def chainrule_functions() -> dict[str, Callable]:
    """The language's functions as chainrule's differentiable functions (``cr.exp``...)."""
    return {name: p.function for name, p in expression_functions().items()}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _first_bad(args: list, result) -> tuple | None:
    """Element values of ``args`` where all are finite but ``result`` is not, else None."""
    try:
        res = np.asarray(result, dtype=np.float64)
        ins = [np.asarray(a, dtype=np.float64) for a in args]
        shape = np.broadcast_shapes(res.shape, *(a.shape for a in ins))
    except (TypeError, ValueError):
        return None  # values the check cannot read (objects, symbols): nothing to say
    bad = ~np.isfinite(np.broadcast_to(res, shape))
    for a in ins:
        bad &= np.isfinite(np.broadcast_to(a, shape))
    if not bad.any():
        return None
    index = np.unravel_index(int(np.argmax(bad)), shape)
    return tuple(float(np.broadcast_to(a, shape)[index]) for a in ins)


def _error_at(node: Node, source: str | None, message: str, cls=ExprDomainError) -> ExprError:
    return cls(message, source=source, line=node.line or None, col=node.col or None)


def _explain_bad(node: Node, elems: tuple, source: str | None) -> ExprError:
    # Recompute the offending element with the checked scalar version for its message.
    try:
        if isinstance(node, Call):
            scalar_call(node.func, *elems)
            what = f"{node.func}({', '.join(map(format_number, elems))})"
        else:
            scalar_binop(node.op, *elems)
            what = f"{format_number(elems[0])} {node.op} {format_number(elems[1])}"
        message = f"{what} is not finite in this precision (overflow)"
    except ExprError as err:
        message = err.message
    return _error_at(node, source, message)


def evaluate(
    node: Node,
    values: Mapping,
    functions: Mapping[str, Callable] | None = None,
    *,
    check_domain: bool = True,
    source: str | None = None,
):
    """The value of ``node`` with names bound by ``values`` and functions by ``functions``.

    >>> from chainrule.explain.expr import parse
    >>> prog = parse("x**2*sin(x)")
    >>> round(float(evaluate(prog.definitions["f"].expr, {"x": 2.0})), 6)  # 4 sin 2
    3.63719
    """
    fns = numpy_functions() if functions is None else functions

    def ev(n: Node):
        # Recursion is bounded: parse() refuses trees deeper than LIMITS["depth"].
        if isinstance(n, (Num, Const)):
            return n.value
        if isinstance(n, Name):
            try:
                return values[n.id]
            except KeyError:
                raise _error_at(n, source, f"no value for '{n.id}'", ExprError) from None
        if isinstance(n, Neg):
            return -ev(n.operand)
        if isinstance(n, Call):
            args = [ev(a) for a in n.args]
            if all(map(_is_number, args)):
                return _checked(n, lambda: scalar_call(n.func, *map(float, args)))
            with np.errstate(all="ignore"):
                result = fns[n.func](*args)
        else:
            assert isinstance(n, BinOp)
            a, b = ev(n.left), ev(n.right)
            if _is_number(a) and _is_number(b):
                return _checked(n, lambda: scalar_binop(n.op, float(a), float(b)))
            with np.errstate(all="ignore"):
                result = _OPS[n.op](a, b)
            args = [a, b]
        if check_domain:
            elems = _first_bad(args, result)
            if elems is not None:
                raise _explain_bad(n, elems, source)
        return result

    def _checked(n: Node, compute):
        try:
            return compute()
        except ExprError as err:
            # At a point, anything a value cannot be is the point's fault: a domain error.
            raise _error_at(n, source, err.message) from None

    return ev(node)


def constant_value(node: Node, program=None) -> float | None:
    """The value of a tree without names, or ``None`` if it uses names."""
    if any(isinstance(n, Name) for n in walk(node)):
        return None
    return float(evaluate(node, {}, source=getattr(program, "source", None)))


def evaluate_program(
    program, point: Mapping, functions=None, *, strict: bool = True, bind=None
) -> dict:
    """Values of the inputs (from ``point``) and of every definition, in dependency order.

    ``bind(name, value, values)``, if given, sees each defined value as it is computed and
    returns what to store (the explainer names each quantity in the engine's graph).
    """
    for name in point:
        if name in program.definitions:
            d = program.definitions[name]
            raise program.error(
                ExprError, f"'{name}' is defined by the expression; it cannot be given a value", d
            )
        if strict and name not in program.inputs:
            inputs = ", ".join(program.inputs) or "none"
            raise ExprError(f"'{name}' is not a name in the expression (its inputs: {inputs})")
    for name in program.inputs:
        if name not in point:
            first = next(
                n
                for d in program.definitions.values()
                for n in walk(d.expr)
                if isinstance(n, Name) and n.id == name
            )
            raise program.error(
                ExprError, f"no value for '{name}' at the point: give one, as in {name}=1", first
            )
    values = {name: point[name] for name in program.inputs}
    for name, d in program.definitions.items():
        try:
            value = evaluate(d.expr, values, functions, source=program.source)
        except ExprDomainError as err:
            what = "the expression" if d.implicit else f"the definition of '{name}'"
            raise type(err)(
                f"{err.message}, in {what}", source=err.source, line=err.line, col=err.col
            ) from None
        values[name] = value if bind is None else bind(name, value, values)
    return values
