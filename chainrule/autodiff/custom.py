"""New differentiable functions with their own derivative rules: ``cr.primitive``.

Most functions need no rule: written with chainrule's functions they are differentiated
through. Declare a primitive when the composition is unstable (``log(1 + exp(x))``
overflows), slow, or not written with chainrule at all (SciPy, a C extension). You give

* the **forward**, plain NumPy on arrays: ``f(*arrays, **params) -> array``;
* a **VJP rule** (reverse mode): ``vjp(g, ans, *args, **params)`` returns ``dL/d(arg)`` for
  each positional argument (a tuple; a single value for a one-argument function), given
  ``g = dL/d(ans)``. ``None`` means zero.
* a **JVP rule** (forward mode): ``jvp(t, ans, *args, **params)`` returns the tangent of the
  output, ``sum_i J_i t_i``; ``t`` is the argument's tangent (a tuple of tangents, zeros
  where an argument has none, for several arguments).

Write the rules with chainrule's functions (``cr.exp``, ``cr.sigmoid``...), which accept
arrays and Tensors alike: then the rules are themselves differentiated, and the primitive
works at any order, in ``hessian``, ``hvp`` and ``check_grads``. A rule written with NumPy
gives right first derivatives but a zero second derivative.

Example, a stable ``log1pexp(x) = log(1 + e^x)`` with ``d/dx = sigmoid(x)``:

>>> @cr.primitive
... def log1pexp(x):
...     return np.logaddexp(0.0, x)
>>> @cr.defvjp(log1pexp)
... def _(g, ans, x):
...     return g * cr.sigmoid(x)
>>> @cr.defjvp(log1pexp)
... def _(t, ans, x):
...     return t * cr.sigmoid(x)
>>> cr.grad(log1pexp)(1000.0)       # no overflow
array(1.)
>>> cr.check_grads(log1pexp, (0.3,))  # both rules, to second order

Both rules can also be given at once: ``@cr.primitive(vjp=..., jvp=...)``. Several
per-argument rules, HIPS-autograd style, are accepted too: ``cr.defvjp(mul, vjp_x, vjp_y)``
with ``vjp_i(g, ans, *args)`` returning the cotangent of argument ``i`` alone (and
``cr.defjvp(mul, jvp_x, jvp_y)`` with ``jvp_i(t_i, ans, *args)`` one term of the sum).
Differentiating in a mode with no rule raises :class:`MissingRuleError` naming the
primitive and the missing rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff.errors import MissingRuleError, missing_rule
from chainrule.autodiff.namespace import namespace, recorded
from chainrule.autodiff.primitive import Primitive
from chainrule.autodiff.tensor_core import Tensor, make

__all__ = ["primitive", "defvjp", "defjvp", "CustomPrimitive", "MissingRuleError"]


class CustomPrimitive(Primitive):
    """A user-declared primitive; call it like the function it wraps.

    It is not added to ``cr.primitives`` (the built-in registry the test-suite walks), so any
    number of them, with any names, can coexist.
    """

    __slots__ = ("_user_vjp", "_user_jvp", "__wrapped__", "__dict__")

    def defvjp(self, *rules: Callable) -> Callable:
        """Set the VJP rule(s); usable as ``@prim.defvjp``. Returns the (first) rule."""
        return defvjp(self, *rules)

    def defjvp(self, *rules: Callable) -> Callable:
        """Set the JVP rule(s); usable as ``@prim.defjvp``. Returns the (first) rule."""
        return defjvp(self, *rules)


def primitive(
    fn: Callable | None = None,
    *,
    vjp: Callable | Sequence[Callable] | None = None,
    jvp: Callable | Sequence[Callable] | None = None,
    name: str | None = None,
    formulas: Sequence[str] = (),
    symbolic: Callable | None = None,
):
    """Declare ``fn`` (NumPy in, NumPy out) as a differentiable primitive.

    Use as ``@cr.primitive`` and add rules with :func:`defvjp` / :func:`defjvp`, or give
    them at once: ``@cr.primitive(vjp=rule, jvp=rule)``. Positional arguments are
    differentiable (those that are float arrays or Tensors); keyword arguments are
    parameters, passed to the forward and to the rules, never differentiated.
    ``formulas`` (one per argument, e.g. ``("sigmoid(x)",)``) and ``symbolic`` (the same
    function on SymPy objects) serve ``cr.explain``.

    >>> square = cr.primitive(lambda x: x * x, name="square",
    ...                       vjp=lambda g, ans, x: 2 * x * g,
    ...                       jvp=lambda t, ans, x: 2 * x * t)
    >>> cr.grad(square)(3.0)
    array(6.)
    """
    if fn is None:
        return functools.partial(primitive, vjp=vjp, jvp=jvp, name=name, formulas=formulas,
                                 symbolic=symbolic)
    if not callable(fn):
        raise TypeError(f"cr.primitive: expected a function, got {type(fn).__name__}")
    pname = name or getattr(fn, "__name__", None) or "custom"
    if pname == "<lambda>":
        pname = "custom"

    def forward(*args, **params):
        return fn(*args, **params)

    prim = CustomPrimitive(pname, forward, formulas=formulas, symbolic=symbolic,
                           doc=fn.__doc__ or f"User-defined primitive {pname}.",
                           register=False)
    prim.__wrapped__ = fn
    prim.vjp = _missing(prim, "vjp")
    prim.jvp = _missing(prim, "jvp")
    functools.update_wrapper(prim, fn, assigned=("__module__", "__qualname__", "__doc__"),
                             updated=())
    if vjp is not None:
        defvjp(prim, *(vjp if isinstance(vjp, (list, tuple)) else (vjp,)))
    if jvp is not None:
        defjvp(prim, *(jvp if isinstance(jvp, (list, tuple)) else (jvp,)))
    return prim


def _missing(prim: Primitive, rule: str) -> Callable:
    # A stub instead of None: every path of the engine calls the rule, and the stub names
    # the primitive and the missing rule wherever that happens.
    def stub(*args, **kwargs):
        raise missing_rule(prim, rule)

    stub.missing = True
    return stub


def _check_prim(prim, who: str) -> CustomPrimitive:
    if not isinstance(prim, CustomPrimitive):
        raise TypeError(
            f"cr.{who}: expected a function declared with @cr.primitive, got "
            f"{type(prim).__name__}; decorate the forward function with @cr.primitive first"
        )
    return prim


def _decorator_or_set(prim, rules, setter, who: str):
    _check_prim(prim, who)
    for r in rules:
        if not callable(r):
            raise TypeError(f"cr.{who}({prim.name}, ...): rules must be functions, got "
                            f"{type(r).__name__}")
    if not rules:  # used as @cr.defvjp(prim)
        def deco(rule):
            setter(prim, (rule,))
            return rule

        return deco
    setter(prim, rules)
    return rules[0]


def defvjp(prim: CustomPrimitive, *rules: Callable):
    """Give ``prim`` its reverse-mode rule: ``vjp(g, ans, *args, **params) -> cotangents``.

    One rule returns the cotangents of all positional arguments (a tuple, or a single value
    for one argument); several rules, one per argument, each return that argument's. Use
    as ``cr.defvjp(prim, rule)`` or as a decorator ``@cr.defvjp(prim)``.
    """
    return _decorator_or_set(prim, rules, _set_vjp, "defvjp")


def defjvp(prim: CustomPrimitive, *rules: Callable):
    """Give ``prim`` its forward-mode rule: ``jvp(t, ans, *args, **params) -> tangent``.

    One rule gets the tangent (a tuple of tangents for several arguments, zeros where an
    argument has none); several rules, one per argument, each get that argument's tangent
    and return its term of ``sum_i J_i t_i``. Use as ``cr.defjvp(prim, rule)`` or as a
    decorator ``@cr.defjvp(prim)``.
    """
    return _decorator_or_set(prim, rules, _set_jvp, "defjvp")


# ----- the user's rules, checked -----------------------------------------------------------------
# The engine calls every rule, built-in or the user's, as vjp(g, ans, *args, **params) (see
# chainrule.autodiff.primitive). A user's rule is wrapped only to check what it returns and
# to bring it into the sweep's currency (the user may compute with cr.* on arrays).


def _to_engine(value, xp):
    """A rule's result in the sweep's currency: arrays for NumPy sweeps, Tensors otherwise."""
    if value is None:
        return None
    if xp is np:
        return value.data if isinstance(value, Tensor) else np.asarray(value)
    return value if isinstance(value, Tensor) else make(np.asarray(value))


def _set_vjp(prim: CustomPrimitive, rules) -> None:
    rules = tuple(rules)
    prim._user_vjp = rules
    if len(rules) == 1:
        (rule,) = rules

        def vjp(g, ans, *args, **params):
            n = len(args)
            res = rule(g, ans, *args, **params)
            if n == 1 and not isinstance(res, (tuple, list)):
                res = (res,)
            if not isinstance(res, (tuple, list)) or len(res) != n:
                got = len(res) if isinstance(res, (tuple, list)) else type(res).__name__
                raise ValueError(
                    f"the VJP rule of {prim.name} must return one cotangent per positional "
                    f"argument ({n}), as a tuple; it returned {got}"
                )
            xp = namespace(g)
            return tuple([_to_engine(r, xp) for r in res])

        prim.vjp = vjp
    else:
        prim.vjp = tuple(_checked(prim, rule, len(rules), "VJP") for rule in rules)


def _checked(prim: CustomPrimitive, rule: Callable, count: int, label: str) -> Callable:
    """One of ``count`` per-argument rules, refusing a call with another number of arguments."""

    def each(v, ans, *args, **params):
        if len(args) != count:
            raise ValueError(
                f"{prim.name} was given {count} per-argument {label} rules but called "
                f"with {len(args)} positional arguments"
            )
        return _to_engine(rule(v, ans, *args, **params), namespace(v))

    return each


def _set_jvp(prim: CustomPrimitive, rules) -> None:
    rules = tuple(rules)
    prim._user_jvp = rules
    if len(rules) == 1:
        (rule,) = rules

        def jvp(t, ans, *args, **params):
            return _to_engine(rule(t, ans, *args, **params), recorded())

        prim.jvp = jvp
    else:
        prim.jvp = tuple(_checked(prim, rule, len(rules), "JVP") for rule in rules)
