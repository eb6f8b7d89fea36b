"""Reductions (sum, mean, prod, max, min, logsumexp, norm) and softmax / log-softmax.

A reduction's VJP spreads ``g`` back over the reduced axes: ``g`` is reshaped to the
``keepdims`` shape and broadcast against the input.
"""

import operator

import numpy as np
from numpy.exceptions import AxisError

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops import references
from chainrule.ops.declare import linear
from chainrule.ops.samples import distinct, normal, positive


def normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple, negative allowed) as a sorted tuple of axes.

    An axis out of range raises NumPy's ``AxisError`` (a ``ValueError`` and an
    ``IndexError``), a repeated one ``ValueError``. As NumPy, a 0-d array takes the integer
    axis 0 or -1 (there is nothing to reduce: the result is the array itself).
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        if ndim == 0 and axis in (0, -1):
            return ()
        axis = (axis,)
    axes = []
    for a in axis:
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"axis must be an int or a tuple of ints, got {a!r}") from None
        if not -ndim <= a < ndim:
            raise AxisError(a, ndim)
        axes.append(a % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"duplicate value in axis={tuple(axis)!r}")
    return tuple(sorted(axes))


def kept_shape(shape: tuple, axis) -> tuple:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand(g, x, axis, keepdims):
    """``g`` of a reduction reshaped so that it broadcasts against ``x``."""
    if keepdims:
        return g
    return namespace(g).reshape(g, kept_shape(x.shape, axis))


