"""NumPy's other differentiable ufuncs: inverse hyperbolic functions, logarithms and
exponentials in other bases, angle conversions, ``hypot``, ``logaddexp``, ``fmax``/``fmin``,
``remainder``, and the complex-number helpers on real input.

Each is one declaration (see :mod:`chainrule.ops.declare`); the VJP ``g · d`` and the JVP
``t · d`` follow from the derivative. Conventions at kinks follow PyTorch where it has the
function (``fmax`` ties split like ``maximum``; ``remainder``'s derivative in ``x`` is 1 and
in ``y`` is ``-floor(x/y)``, as ``torch.remainder``).
"""

import math

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import call
from chainrule.ops.arithmetic import _identity
from chainrule.ops.declare import elementwise, unary
from chainrule.ops.elementwise import _tie_split, sigmoid
from chainrule.ops.notation import derived_formulas
from chainrule.ops.samples import away_from_zero, normal, positive, unit

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_DEG = 180.0 / math.pi  # degrees per radian

# ----- inverse hyperbolic functions -----------------------------------------------------------
arcsinh = unary(
    "arcsinh", forward=np.arcsinh, derivative=lambda x: 1 / namespace(x).sqrt(x * x + 1),
    symbolic=lambda sp, x: sp.asinh(x), expr="asinh", samples=normal,
    ref=lambda x: np.log(x + np.sqrt(x * x + 1)),
    doc="Inverse hyperbolic sine.  d/dx = 1/sqrt(x² + 1).",
)
arccosh = unary(
    "arccosh", forward=np.arccosh, derivative=lambda x: 1 / namespace(x).sqrt(x * x - 1),
    symbolic=lambda sp, x: sp.acosh(x), expr="acosh", domain="x >= 1",
    samples=lambda rng, *shape: positive(rng, *shape, low=1.2, high=3.0),
    ref=lambda x: np.log(x + np.sqrt(x * x - 1)),
    doc="Inverse hyperbolic cosine (x ≥ 1).  d/dx = 1/sqrt(x² - 1).",
)
arctanh = unary(
    "arctanh", forward=np.arctanh, derivative=lambda x: 1 / (1 - x * x),
    symbolic=lambda sp, x: sp.atanh(x), expr="atanh", domain="-1 < x < 1", samples=unit,
    ref=lambda x: 0.5 * np.log((1 + x) / (1 - x)),
    doc="Inverse hyperbolic tangent (|x| < 1).  d/dx = 1/(1 - x²).",
)

# ----- other bases ----------------------------------------------------------------------------
exp2 = unary(
    "exp2", forward=np.exp2, derivative=lambda ans: ans * _LN2, uses="ans",
    symbolic=lambda sp, x: 2**x, expr="exp2", samples=normal,
    ref=lambda x: np.exp(x * _LN2), doc="2^x.  d/dx = 2^x · ln 2.",
)
log2 = unary(
    "log2", forward=np.log2, derivative=lambda x: 1 / (x * _LN2),
    symbolic=lambda sp, x: sp.log(x, 2), expr="log2", domain="x > 0", samples=positive,
    ref=lambda x: np.log(x) / _LN2, doc="Base-2 logarithm.  d/dx = 1/(x · ln 2).",
)
log10 = unary(
    "log10", forward=np.log10, derivative=lambda x: 1 / (x * _LN10),
    symbolic=lambda sp, x: sp.log(x, 10), expr="log10", domain="x > 0", samples=positive,
    ref=lambda x: np.log(x) / _LN10, doc="Base-10 logarithm.  d/dx = 1/(x · ln 10).",
)

# ----- absolute value and angles --------------------------------------------------------------
fabs = unary(
    "fabs", forward=np.fabs, derivative=lambda x: namespace(x).sign(x), method=False,
    symbolic=lambda sp, x: sp.Abs(x), samples=away_from_zero,
    ref=lambda x: np.where(x < 0, -x, x), doc="|x| as a float.  d/dx = sign(x) (0 at 0).",
)


def _scaled(name: str, numpy_names: tuple, factor: float, symbolic, doc: str):
    """A function x · factor (an angle conversion): d/dx = factor."""
    return unary(
        name, forward=getattr(np, name), derivative=lambda x: factor,
        symbolic=symbolic, method=False,
        numpy=numpy_names, samples=normal, ref=lambda x: x * factor, doc=doc,
    )


deg2rad = _scaled("deg2rad", ("deg2rad", "radians"), 1 / _DEG, lambda sp, x: x * sp.pi / 180,
                  "Degrees to radians, x · π/180.  d/dx = π/180.")
rad2deg = _scaled("rad2deg", ("rad2deg", "degrees"), _DEG, lambda sp, x: x * 180 / sp.pi,
                  "Radians to degrees, x · 180/π.  d/dx = 180/π.")


# ----- functions of two arguments -------------------------------------------------------------
def _pairs(draw=normal):
    """Equal shapes and a broadcast row against a column."""
    return lambda rng: [((draw(rng, 3, 4), draw(rng, 3, 4)), {}),
                        ((draw(rng, 3, 1), draw(rng, 1, 4)), {})]


def _hypot_symbolic(sp, x, y):
    return sp.sqrt(x**2 + y**2)


