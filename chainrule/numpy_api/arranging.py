"""Rearranging elements with NumPy's names: flipping, rolling and moving axes (``flip``,
``rot90``, ``roll``, ``moveaxis``, ``rollaxis``), diagonals and triangles (``diagonal``,
``trace``, ``diag``, ``triu``, ``tril``).

Each is a composition of indexing, transposition, ``where`` and sums, so its gradient
(both modes, any order) comes from theirs: the gradient of a rearrangement puts each
output's gradient back where that element came from.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from chainrule.numpy_api.creation import zeros
from chainrule.numpy_api.math_functions import sum, where
from chainrule.numpy_api.shape import (
    _axis,
    _data,
    _ndim,
    _operand,
    _shape,
    getitem,
    index_put,
    ravel,
    reshape,
    take,
    transpose,
)
from chainrule.tensor import Tensor

# ----- flipping, rolling, moving axes ---------------------------------------------------------


def _axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(_axis(a, ndim, who) for a in axes)


def flip(x, axis=None) -> Tensor:
    """The order of elements reversed along ``axis`` (all axes when None)."""
    x = _operand(x)
    nd = _ndim(x)
    flipped = set(_axes(axis, nd, "flip: axis"))
    return getitem(x, tuple(slice(None, None, -1) if i in flipped else slice(None)
                                 for i in range(nd)))


def flipud(x) -> Tensor:
    """Rows reversed (axis 0)."""
    if _ndim(_operand(x)) < 1:
        raise ValueError("flipud: the array must be at least 1-D")
    return flip(x, 0)


def fliplr(x) -> Tensor:
    """Columns reversed (axis 1)."""
    if _ndim(_operand(x)) < 2:
        raise ValueError("fliplr: the array must be at least 2-D")
    return flip(x, 1)


def rot90(m, k: int = 1, axes=(0, 1)) -> Tensor:
    """Rotated by 90° ``k`` times in the plane of ``axes``, from the first axis towards the
    second (NumPy's rule)."""
    m = _operand(m)
    nd = _ndim(m)
    if len(axes) != 2:
        raise ValueError("rot90: axes must be two axes")
    a0, a1 = (_axis(a, nd, "rot90: axes") for a in axes)
    if a0 == a1:
        raise ValueError("rot90: the two axes must differ")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def roll(x, shift, axis=None) -> Tensor:
    """Elements shifted by ``shift`` along ``axis``, wrapping around (the flattened array
    when ``axis`` is None). ``shift`` and ``axis`` may be tuples."""
    x = _operand(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _shape(x))
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} must have the same length")
    total: dict[int, int] = {}
    for s, a in zip(shifts, axes):
        a = _axis(a, _ndim(x), "roll: axis")
        total[a] = total.get(a, 0) + int(s)
    for a, s in total.items():
        n = _shape(x)[a]
        if n:
            x = take(x, (np.arange(n) - s) % n, axis=a)
    return x


def moveaxis(x, source, destination) -> Tensor:
    """Axes moved to new positions; the others keep their order."""
    x = _operand(x)
    nd = _ndim(x)
    src = _axes(source, nd, "moveaxis: source")
    dst = _axes(destination, nd, "moveaxis: destination")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("moveaxis: repeated axis")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def rollaxis(x, axis: int, start: int = 0) -> Tensor:
    """``axis`` rolled back until it lies before ``start`` (NumPy's older ``moveaxis``)."""
    x = _operand(x)
    nd = _ndim(x)
    axis = _axis(axis, nd, "rollaxis: axis")
    if not -nd <= start <= nd:
        raise np.exceptions.AxisError(f"rollaxis: start {start} is out of bounds for an array "
                                      f"of dimension {nd}")
    start = start + nd if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return x
    order = [i for i in range(nd) if i != axis]
    order.insert(start, axis)
    return transpose(x, order)


# ----- diagonals and triangles -----------------------------------------------------------------


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``x[..., i, i + offset]`` of the plane (axis1, axis2), as NumPy: those
    two axes removed and the diagonal appended as the last axis."""
    x = _operand(x)
    nd = _ndim(x)
    if nd < 2:
        raise ValueError(f"diagonal: the array must be at least 2-D, got shape {_shape(x)}")
    a1, a2 = _axis(axis1, nd, "diagonal: axis1"), _axis(axis2, nd, "diagonal: axis2")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    moved = transpose(x, [i for i in range(nd) if i not in (a1, a2)] + [a1, a2])
    rows, cols = _shape(x)[a1], _shape(x)[a2]
    r0, c0 = builtins.max(-offset, 0), builtins.max(offset, 0)
    k = builtins.max(0, builtins.min(rows - r0, cols - c0))
    i = np.arange(k)
    return getitem(moved, (Ellipsis, r0 + i, c0 + i))


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None) -> Tensor:
    """The sum of the diagonal (see ``diagonal``)."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k: int = 0) -> Tensor:
    """A 1-D ``v`` placed on the k-th diagonal of a square matrix, or the k-th diagonal of
    a 2-D ``v``."""
    v = _operand(v)
    nd = _ndim(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {_shape(v)}")
    n = _shape(v)[0]
    size = n + abs(k)
    i = np.arange(n)
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    square = zeros((size, size), dtype=np.result_type(_data(v).dtype, np.float32)
                       if _data(v).dtype.kind in "fc" else _data(v).dtype)
    return index_put(square, v, (rows, cols))


def _triangle(m, k: int, upper: bool, who: str) -> Tensor:
    m = _operand(m)
    shape = _shape(m)
    if len(shape) < 2:
        raise ValueError(f"{who}: the array must be at least 2-D, got shape {shape}")
    rows, cols = shape[-2:]
    keep = (np.triu if upper else np.tril)(np.ones((rows, cols), dtype=bool), k)
    # where, not a product with a 0/1 mask: inf or nan outside the triangle give 0, as NumPy
    return where(keep, m, 0)


def triu(m, k: int = 0) -> Tensor:
    """The upper triangle (on and above the k-th diagonal); the rest zero."""
    return _triangle(m, k, True, "triu")


def tril(m, k: int = 0) -> Tensor:
    """The lower triangle (on and below the k-th diagonal); the rest zero."""
    return _triangle(m, k, False, "tril")
