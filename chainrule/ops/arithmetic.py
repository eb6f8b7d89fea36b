"""Arithmetic: add, subtract, multiply, divide, power, negative, and the identity ops."""

import math

import numpy as np

from chainrule.autodiff.namespace import namespace
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


def _identity(g, ans, x, y):
    """d(x ± y)/dx = 1: the cotangent (or tangent) passes unchanged."""
    return g


def _negated(g, ans, x, y):
    """d(x - y)/dy = -1."""
    return -g


add = Primitive(
    "add", np.add, vjp=(_identity, _identity), jvp=(_identity, _identity),
    formulas=("1", "1"), symbolic=lambda sp, x, y: x + y,
    samples=_broadcasting_pairs, saves_args=False, saves_ans=False, numpy="add",
    ref=lambda x, y: x + y,
    doc="x + y elementwise, with broadcasting.  d/dx = 1, d/dy = 1.",
)


subtract = Primitive(
    "subtract", np.subtract, vjp=(_identity, _negated), jvp=(_identity, _negated),
    formulas=("1", "-1"), symbolic=lambda sp, x, y: x - y,
    samples=_broadcasting_pairs, saves_args=False, saves_ans=False, numpy="subtract",
    ref=lambda x, y: x - y,
    doc="x - y elementwise.  d/dx = 1, d/dy = -1.",
)

multiply = elementwise(
    "multiply", forward=np.multiply,
    vjp=(lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
    formulas=("y", "x"), symbolic=lambda sp, x, y: x * y,
    samples=_broadcasting_pairs, saves_ans=False, reads=((1,), (0,)), numpy="multiply",
    ref=lambda x, y: x * y,
    doc="x * y elementwise.  d/dx = y, d/dy = x.",
)

def _reciprocal(y):
    """1/y; for a Python number 0 the IEEE result ±inf (as NumPy's and PyTorch's x / 0.0
    give), where Python's own division would raise ZeroDivisionError."""
    if isinstance(y, (int, float)) and y == 0:
        return math.copysign(math.inf, y)
    return 1 / y


divide = elementwise(
    "divide", forward=np.true_divide,
    vjp=(lambda g, ans, x, y: g * _reciprocal(y), lambda g, ans, x, y: g * (-ans / y)),
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


def _pow_dbase(g, ans, x, y):
    """g·d(x^y)/dx = g·y·x^(y-1); 0 where y == 0 (as PyTorch, which avoids 0·inf at x = 0)."""
    if isinstance(y, (int, float)):
        if y == 0:
            return g * namespace(g).zeros_like(ans)
        if y == 1:
            return g
        if y == 2:
            return g * (2 * x)
        return g * (y * x ** (y - 1))
    return g * namespace(g).where(y == 0, 0.0, y * x ** (y - 1))


def _pow_dexp(g, ans, x, y):
    """g·d(x^y)/dy = g·x^y·log(x); at x == 0, 0 where y >= 0 (the limit) and x^y·(-inf)
    where y < 0, as PyTorch."""
    xp = namespace(g)
    if isinstance(x, (int, float)):
        if x > 0:
            return g * (ans * float(np.log(x)))
        if x == 0:
            return g * (ans * xp.where(y >= 0, 0.0, -np.inf))
        return g * (ans * np.nan)
    zero = x == 0
    safe_x = xp.where(zero, 1.0, x)
    return g * (ans * xp.where(zero, xp.where(y >= 0, 0.0, -np.inf), xp.log(safe_x)))


power = elementwise(
    "power", forward=np.power, vjp=(_pow_dbase, _pow_dexp),
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
    "negative", forward=np.negative, vjp=lambda g, ans, x: -g,
    formulas=("-1",), symbolic=lambda sp, x: -x,
    samples=lambda rng: [((normal(rng, 3, 4),), {})],
    ref=lambda x: 0 - x,
    numpy="negative", doc="-x.  d/dx = -1.",
)

copy = linear(
    "copy", forward=np.array, vjp=lambda g, ans, x: g,
    formulas=("1",), symbolic=lambda sp, x: x,
    samples=lambda rng: [((normal(rng, 3),), {})],
    numpy="copy",
    ref=lambda x: x + 0,
    doc="A copy of x in the graph (the identity).  d/dx = 1.",
)


def _astype_forward(x, dtype):
    return np.asarray(x).astype(dtype)


astype = Primitive(
    "astype", _astype_forward,
    vjp=lambda g, ans, x, dtype: g,  # the engine casts back to x's dtype
    jvp=lambda t, ans, x, dtype: call(astype, t, dtype=dtype),
    formulas=("1",), symbolic=lambda sp, x, dtype: x,
    samples=lambda rng: [((normal(rng, 3),), {"dtype": np.float64})],
    saves_args=False, saves_ans=False,
    ref=lambda x, dtype: np.array(x, dtype=dtype),
    doc="x cast to dtype; the gradient is cast back to x's dtype.",
)