def _reduction_samples(rng, draw=normal):
    return [
        ((draw(rng, 3, 4),), {"axis": None}),
        ((draw(rng, 3, 4),), {"axis": 1}),
        ((draw(rng, 2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
        ((draw(rng, 2, 3),), {"axis": -1}),
    ]


def reduction(name, *, forward, weights, formula, samples, doc, ref=None):
    """Declare a reduction from its local derivative alone, as ``elementwise`` does.

    ``weights(x, ans, axis, keepdims)`` is ``d ans / d x`` for each element of x (shaped
    like x); then ``vjp = g (spread back over the reduced axes) · weights`` and
    ``jvp = sum over the reduced axes of t · weights``.
    """

    def vjp(g, ans, x, axis=None, keepdims=False):
        return expand(g, x, axis, keepdims) * weights(x, ans, axis, keepdims)

    def jvp(t, ans, x, axis=None, keepdims=False):
        w = weights(x, ans, axis, keepdims)
        return namespace(t).sum(t * w, axis=axis, keepdims=keepdims)

    return Primitive(name, forward, vjp=vjp, jvp=jvp, formulas=(formula,), symbolic=None,
                     samples=samples, doc=doc, ref=ref)


def _sum_forward(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


sum = linear(
    "sum", forward=_sum_forward,
    vjp=lambda g, ans, x, axis=None, keepdims=False: namespace(g).broadcast_to(
        expand(g, x, axis, keepdims), x.shape),
    formulas=("1",), symbolic=None, samples=_reduction_samples,
    ref=references.sum,
    doc="Sum over axis.  d/dx_i = 1 for every element.",
)


def _count(shape, axis) -> int:
    axes = normalize_axes(axis, len(shape))
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def _mean_forward(x, axis=None, keepdims=False):
    # np.mean, unlike np.sum, refuses an axis for a 0-d array (AxisError); so does this.
    return np.mean(x, axis=axis, keepdims=keepdims)


mean = linear(
    "mean", forward=_mean_forward,
    vjp=lambda g, ans, x, axis=None, keepdims=False: namespace(g).broadcast_to(
        expand(g, x, axis, keepdims) / _count(x.shape, axis), x.shape),
    formulas=("1/n",), symbolic=None, samples=_reduction_samples,
    ref=lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims)
    / (x.size / np.sum(x, axis=axis, keepdims=keepdims).size),
    doc="Mean over axis.  d/dx_i = 1/n.",
)


def _prod_forward(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


def _prod_others(x, ans, axis, keepdims):
    """For each element x_i, the product of the *other* elements of its reduced group:
    ``d ans / d x_i``, exact with zeros, in O(n) time and memory.

    Without zeros it is ``ans / x_i``. With zeros, let c be the number of zeros in a group
    and N the product of its non-zero elements. The product of the others is

    * at a non-zero x_i: ``ans / x_i`` (0 when c ≥ 1);
    * at a zero, c = 1: N;
    * at a zero, c = 2: N · (the other zero), written ``N · (S - x_i)`` with S the sum of
      the group's zeros: its value is 0, but its derivative (N, by the other zero) is
      the one the second derivative needs;
    * at a zero, c ≥ 3: 0, and so are all its first derivatives.

    Every piece is written with ``xp``, so that a recorded backward differentiates it
    again: ``ans / x_i`` carries ``ans``'s own derivative, the products of the others.
    """
    xp = namespace(ans)
    ansk = xp.reshape(ans, kept_shape(x.shape, axis))
    data = x if isinstance(x, np.ndarray) else x.data
    zero = data == 0
    if not np.any(zero):
        return ansk / x
    count = np.sum(zero, axis=normalize_axes(axis, x.ndim), keepdims=True)
    safe = xp.where(zero, 1.0, x)
    nonzero_prod = xp.prod(safe, axis=axis, keepdims=True)
    zero_sum = xp.sum(xp.where(zero, x, 0.0), axis=axis, keepdims=True)
    at_zero = xp.where(count == 1, nonzero_prod,
                       xp.where(count == 2, nonzero_prod * (zero_sum - x), 0.0))
    return xp.where(zero, at_zero, ansk / safe)


prod = reduction(
    "prod", forward=_prod_forward, weights=_prod_others,
    formula="product of the other elements",
    samples=lambda rng: _reduction_samples(rng, positive) + [
        ((np.array([[1.5, 0.0, 2.0], [0.7, 1.2, -0.8]]),), {"axis": 1}),
        # groups with 0, 1, 2 and 3 zeros: exact first and second derivatives for each
        ((np.array([[1.5, 0.0, 2.0, -0.5], [0.0, 1.2, 0.0, 0.8],
                    [0.0, 0.0, 0.0, 1.1], [0.9, 1.3, -0.7, 1.4]]),), {"axis": 1}),
        ((np.array([[0.0, 1.5], [2.0, 0.0], [0.5, -1.2]]),), {"axis": None})],
    ref=references.prod,
    doc="Product over axis.  d/dx_i = product of the other elements (exact with zeros).",
)


def _extreme(name, forward, np_fn, ref):
    def share(x, ans, axis, keepdims):
        """1/k on each of the k elements that attain the extreme, 0 elsewhere."""
        ansk = expand(ans, x, axis, keepdims)
        hit = (x == ansk).astype(ans.dtype)
        return hit / namespace(ans).sum(hit, axis=axis, keepdims=True)

    return reduction(
        name, forward=forward, weights=share, formula=f"1 at the {name}imum (shared among ties)",
        samples=lambda rng: _reduction_samples(rng, distinct), ref=ref,
        doc=f"{name.capitalize()}imum over axis; ties share the gradient equally "
            f"(as PyTorch's {np_fn}).",
    )


max = _extreme("max", lambda x, axis=None, keepdims=False: np.max(x, axis, keepdims=keepdims),
               "amax", lambda x, axis=None, keepdims=False: np.amax(x, axis=axis,
                                                                     keepdims=keepdims))
min = _extreme("min", lambda x, axis=None, keepdims=False: np.min(x, axis, keepdims=keepdims),
               "amin", lambda x, axis=None, keepdims=False: -np.amax(-x, axis=axis,
                                                                      keepdims=keepdims))


def _max_kept(x, axis):
    """max over ``axis`` (keepdims); -inf where that axis has length 0 (the max of nothing,
    so that logsumexp of nothing is log(0) = -inf and softmax of nothing is empty)."""
    if np.size(x) == 0:
        return np.full(kept_shape(np.shape(x), axis), -np.inf,
                       dtype=np.result_type(x, np.float32))
    return np.max(x, axis=axis, keepdims=True)


def _logsumexp_forward(x, axis=None, keepdims=False):
    m = _max_kept(x, axis)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=normalize_axes(axis, np.ndim(x)))


def _lse_weights(x, ans, axis, keepdims):
    """softmax(x) over axis: d logsumexp / dx."""
    return namespace(ans).exp(x - expand(ans, x, axis, keepdims))


logsumexp = reduction(
    "logsumexp", forward=_logsumexp_forward, weights=_lse_weights, formula="softmax(x)",
    samples=_reduction_samples,
    ref=references.logsumexp,
    doc="log(sum(exp(x))) over axis, stable for any magnitude.  d/dx = softmax(x).",
)


def _l2norm_forward(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _l2_direction(x, ans, axis, keepdims):
    """x/|x|, and 0 where |x| = 0 (the subgradient PyTorch uses)."""
    ansk = expand(ans, x, axis, keepdims)
    return x / (ansk + (ansk == 0).astype(ans.dtype))


l2norm = reduction(
    "l2norm", forward=_l2norm_forward, weights=_l2_direction, formula="x/‖x‖",
    samples=_reduction_samples,
    ref=lambda x, axis=None, keepdims=False: np.sqrt(np.sum(x**2, axis=axis,
                                                               keepdims=keepdims)),
    doc="Euclidean (Frobenius) norm over axis.  d/dx = x/‖x‖ (0 at x = 0).",
)


def _softmax_forward(x, axis=-1):
    e = np.exp(x - _max_kept(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_rule(g, ans, x, axis=-1):
    """s ⊙ (g - Σ g ⊙ s): the Jacobian s_i(δ_ij - s_j) is symmetric, so this one rule is
    both the VJP (of a cotangent g) and the JVP (of a tangent)."""
    return ans * (g - namespace(g).sum(g * ans, axis=axis, keepdims=True))


softmax = Primitive(
    "softmax", _softmax_forward, vjp=_softmax_rule, jvp=_softmax_rule,
    formulas=("s_i·(δ_ij - s_j)",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4),), {"axis": -1}),
                         ((normal(rng, 3, 4),), {"axis": 0})],
    saves_args=False, numpy="softmax", method=True,
    ref=references.softmax,
    doc="exp(x)/sum(exp(x)) over axis, stable for any magnitude.  ds_i/dx_j = s_i(δ_ij - s_j).",
)


def _log_softmax_forward(x, axis=-1):
    """(x - m) - log(sum(exp(x - m))), m the maximum (PyTorch's order): x - m is exact for
    any magnitude, where x - logsumexp(x) rounds 1e300 - (1e300 + log 2) to 0; a row that
    holds +inf or NaN gives NaN throughout, as softmax does."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = x - _max_kept(x, axis)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _log_softmax_vjp(g, ans, x, axis=-1):
    xp = namespace(g)
    return g - xp.exp(ans) * xp.sum(g, axis=axis, keepdims=True)


def _log_softmax_jvp(t, ans, x, axis=-1):
    xp = namespace(t)
    return t - xp.sum(xp.exp(ans) * t, axis=axis, keepdims=True)


log_softmax = Primitive(
    "log_softmax", _log_softmax_forward, vjp=_log_softmax_vjp, jvp=_log_softmax_jvp,
    formulas=("δ_ij - softmax(x)_j",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4),), {"axis": -1}),
                         ((normal(rng, 3, 4),), {"axis": 0})],
    saves_args=False, numpy="log_softmax", method=True,
    ref=lambda x, axis=-1: np.log(references.softmax(x, axis)),
    doc="x - logsumexp(x) over axis, stable.  d/dx_j = δ_ij - softmax(x)_j.",
)

__all__ = ["sum", "mean", "prod", "max", "min", "logsumexp", "l2norm", "softmax",
           "log_softmax", "normalize_axes", "kept_shape", "expand", "call"]
