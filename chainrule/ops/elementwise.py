"""Elementwise functions: each declared by its derivative, ``d(x, ans, xp)``.

The VJP ``g · d`` and the JVP ``t · d`` come from ``elementwise``. Conventions at kinks
follow PyTorch: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split the gradient.
"""

import numpy as np

from chainrule.autodiff.primitive import Primitive, call, elementwise
from chainrule.ops.samples import away_from_zero, normal, positive, unit


def _one(name, forward, d, formula, symbolic, sample, doc, uses="x"):
    """An elementwise function of one argument; ``uses`` says what its derivative reads
    ("x" or "ans"), so that only an in-place change of *that* makes backward raise."""
    return elementwise(
        name, forward, (d,), formulas=(formula,), symbolic=symbolic,
        samples=lambda rng: [((sample(rng, 3, 4),), {}), ((sample(rng),), {})], doc=doc,
        saves_args=uses == "x", saves_ans=uses == "ans",
    )


def _mask(cond, like):
    """A 0/1 array of ``like``'s dtype (a bool mask times a float32 stays float32)."""
    return cond.astype(like.dtype)


exp = _one("exp", np.exp, lambda x, ans, xp: ans, "exp(x)",
           lambda sp, x: sp.exp(x), normal, "e^x.  d/dx = e^x.", uses="ans")
log = _one("log", np.log, lambda x, ans, xp: 1 / x, "1/x",
           lambda sp, x: sp.log(x), positive, "Natural logarithm.  d/dx = 1/x.")
log1p = _one("log1p", np.log1p, lambda x, ans, xp: 1 / (1 + x), "1/(1 + x)",
             lambda sp, x: sp.log(1 + x), positive, "log(1 + x), accurate near 0.  d/dx = 1/(1+x).")
expm1 = _one("expm1", np.expm1, lambda x, ans, xp: ans + 1, "exp(x)",
             lambda sp, x: sp.exp(x) - 1, normal, "e^x - 1, accurate near 0.  d/dx = e^x.",
             uses="ans")
sqrt = _one("sqrt", np.sqrt, lambda x, ans, xp: 0.5 / ans, "1/(2·sqrt(x))",
            lambda sp, x: sp.sqrt(x), positive, "Square root.  d/dx = 1/(2·sqrt(x)).", uses="ans")
square = _one("square", np.square, lambda x, ans, xp: 2 * x, "2·x",
              lambda sp, x: x**2, normal, "x².  d/dx = 2x.")
sin = _one("sin", np.sin, lambda x, ans, xp: xp.cos(x), "cos(x)",
           lambda sp, x: sp.sin(x), normal, "Sine.  d/dx = cos(x).")
cos = _one("cos", np.cos, lambda x, ans, xp: -xp.sin(x), "-sin(x)",
           lambda sp, x: sp.cos(x), normal, "Cosine.  d/dx = -sin(x).")
tan = _one("tan", np.tan, lambda x, ans, xp: 1 + ans * ans, "1 + tan²(x)",
           lambda sp, x: sp.tan(x), unit, "Tangent.  d/dx = 1 + tan²(x).", uses="ans")
arcsin = _one("arcsin", np.arcsin, lambda x, ans, xp: 1 / xp.sqrt(1 - x * x), "1/sqrt(1 - x²)",
              lambda sp, x: sp.asin(x), unit, "Inverse sine.  d/dx = 1/sqrt(1 - x²).")
arccos = _one("arccos", np.arccos, lambda x, ans, xp: -1 / xp.sqrt(1 - x * x),
              "-1/sqrt(1 - x²)", lambda sp, x: sp.acos(x), unit,
              "Inverse cosine.  d/dx = -1/sqrt(1 - x²).")
arctan = _one("arctan", np.arctan, lambda x, ans, xp: 1 / (1 + x * x), "1/(1 + x²)",
              lambda sp, x: sp.atan(x), normal, "Inverse tangent.  d/dx = 1/(1 + x²).")
sinh = _one("sinh", np.sinh, lambda x, ans, xp: xp.cosh(x), "cosh(x)",
            lambda sp, x: sp.sinh(x), normal, "Hyperbolic sine.  d/dx = cosh(x).")
cosh = _one("cosh", np.cosh, lambda x, ans, xp: xp.sinh(x), "sinh(x)",
            lambda sp, x: sp.cosh(x), normal, "Hyperbolic cosine.  d/dx = sinh(x).")
tanh = _one("tanh", np.tanh, lambda x, ans, xp: 1 - ans * ans, "1 - tanh²(x)",
            lambda sp, x: sp.tanh(x), normal, "Hyperbolic tangent.  d/dx = 1 - tanh²(x).",
            uses="ans")
abs = _one("abs", np.abs, lambda x, ans, xp: xp.sign(x), "sign(x)",
           lambda sp, x: sp.Abs(x), away_from_zero, "|x|.  d/dx = sign(x) (0 at 0).")
relu = _one("relu", lambda x: np.maximum(x, 0), lambda x, ans, xp: 1 - _mask(x <= 0, ans),
            "1 if x > 0 else 0", lambda sp, x: sp.Max(0, x), away_from_zero,
            "max(x, 0).  d/dx = 1 where x > 0, else 0 (0 at 0, as PyTorch).")