def _safe_over(g, num, den):
    """g·num/den, and 0 where den is 0: at the origin hypot's gradient is 0 (as PyTorch)."""
    xp = namespace(g)
    zero = den == 0
    return g * xp.where(zero, 0.0, num / xp.where(zero, 1.0, den))


hypot = elementwise(
    "hypot", forward=np.hypot,
    vjp=(lambda g, ans, x, y: _safe_over(g, x, ans), lambda g, ans, x, y: _safe_over(g, y, ans)),
    formulas=derived_formulas(_hypot_symbolic, 2), symbolic=_hypot_symbolic,
    samples=_pairs(away_from_zero), numpy="hypot",
    ref=lambda x, y: np.sqrt(x * x + y * y),
    doc="sqrt(x² + y²) without overflow.  d/dx = x/hypot, d/dy = y/hypot.",
)


def _logaddexp_symbolic(sp, x, y):
    return sp.log(sp.exp(x) + sp.exp(y))


def _logaddexp2_symbolic(sp, x, y):
    return sp.log(2**x + 2**y, 2)


# d/dx log(e^x + e^y) = e^x/(e^x + e^y) = σ(x - y): stable for any x, y.
logaddexp = elementwise(
    "logaddexp", forward=np.logaddexp,
    vjp=(lambda g, ans, x, y: g * call(sigmoid, x - y),
         lambda g, ans, x, y: g * call(sigmoid, y - x)),
    formulas=("σ(x - y)", "σ(y - x)"), symbolic=_logaddexp_symbolic,
    samples=_pairs(), numpy="logaddexp", saves_ans=False,
    ref=lambda x, y: np.log(np.exp(x) + np.exp(y)),
    doc="log(e^x + e^y), stable.  d/dx = e^x/(e^x + e^y) = σ(x - y).",
)
# d/dx log2(2^x + 2^y) = 2^x/(2^x + 2^y) = σ((x - y)·ln 2).
logaddexp2 = elementwise(
    "logaddexp2", forward=np.logaddexp2,
    vjp=(lambda g, ans, x, y: g * call(sigmoid, (x - y) * _LN2),
         lambda g, ans, x, y: g * call(sigmoid, (y - x) * _LN2)),
    formulas=derived_formulas(_logaddexp2_symbolic, 2), symbolic=_logaddexp2_symbolic,
    samples=_pairs(), numpy="logaddexp2", saves_ans=False,
    ref=lambda x, y: np.log2(np.exp2(x) + np.exp2(y)),
    doc="log2(2^x + 2^y), stable.  d/dx = 2^x/(2^x + 2^y).",
)


def _ignoring_nan(g, ans, x, y, lose):
    """g·d for fmax/fmin: a NaN operand is ignored, so the gradient goes to the other one;
    otherwise as maximum/minimum (1 to the winner, ties split in half)."""
    xp = namespace(g)
    x_nan, y_nan = xp.isnan(x), xp.isnan(y)
    side = _tie_split(lose, x == y, ans)
    side = xp.where(xp.logical_and(y_nan, xp.logical_not(x_nan)), 1.0, side)
    return g * xp.where(xp.logical_and(x_nan, xp.logical_not(y_nan)), 0.0, side)


fmax = elementwise(
    "fmax", forward=np.fmax,
    vjp=(lambda g, ans, x, y: _ignoring_nan(g, ans, x, y, x < y),
         lambda g, ans, x, y: _ignoring_nan(g, ans, y, x, y < x)),
    formulas=("1 if x > y else 0", "1 if y > x else 0"),
    symbolic=lambda sp, x, y: sp.Max(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    numpy="fmax", ref=lambda x, y: np.where(x >= y, x, y),
    doc="Elementwise maximum ignoring NaN; ties split the gradient (as maximum).",
)
fmin = elementwise(
    "fmin", forward=np.fmin,
    vjp=(lambda g, ans, x, y: _ignoring_nan(g, ans, x, y, x > y),
         lambda g, ans, x, y: _ignoring_nan(g, ans, y, x, y > x)),
    formulas=("1 if x < y else 0", "1 if y < x else 0"),
    symbolic=lambda sp, x, y: sp.Min(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    numpy="fmin", ref=lambda x, y: np.where(x <= y, x, y),
    doc="Elementwise minimum ignoring NaN; ties split the gradient (as minimum).",
)


def _remainder_dy(g, ans, x, y):
    """g·d/dy (x - y·floor(x/y)) = -g·floor(x/y), piecewise constant."""
    return g * -namespace(g).floor(x / y)


def _remainder_samples(rng):
    """Kept away from the jumps of x mod y (where x/y is an integer)."""
    def draw(shape_y):
        y = away_from_zero(rng, *shape_y) * 1.5
        q = rng.integers(-3, 4, (3, 4)) + rng.uniform(0.2, 0.8, (3, 4))
        return q * y, y
    return [(draw((3, 4)), {}), (draw((1, 4)), {})]


remainder = elementwise(
    "remainder", forward=np.remainder,
    vjp=(_identity, _remainder_dy),
    # written with g: remainder has no SymPy form, so its rules are read as array rules
    formulas=("g", "-g ⊙ floor(x/y)"), symbolic=None,  # SymPy cannot differentiate Mod
    samples=_remainder_samples, numpy=("remainder", "mod"), saves_ans=False,
    ref=lambda x, y: x - y * np.floor(x / y),
    doc="x mod y with the sign of y (Python's %).  d/dx = 1, d/dy = -floor(x/y).",
)
