"""Elementwise functions: each declared by its derivative, ``d(x)`` or ``d(ans)``, and by keyword
what else it is (NumPy name, Tensor method, expression-language name and domain, SymPy form,
reference implementation): see :mod:`chainrule.ops.declare`.

The VJP ``g · d`` and the JVP ``t · d`` come from ``elementwise``. Conventions at kinks
follow PyTorch: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split the gradient.
"""

import functools

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.declare import elementwise, unary
from chainrule.ops.notation import derived_formulas
from chainrule.ops.samples import away_from_zero, normal, positive, unit


def _mask(cond, like):
    """A 0/1 array of ``like``'s dtype (a bool mask times a float32 stays float32)."""
    return cond.astype(like.dtype)


exp = unary(
    "exp", forward=np.exp, derivative=lambda ans: ans, uses="ans",
    symbolic=lambda sp, x: sp.exp(x), expr="exp", samples=normal, ref=lambda x: np.e**x,
    doc="e^x.  d/dx = e^x.",
)
log = unary(
    "log", forward=np.log, derivative=lambda x: 1 / x,
    symbolic=lambda sp, x: sp.log(x), expr="log", domain="x > 0", samples=positive,
    ref=lambda x: np.log2(x) / np.log2(np.e), doc="Natural logarithm.  d/dx = 1/x.",
)
log1p = unary(
    "log1p", forward=np.log1p, derivative=lambda x: 1 / (1 + x),
    symbolic=lambda sp, x: sp.log(1 + x), expr="log1p", domain="x > -1", samples=positive,
    ref=lambda x: np.log(1 + x), doc="log(1 + x), accurate near 0.  d/dx = 1/(1+x).",
)
expm1 = unary(
    "expm1", forward=np.expm1, derivative=lambda ans: ans + 1, uses="ans",
    symbolic=lambda sp, x: sp.exp(x) - 1, expr="expm1", samples=normal,
    ref=lambda x: np.exp(x) - 1, doc="e^x - 1, accurate near 0.  d/dx = e^x.",
)
sqrt = unary(
    "sqrt", forward=np.sqrt, derivative=lambda ans: 0.5 / ans, uses="ans",
    symbolic=lambda sp, x: sp.sqrt(x), expr="sqrt", domain="x >= 0", samples=positive,
    ref=lambda x: x**0.5, doc="Square root.  d/dx = 1/(2·sqrt(x)).",
)
square = unary(
    "square", forward=np.square, derivative=lambda x: 2 * x,
    symbolic=lambda sp, x: x**2, samples=normal, ref=lambda x: x * x, doc="x².  d/dx = 2x.",
)
sin = unary(
    "sin", forward=np.sin, derivative=lambda x: namespace(x).cos(x),
    symbolic=lambda sp, x: sp.sin(x), expr="sin", samples=normal,
    ref=lambda x: np.imag(np.exp(1j * x)), doc="Sine.  d/dx = cos(x).",
)
cos = unary(
    "cos", forward=np.cos, derivative=lambda x: -namespace(x).sin(x),
    symbolic=lambda sp, x: sp.cos(x), expr="cos", samples=normal,
    ref=lambda x: np.real(np.exp(1j * x)), doc="Cosine.  d/dx = -sin(x).",
)
tan = unary(
    "tan", forward=np.tan, derivative=lambda ans: 1 + ans * ans, uses="ans",
    symbolic=lambda sp, x: sp.tan(x), expr="tan", samples=unit,
    ref=lambda x: np.sin(x) / np.cos(x), doc="Tangent.  d/dx = 1 + tan²(x).",
)
arcsin = unary(
    "arcsin", forward=np.arcsin, derivative=lambda x: 1 / namespace(x).sqrt(1 - x * x),
    symbolic=lambda sp, x: sp.asin(x), expr="asin", domain="-1 <= x <= 1", samples=unit,
    ref=lambda x: np.arctan2(x, np.sqrt(1 - x * x)),
    doc="Inverse sine.  d/dx = 1/sqrt(1 - x²).",
)
arccos = unary(
    "arccos", forward=np.arccos, derivative=lambda x: -1 / namespace(x).sqrt(1 - x * x),
    symbolic=lambda sp, x: sp.acos(x), expr="acos", domain="-1 <= x <= 1", samples=unit,
    ref=lambda x: np.arctan2(np.sqrt(1 - x * x), x),
    doc="Inverse cosine.  d/dx = -1/sqrt(1 - x²).",
)
arctan = unary(
    "arctan", forward=np.arctan, derivative=lambda x: 1 / (1 + x * x),
    symbolic=lambda sp, x: sp.atan(x), expr="atan", samples=normal,
    ref=lambda x: np.arctan2(x, 1.0), doc="Inverse tangent.  d/dx = 1/(1 + x²).",
)
sinh = unary(
    "sinh", forward=np.sinh, derivative=lambda x: namespace(x).cosh(x),
    symbolic=lambda sp, x: sp.sinh(x), expr="sinh", samples=normal,
    ref=lambda x: (np.exp(x) - np.exp(-x)) / 2, doc="Hyperbolic sine.  d/dx = cosh(x).",
)
cosh = unary(
    "cosh", forward=np.cosh, derivative=lambda x: namespace(x).sinh(x),
    symbolic=lambda sp, x: sp.cosh(x), expr="cosh", samples=normal,
    ref=lambda x: (np.exp(x) + np.exp(-x)) / 2, doc="Hyperbolic cosine.  d/dx = sinh(x).",
)
tanh = unary(
    "tanh", forward=np.tanh, derivative=lambda ans: 1 - ans * ans, uses="ans",
    symbolic=lambda sp, x: sp.tanh(x), expr="tanh", samples=normal,
    ref=lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1),
    doc="Hyperbolic tangent.  d/dx = 1 - tanh²(x).",
)
@functools.cache
def _sympy_cbrt(sp):
    """The real cube root as a SymPy function (SymPy's own ``cbrt`` is the principal root,
    complex for x < 0), with its derivative: d/dx cbrt(x) = 1/(3·cbrt(x)²)."""

    class cbrt(sp.Function):  # noqa: N801  (printed as the function's name)
        @classmethod
        def eval(cls, x):
            if x.is_number and x.is_negative:
                return -cls(-x)
            if x.is_Number:
                return sp.real_root(x, 3)
            return None

        def fdiff(self, argindex=1):
            return 1 / (3 * cbrt(self.args[0]) ** 2)

        def _eval_is_real(self):
            return self.args[0].is_real

    return cbrt


