"""Running sums and NumPy's finite-difference ``gradient``: linear maps along one axis.

Both are linear in their input, so the JVP is the function applied to the tangent and
the VJP is the adjoint map: for ``cumsum`` the running sum taken from the other end,
``r_i = Σ_{j ≥ i} g_j``; for ``gradient`` (``y = D x`` along the axis, D the banded
difference matrix NumPy applies) it is ``Dᵀ g``, with D read off ``np.gradient`` itself so
that every spacing and ``edge_order`` NumPy accepts has its exact adjoint.
"""

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import call
from chainrule.ops.declare import linear
from chainrule.ops.samples import normal, positive


def _cumsum_forward(x, axis):
    return np.cumsum(x, axis=axis)


def _cumsum_transpose(g, ans, x, axis):
    xp = namespace(g)
    if xp is np:  # the running sum from the end: flip, cumsum, flip
        return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
    # recorded: Σ_{j ≥ i} g_j = Σ_j g_j - Σ_{j ≤ i} g_j + g_i, from differentiable ops
    return xp.sum(g, axis=axis, keepdims=True) - call(cumsum, g, axis=axis) + g


def _cumsum_ref(x, axis):
    """As a product with the lower-triangular matrix of ones along ``axis``."""
    n = x.shape[axis]
    lower = np.tril(np.ones((n, n)))
    return np.moveaxis(np.moveaxis(x, axis, -1) @ lower.T, -1, axis)


cumsum = linear(
    "cumsum", forward=_cumsum_forward, vjp=_cumsum_transpose,
    formulas=("Σ_{j ≥ i} g_j",),
    samples=lambda rng: [((normal(rng, 3, 4),), {"axis": 1}),
                         ((normal(rng, 3, 4),), {"axis": 0}),
                         ((normal(rng, 5),), {"axis": -1})],
    ref=_cumsum_ref,
    doc="Running sums along ``axis``: ans_i = Σ_{j ≤ i} x_j.  dL/dx_i = Σ_{j ≥ i} g_j.",
)


def _gradient_forward(x, spacing, axis, edge_order):
    return np.gradient(x, *spacing, axis=axis, edge_order=edge_order)


def _difference_matrix(n: int, spacing, edge_order: int) -> np.ndarray:
    """D with ``np.gradient(v) = D v`` for vectors of length n (column j is the gradient
    of the j-th unit vector)."""
    return np.gradient(np.eye(n), *spacing, axis=0, edge_order=edge_order)


def _gradient_transpose(g, ans, x, spacing, axis, edge_order):
    xp = namespace(g)
    d = _difference_matrix(x.shape[axis], spacing, edge_order)
    # (Dᵀ g)_j = Σ_i D_ij g_i: with the axis last, that is g @ D
    moved = xp.swapaxes(g, axis, -1)
    return xp.swapaxes(xp.matmul(moved, d.astype(g.dtype)), axis, -1)


def _gradient_ref(x, spacing, axis, edge_order):
    """Second-order central differences inside, one-sided at the ends (uniform spacing,
    edge_order 1), written out."""
    assert edge_order == 1 and len(spacing) <= 1
    h = spacing[0] if spacing else 1.0
    v = np.moveaxis(x, axis, -1)
    out = np.empty_like(v)
    out[..., 1:-1] = (v[..., 2:] - v[..., :-2]) / (2 * h)
    out[..., 0] = (v[..., 1] - v[..., 0]) / h
    out[..., -1] = (v[..., -1] - v[..., -2]) / h
    return np.moveaxis(out, -1, axis)


gradient_along = linear(
    "gradient", forward=_gradient_forward, vjp=_gradient_transpose,
    formulas=("Dᵀ·g",),
    samples=lambda rng: [((normal(rng, 6),), {"spacing": (), "axis": 0, "edge_order": 1}),
                         ((normal(rng, 3, 5),), {"spacing": (0.5,), "axis": 1,
                                                 "edge_order": 1}),
                         ((positive(rng, 4, 3),), {"spacing": (2.0,), "axis": 0,
                                                   "edge_order": 1})],
    ref=_gradient_ref,
    doc="NumPy's finite-difference ``gradient`` along one axis, a linear map y = D x "
        "(central differences inside, one-sided at the ends).  dL/dx = Dᵀ g.",
)