def _sigmoid(x):
    """1/(1 + e^-x) without overflow: e^-|x| is at most 1 for any x."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, np.float32))


sigmoid = _one("sigmoid", _sigmoid, lambda x, ans, xp: ans * (1 - ans), "σ(x)·(1 - σ(x))",
               lambda sp, x: 1 / (1 + sp.exp(-x)), normal,
               "The logistic function 1/(1 + e^-x), stable for any x.  d/dx = σ(x)(1 - σ(x)).",
               uses="ans")


def _softplus(x):
    return np.logaddexp(np.zeros((), dtype=np.result_type(x, np.float32)), x)


softplus = _one("softplus", _softplus, lambda x, ans, xp: call(sigmoid, xp, x), "σ(x)",
                lambda sp, x: sp.log(1 + sp.exp(x)), normal,
                "log(1 + e^x), stable for any x.  d/dx = σ(x).")

def _atan2_inv_r2(y, x, xp):
    """1/(x² + y²), and 0 where x² + y² is 0: at the origin PyTorch's gradient is 0."""
    r2 = x * x + y * y
    zero = r2 == 0
    return xp.where(zero, 0.0, 1 / xp.where(zero, 1.0, r2))


arctan2 = elementwise(
    "arctan2", np.arctan2,
    (lambda y, x, ans, xp: x * _atan2_inv_r2(y, x, xp),
     lambda y, x, ans, xp: -y * _atan2_inv_r2(y, x, xp)),
    formulas=("x/(x² + y²)", "-y/(x² + y²)"), symbolic=lambda sp, y, x: sp.atan2(y, x),
    samples=lambda rng: [((normal(rng, 3, 4), positive(rng, 3, 4)), {}),
                         ((normal(rng, 3, 1), -positive(rng, 1, 4)), {})],
    doc="The angle of the point (x, y).  d/dy = x/(x²+y²), d/dx = -y/(x²+y²).",
)


def _tie_split(lose, tie, ans):
    """1 unless this side loses, 1/2 at ties. Written from the losing side so that a NaN (which
    neither wins, loses nor ties) passes the gradient to both sides, as PyTorch's."""
    return 1 - _mask(lose, ans) - _mask(tie, ans) * 0.5


maximum = elementwise(
    "maximum", np.maximum,
    (lambda x, y, ans, xp: _tie_split(x < y, x == y, ans),
     lambda x, y, ans, xp: _tie_split(y < x, x == y, ans)),
    formulas=("1 if x > y else 0", "1 if y > x else 0"),
    symbolic=lambda sp, x, y: sp.Max(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    doc="Elementwise maximum; at ties each side gets half the gradient (as PyTorch).",
)

minimum = elementwise(
    "minimum", np.minimum,
    (lambda x, y, ans, xp: _tie_split(x > y, x == y, ans),
     lambda x, y, ans, xp: _tie_split(y > x, x == y, ans)),
    formulas=("1 if x < y else 0", "1 if y < x else 0"),
    symbolic=lambda sp, x, y: sp.Min(x, y),
    samples=lambda rng: [((normal(rng, 3, 4), normal(rng, 3, 4) + 0.05), {}),
                         ((normal(rng, 3, 1), normal(rng, 1, 4) + 0.05), {})],
    doc="Elementwise minimum; at ties each side gets half the gradient (as PyTorch).",
)


def _clip_forward(x, a_min=None, a_max=None):
    return np.clip(x, a_min, a_max)


def _clip_d(x, ans, xp, a_min, a_max):
    inside = None
    if a_min is not None:
        inside = x >= a_min
    if a_max is not None:
        upper = x <= a_max
        inside = upper if inside is None else inside & upper
    return xp.ones_like(ans) if inside is None else _mask(inside, ans)


clip = Primitive(
    "clip", _clip_forward,
    lambda g, ans, args, needs, xp, params: (g * _clip_d(args[0], ans, xp, **params),),
    lambda tangents, ans, args, xp, params: tangents[0] * _clip_d(args[0], ans, xp, **params),
    formulas=("1 if a_min ≤ x ≤ a_max else 0",),
    symbolic=lambda sp, x, a_min=None, a_max=None: sp.Min(sp.Max(x, a_min), a_max),
    samples=lambda rng: [((away_from_zero(rng, 3, 4),), {"a_min": -0.15, "a_max": 0.15}),
                         ((normal(rng, 5) + 0.05,), {"a_min": 0.0, "a_max": None})],
    saves_ans=False,
    doc="x limited to [a_min, a_max]; gradient 1 inside (bounds included, as PyTorch), 0 out.",
)


def _where_vjp(g, ans, args, needs, xp, params):
    cond = args[0]
    return (
        None,
        g * _mask(cond, g) if needs[1] else None,
        g * _mask(~cond if isinstance(cond, np.ndarray) else cond == False, g)  # noqa: E712
        if needs[2] else None,
    )


def _where_jvp(tangents, ans, args, xp, params):
    cond = args[0]
    _, tx, ty = tangents
    out = None
    if tx is not None:
        out = xp.where(cond, tx, 0.0)
    if ty is not None:
        term = xp.where(cond, 0.0, ty)
        out = term if out is None else out + term
    return out


where = Primitive(
    "where", np.where, _where_vjp, _where_jvp,
    formulas=("", "1 where cond", "1 where not cond"),
    symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4) > 0, normal(rng, 3, 4), normal(rng, 3, 4)), {}),
                         ((normal(rng, 3, 1) > 0, normal(rng, 1, 4), normal(rng, 3, 4)), {})],
    nondiff_args=(0,), saves_ans=False,
    doc="Elements of x where cond is true, else of y.  d/dx = cond, d/dy = not cond.",
)
