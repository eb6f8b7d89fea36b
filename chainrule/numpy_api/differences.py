"""Differences and running sums and products with NumPy's names: ``diff``, ``cumsum``,
``cumprod`` and the finite-difference ``gradient``.

``diff`` and ``cumprod`` are compositions of indexing, subtraction and products;
``cumsum`` and ``gradient`` are the linear primitives of :mod:`chainrule.ops.cumulative`.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule.numpy_api.arranging import _axes
from chainrule.numpy_api.math_functions import astype
from chainrule.numpy_api.shape import (
    _axis,
    _data,
    _ndim,
    _operand,
    _shape,
    broadcast_to,
    concatenate,
    getitem,
    ravel,
)
from chainrule.ops import arithmetic, cumulative
from chainrule.tensor import Tensor

# ----- differences, running sums and products -----------------------------------------------------


def diff(a, n: int = 1, axis: int = -1, prepend=None, append=None) -> Tensor:
    """The n-th discrete difference ``a[i+1] - a[i]`` along ``axis``, with values
    optionally joined before and after first (NumPy's ``prepend``/``append``)."""
    a = _operand(a)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got {n}")
    nd = _ndim(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = _axis(axis, nd, "diff: axis")
    if n == 0:
        return a
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            if not parts:
                parts.append(a)
            continue
        e = _operand(extra)
        if _ndim(e) == 0:
            shape = list(_shape(a))
            shape[ax] = 1
            e = broadcast_to(e, tuple(shape))
        parts.append(e)
    if prepend is not None:
        parts.insert(1, a)
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    head = (slice(None),) * ax
    for _ in range(n):
        a = arithmetic.subtract(getitem(a, head + (slice(1, None),)),
                          getitem(a, head + (slice(None, -1),)))
    return a


def cumsum(x, axis=None, dtype=None) -> Tensor:
    """Running sums along ``axis`` (the flattened array when None): ans_i = Σ_{j ≤ i} x_j,
    so dL/dx_i = Σ_{j ≥ i} g_j."""
    x = _operand(x)
    if dtype is not None:
        x = astype(x, dtype)
    if axis is None:
        x, axis = ravel(x), 0
    return cumulative.cumsum(x, axis=_axis(axis, _ndim(x), "cumsum: axis"))


def _spacing(value, n: int) -> tuple:
    """One axis's spacing as a hashable argument of np.gradient: () for unit spacing, a
    number, or the coordinates as a tuple of floats."""
    v = np.asarray(_data(value), dtype=np.float64)
    if v.ndim == 0:
        return (float(v),)
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(f"gradient: coordinates must be 1-D with one value per element "
                         f"({n}), got shape {v.shape}")
    return (tuple(v.tolist()),)


def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """NumPy's finite-difference gradient: central differences inside, one-sided (first
    or second order, ``edge_order``) at the ends; ``varargs`` as NumPy's (one spacing for
    all axes, or one spacing or coordinate array per axis). One array per axis (a tuple
    when there are several). Linear in ``f``, so differentiable exactly (see
    :mod:`chainrule.ops.cumulative`)."""
    f = _operand(f)
    nd = _ndim(f)
    axes = _axes(axis, nd, "gradient: axis")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    shape = _shape(f)
    if not varargs:
        spacings = [()] * len(axes)
    elif len(varargs) == 1 and np.ndim(_data(varargs[0])) == 0:
        spacings = [_spacing(varargs[0], 0)] * len(axes)
    elif len(varargs) == len(axes):
        spacings = [_spacing(v, shape[a]) for v, a in zip(varargs, axes)]
    else:
        raise TypeError(f"gradient: give no spacing, one for all axes, or one per axis "
                        f"({len(axes)}); got {len(varargs)}")
    for a in axes:
        if shape[a] < edge_order + 1:
            raise ValueError(f"gradient: axis {a} has {shape[a]} elements; edge_order="
                             f"{edge_order} needs at least {edge_order + 1}")
    out = tuple(cumulative.gradient_along(f, spacing=s, axis=a, edge_order=edge_order)
                for s, a in zip(spacings, axes))
    return out[0] if len(out) == 1 else out


def cumprod(x, axis=None, dtype=None) -> Tensor:
    """Running products along ``axis`` (the flattened array when None). Built as a chain
    of products, one per position, so its gradient is exact with zeros too (to any
    order); for very long axes prefer ``exp(cumsum(log(x)))`` where x > 0."""
    x = _operand(x)
    if dtype is not None:
        x = astype(x, dtype)
    if axis is None:
        x, axis = ravel(x), 0
    ax = _axis(axis, _ndim(x), "cumprod: axis")
    n = _shape(x)[ax]
    if n == 0:
        return x
    head = (slice(None),) * ax
    running = getitem(x, head + (slice(0, 1),))
    pieces = [running]
    for i in range(1, n):
        running = arithmetic.multiply(running, getitem(x, head + (slice(i, i + 1),)))
        pieces.append(running)
    return concatenate(pieces, axis=ax)