cbrt = unary(
    "cbrt", forward=np.cbrt, derivative=lambda ans: 1 / (3 * ans * ans), uses="ans",
    symbolic=lambda sp, x: _sympy_cbrt(sp)(x), expr="cbrt", samples=away_from_zero,
    ref=lambda x: np.sign(x) * np.abs(x) ** (1 / 3),
    doc="Cube root, real for any x.  d/dx = 1/(3·cbrt(x)²), infinite at 0.",
)
abs = unary(
    "abs", forward=np.abs, derivative=lambda x: namespace(x).sign(x),
    numpy=("abs", "absolute"),
    symbolic=lambda sp, x: sp.Abs(x), expr="abs", samples=away_from_zero,
    ref=lambda x: np.where(x < 0, -x, x), doc="|x|.  d/dx = sign(x) (0 at 0).",
)
relu = unary(
    "relu", forward=lambda x: np.maximum(x, 0), derivative=lambda x: 1 - _mask(x <= 0, x),
    symbolic=lambda sp, x: sp.Max(0, x), formula="1 if x > 0 else 0", expr="relu",
    samples=away_from_zero, ref=lambda x: np.where(x > 0, x, 0.0),
    doc="max(x, 0).  d/dx = 1 where x > 0, else 0 (0 at 0, as PyTorch).",
)


def _sigmoid(x):
    """1/(1 + e^-x) without overflow: e^-|x| is at most 1 for any x."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, np.float32))


sigmoid = unary(
    "sigmoid", forward=_sigmoid, derivative=lambda ans: ans * (1 - ans), uses="ans",
    symbolic=lambda sp, x: 1 / (1 + sp.exp(-x)), formula="σ(x)·(1 - σ(x))", expr="sigmoid",
    samples=normal, ref=lambda x: 1 / (1 + np.exp(-x)),
    doc="The logistic function 1/(1 + e^-x), stable for any x.  d/dx = σ(x)(1 - σ(x)).",
)


def _softplus(x):
    return np.logaddexp(np.zeros((), dtype=np.result_type(x, np.float32)), x)


softplus = unary(
    "softplus", forward=_softplus, derivative=lambda x: call(sigmoid, x),
    symbolic=lambda sp, x: sp.log(1 + sp.exp(x)), formula="σ(x)", expr="softplus",
    samples=normal,
    ref=lambda x: np.log(1 + np.exp(x)), doc="log(1 + e^x), stable for any x.  d/dx = σ(x).",
)


def _atan2_inv_r2(g, y, x):
    """1/(x² + y²), and 0 where x² + y² is 0: at the origin PyTorch's gradient is 0."""
    xp = namespace(g)
    r2 = x * x + y * y
    zero = r2 == 0
    return xp.where(zero, 0.0, 1 / xp.where(zero, 1.0, r2))


def _atan2_symbolic(sp, y, x):
    return sp.atan2(y, x)


