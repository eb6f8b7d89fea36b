"""Arithmetic: add, subtract, multiply, divide, power, negative, and the identity ops."""

import numpy as np

from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.declare import elementwise, linear
from chainrule.ops.samples import normal, positive


def _broadcasting_pairs(rng, low=None):
    """Pairs with equal shapes, a broadcast row, and a scalar against a matrix."""
    draw = normal if low is None else (lambda r, *s: positive(r, *s, low=low))
    return [
        ((draw(rng, 3, 4), draw(rng, 3, 4)), {}),
        ((draw(rng, 3, 1), draw(rng, 1, 4)), {}),
        ((draw(rng), draw(rng, 2, 3)), {}),
    ]


def _add_vjp(g, ans, args, needs, xp, params):
    return (g, g)


def _add_jvp(tangents, ans, args, xp, params):
    ta, tb = tangents
    if ta is None:
        return tb
    if tb is None:
        return ta
    return ta + tb


add = Primitive(
    "add", np.add, _add_vjp, _add_jvp,
    formulas=("1", "1"), symbolic=lambda sp, x, y: x + y,
    samples=_broadcasting_pairs, saves_args=False, saves_ans=False, numpy="add",
    ref=lambda x, y: x + y,
    doc="x + y elementwise, with broadcasting.  d/dx = 1, d/dy = 1.",
)


def _sub_vjp(g, ans, args, needs, xp, params):
    return (g, -g if needs[1] else None)


def _sub_jvp(tangents, ans, args, xp, params):
    ta, tb = tangents
    if tb is None:
        return ta
    return -tb if ta is None else ta - tb


subtract = Primitive(
    "subtract", np.subtract, _sub_vjp, _sub_jvp,
    formulas=("1", "-1"), symbolic=lambda sp, x, y: x - y,
    samples=_broadcasting_pairs, saves_args=False, saves_ans=False, numpy="subtract",
    ref=lambda x, y: x - y,
    doc="x - y elementwise.  d/dx = 1, d/dy = -1.",
)

multiply = elementwise(
    "multiply", np.multiply,
    (lambda x, y, ans, xp: y, lambda x, y, ans, xp: x),
    formulas=("y", "x"), symbolic=lambda sp, x, y: x * y,
    samples=_broadcasting_pairs, saves_ans=False, reads=((1,), (0,)), numpy="multiply",
    ref=lambda x, y: x * y,
    doc="x * y elementwise.  d/dx = y, d/dy = x.",
)

divide = elementwise(
    "divide", np.true_divide,
    (lambda x, y, ans, xp: 1 / y, lambda x, y, ans, xp: -ans / y),
    formulas=("1/y", "-x/y²"), symbolic=lambda sp, x, y: x / y,
    samples=lambda rng: [
        ((normal(rng, 3, 4), positive(rng, 3, 4)), {}),
        ((normal(rng, 3, 1), -positive(rng, 1, 4)), {}),
    ],
    reads=((1,), (1,)),  # -x/y² is computed as -ans/y: x itself is never read
    numpy=("divide", "true_divide"),
    ref=lambda x, y: x / y,
    doc="x / y elementwise.  d/dx = 1/y, d/dy = -x/y².",
)


def _pow_dbase(x, y, ans, xp):
    """d(x^y)/dx = y·x^(y-1); 0 where y == 0 (as PyTorch, which avoids 0·inf at x = 0)."""
    if isinstance(y, (int, float)):
        if y == 0:
            return xp.zeros_like(ans)
        if y == 1:
            return xp.ones_like(ans)
        if y == 2:
            return 2 * x
        return y * x ** (y - 1)
    return xp.where(y == 0, 0.0, y * x ** (y - 1))


def _pow_dexp(x, y, ans, xp):
    """d(x^y)/dy = x^y·log(x); at x == 0, 0 where y >= 0 (the limit) and x^y·(-inf) where
    y < 0, as PyTorch."""
    if isinstance(x, (int, float)):
        if x > 0:
            return ans * float(np.log(x))
        if x == 0:
            return ans * xp.where(y >= 0, 0.0, -np.inf)
        return ans * np.nan
    zero = x == 0
    safe_x = xp.where(zero, 1.0, x)
    return ans * xp.where(zero, xp.where(y >= 0, 0.0, -np.inf), xp.log(safe_x))


power = elementwise(
    "power", np.power, (_pow_dbase, _pow_dexp),
    formulas=("y·x^(y-1)", "x^y·log(x)"), symbolic=lambda sp, x, y: x**y,
    samples=lambda rng: [
        ((positive(rng, 3, 4), normal(rng, 3, 4)), {}),
        ((positive(rng, 3, 1), normal(rng, 1, 4)), {}),
        ((normal(rng, 2, 3), 3.0), {}),
    ],
    numpy="power",
    ref=lambda x, y: np.exp(y * np.log(x)) if np.all(np.asarray(x) > 0) else x**y,
    doc="x ** y elementwise.  d/dx = y·x^(y-1), d/dy = x^y·log(x).",
)

negative = linear(
    "negative", np.negative, lambda g, x, xp: -g,
    formulas=("-1",), symbolic=lambda sp, x: -x,
    samples=lambda rng: [((normal(rng, 3, 4),), {})],
    ref=lambda x: 0 - x,
    numpy="negative", doc="-x.  d/dx = -1.",
)

copy = linear(
    "copy", np.array, lambda g, x, xp: g,
    formulas=("1",), symbolic=lambda sp, x: x,
    samples=lambda rng: [((normal(rng, 3),), {})],
    numpy="copy",
    ref=lambda x: x + 0,
    doc="A copy of x in the graph (the identity).  d/dx = 1.",
)


def _astype_forward(x, dtype):
    return np.asarray(x).astype(dtype)


def _astype_jvp(tangents, ans, args, xp, params):
    return call(astype, xp, tangents[0], **params)


astype = Primitive(
    "astype", _astype_forward,
    lambda g, ans, args, needs, xp, params: (g,),  # the engine casts back to x's dtype
    _astype_jvp,
    formulas=("1",), symbolic=lambda sp, x, dtype: x,
    samples=lambda rng: [((normal(rng, 3),), {"dtype": np.float64})],
    saves_args=False, saves_ans=False,
    ref=lambda x, dtype: np.array(x, dtype=dtype),
    doc="x cast to dtype; the gradient is cast back to x's dtype.",
)