arctan2 = elementwise(
    "arctan2", forward=np.arctan2,
    vjp=(lambda g, ans, y, x: g * (x * _atan2_inv_r2(g, y, x)),
         lambda g, ans, y, x: g * (-y * _atan2_inv_r2(g, y, x))),
    formulas=derived_formulas(_atan2_symbolic, 2), symbolic=_atan2_symbolic,
    samples=lambda rng: [((normal(rng, 3, 4), positive(rng, 3, 4)), {}),
                         ((normal(rng, 3, 1), -positive(rng, 1, 4)), {})],
    numpy="arctan2",
    ref=lambda y, x: np.angle(x + 1j * y),
    doc="The angle of the point (x, y).  d/dy = x/(x²+y²), d/dx = -y/(x²+y²).",
)


def _tie_split(lose, tie, ans):
    """1 unless this side loses, 1/2 at ties. Written from the losing side so that a NaN (which
    neither wins, loses nor ties) passes the gradient to both sides, as PyTorch's."""
    return 1 - _mask(lose, ans) - _mask(tie, ans) * 0.5


maximum = elementwise(
    "maximum", forward=np.maximum,
    vjp=(lambda g, ans, x, y: g * _tie_split(x < y, x == y, ans),
         lambda g, ans, x, y: g * _tie_split(y < x, x == y, ans)),
    formulas=("1 if x > y else 0", "1 if y > x else 0"),
    symbolic=lambda sp, x, y: sp.Max(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    numpy="maximum", method=True, expr="max",
    ref=lambda x, y: np.where(x >= y, x, y),
    doc="Elementwise maximum; at ties each side gets half the gradient (as PyTorch).",
)

minimum = elementwise(
    "minimum", forward=np.minimum,
    vjp=(lambda g, ans, x, y: g * _tie_split(x > y, x == y, ans),
         lambda g, ans, x, y: g * _tie_split(y > x, x == y, ans)),
    formulas=("1 if x < y else 0", "1 if y < x else 0"),
    symbolic=lambda sp, x, y: sp.Min(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    numpy="minimum", method=True, expr="min",
    ref=lambda x, y: np.where(x <= y, x, y),
    doc="Elementwise minimum; at ties each side gets half the gradient (as PyTorch).",
)


def _clip_forward(x, a_min=None, a_max=None):
    return np.clip(x, a_min, a_max)


def _clip_vjp(g, ans, x, a_min=None, a_max=None):
    """g where a_min ≤ x ≤ a_max (bounds included, as PyTorch), 0 elsewhere."""
    inside = None
    if a_min is not None:
        inside = x >= a_min
    if a_max is not None:
        upper = x <= a_max
        inside = upper if inside is None else inside & upper
    return g if inside is None else g * _mask(inside, ans)


def _clip_symbolic(sp, x, a_min=None, a_max=None):
    out = x if a_min is None else sp.Max(x, a_min)
    return out if a_max is None else sp.Min(out, a_max)


clip = Primitive(
    "clip", _clip_forward, vjp=_clip_vjp, jvp=_clip_vjp,  # a diagonal Jacobian: t · d
    formulas=("1 if a_min ≤ x ≤ a_max else 0",),
    symbolic=_clip_symbolic,
    samples=lambda rng: [((away_from_zero(rng, 3, 4),), {"a_min": -0.15, "a_max": 0.15}),
                         ((normal(rng, 5) + 0.05,), {"a_min": 0.0, "a_max": None})],
    saves_ans=False,
    ref=lambda x, a_min, a_max: np.minimum(np.maximum(
        x, -np.inf if a_min is None else a_min), np.inf if a_max is None else a_max),
    doc="x limited to [a_min, a_max]; gradient 1 inside (bounds included, as PyTorch), 0 out.",
)


def _where_vjp_x(g, ans, cond, x, y):
    return g * _mask(cond, g)


def _where_vjp_y(g, ans, cond, x, y):
    return g * _mask(~cond if isinstance(cond, np.ndarray) else cond == False, g)  # noqa: E712


where = Primitive(
    "where", np.where,
    vjp=(None, _where_vjp_x, _where_vjp_y),  # the condition is never differentiated
    jvp=(None,
         lambda t, ans, cond, x, y: namespace(t).where(cond, t, 0.0),
         lambda t, ans, cond, x, y: namespace(t).where(cond, 0.0, t)),
    formulas=("", "1 where cond", "1 where not cond"),
    symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4) > 0, normal(rng, 3, 4), normal(rng, 3, 4)), {}),
                         ((normal(rng, 3, 1) > 0, normal(rng, 1, 4), normal(rng, 3, 4)), {})],
    nondiff_args=(0,), saves_ans=False,
    ref=lambda c, x, y: c * x + (1 - c) * y,
    doc="Elements of x where cond is true, else of y.  d/dx = cond, d/dy = not cond.",
)
