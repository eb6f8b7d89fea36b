"""More of NumPy's array functions, written from chainrule's differentiable ones.

Stacking and splitting (``vstack``, ``hstack``, ``array_split``, ``r_``, ...), flipping and
moving axes (``flip``, ``rot90``, ``roll``, ``moveaxis``), diagonals and triangles
(``diagonal``, ``trace``, ``diag``, ``triu``), products (``tensordot``, ``kron``, ``inner``,
``cross``), ordering (``sort``, ``partition``, ``take_along_axis``), ``diff``, ``cumprod``,
``select`` and ``nan_to_num``. Each is a composition of primitives (indexing, concatenation,
transposition, ``where``, ``einsum``), so its gradient, in both modes and at any order,
comes from theirs: nothing here has a rule of its own. Names, arguments and results
(shapes, list versus array) are NumPy's.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from chainrule import numpy_api as _api
from chainrule.ops import cumulative
from chainrule.tensor import Tensor, add_methods

_operand, _data = _api._operand, _api._data


def _ndim(x) -> int:
    return np.ndim(_data(x))


def _shape(x) -> tuple:
    return np.shape(_data(x))


def _norm_axis(axis, ndim: int, who: str) -> int:
    return _api._axis(axis, ndim, who)


# ----- at least n dimensions, stacking ----------------------------------------------------------


def _one_or_list(results: list):
    return results[0] if len(results) == 1 else results


def atleast_1d(*arys):
    """Each input with at least one axis (a scalar becomes shape (1,))."""
    out = [_operand(a) for a in arys]
    return _one_or_list([_api.reshape(a, (1,)) if _ndim(a) == 0 else a for a in out])


def atleast_2d(*arys):
    """Each input with at least two axes: () -> (1, 1), (n,) -> (1, n)."""
    out = []
    for a in map(_operand, arys):
        nd = _ndim(a)
        out.append(_api.reshape(a, (1, 1)) if nd == 0 else
                   _api.reshape(a, (1, -1)) if nd == 1 else a)
    return _one_or_list(out)


def atleast_3d(*arys):
    """Each input with at least three axes: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1)."""
    out = []
    for a in map(_operand, arys):
        nd, shape = _ndim(a), _shape(a)
        out.append(_api.reshape(a, (1, 1, 1)) if nd == 0 else
                   _api.reshape(a, (1, shape[0], 1)) if nd == 1 else
                   _api.reshape(a, (*shape, 1)) if nd == 2 else a)
    return _one_or_list(out)


def _sequence(tup, who: str) -> list:
    if isinstance(tup, (Tensor, np.ndarray)):
        raise TypeError(f"{who} takes a sequence of arrays (a list or tuple), not one array")
    arrays = list(tup)
    if not arrays:
        raise ValueError(f"{who}: need at least one array")
    return arrays


def vstack(tup) -> Tensor:
    """Arrays stacked as rows (along axis 0, 1-D arrays becoming rows)."""
    return _api.concatenate([atleast_2d(a) for a in _sequence(tup, "vstack")], axis=0)


row_stack = vstack


def hstack(tup) -> Tensor:
    """Arrays joined along axis 1 (axis 0 for 1-D arrays)."""
    arrays = [atleast_1d(a) for a in _sequence(tup, "hstack")]
    return _api.concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def dstack(tup) -> Tensor:
    """Arrays stacked along the third axis (after making each at least 3-D)."""
    return _api.concatenate([atleast_3d(a) for a in _sequence(tup, "dstack")], axis=2)


def column_stack(tup) -> Tensor:
    """1-D arrays as the columns of a 2-D array; 2-D arrays joined along axis 1."""
    cols = []
    for a in map(_operand, _sequence(tup, "column_stack")):
        cols.append(_api.reshape(a, (-1, 1)) if _ndim(a) < 2 else a)
    return _api.concatenate(cols, axis=1)


def append(arr, values, axis=None) -> Tensor:
    """``values`` appended to ``arr``: both flattened when ``axis`` is None."""
    if axis is None:
        return _api.concatenate([_api.ravel(arr), _api.ravel(values)], axis=0)
    return _api.concatenate([arr, values], axis=axis)


# ----- splitting ------------------------------------------------------------------------------


def array_split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """Like ``split``, but an integer number of sections need not divide the axis: the
    first ``n % k`` pieces get one element more (NumPy's rule)."""
    x = _operand(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be > 0, got {k}")
        n = _shape(x)[_norm_axis(axis, _ndim(x), "array_split: axis")]
        size, extra = divmod(n, k)
        sizes = [size + 1] * extra + [size] * (k - extra)
        indices_or_sections = np.cumsum(sizes)[:-1].tolist()
    return _api.split(x, indices_or_sections, axis=axis)


def _split_along(x, sections, axis: int, min_ndim: int, who: str) -> list[Tensor]:
    x = _operand(x)
    if _ndim(x) < min_ndim:
        raise ValueError(f"{who} only works on arrays of {min_ndim} or more dimensions, "
                         f"got shape {_shape(x)}")
    return _api.split(x, sections, axis=axis)


def vsplit(x, indices_or_sections) -> list[Tensor]:
    """``split`` along axis 0 (rows); x must be at least 2-D."""
    return _split_along(x, indices_or_sections, 0, 2, "vsplit")


def hsplit(x, indices_or_sections) -> list[Tensor]:
    """``split`` along axis 1 (axis 0 for 1-D x)."""
    x = _operand(x)
    if _ndim(x) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return _api.split(x, indices_or_sections, axis=1 if _ndim(x) > 1 else 0)


def dsplit(x, indices_or_sections) -> list[Tensor]:
    """``split`` along axis 2 (depth); x must be at least 3-D."""
    return _split_along(x, indices_or_sections, 2, 3, "dsplit")


class _Concatenator:
    """``cr.r_[...]`` and ``cr.c_[...]``: NumPy's index tricks that join arrays, Tensors,
    numbers and slices (``1:5`` is ``arange(1, 5)``, ``0:1:5j`` is ``linspace(0, 1, 5)``)."""

    def __init__(self, name: str, columns: bool):
        self._name = name
        self._columns = columns

    def _item(self, item):
        if isinstance(item, slice):
            start = 0 if item.start is None else item.start
            step = 1 if item.step is None else item.step
            if isinstance(step, complex):
                return np.linspace(start, item.stop, int(abs(step)))
            return np.arange(start, item.stop, step)
        if isinstance(item, str):
            raise ValueError(f"cr.{self._name}[...]: NumPy's string directives ({item!r}) are "
                             f"not supported; use cr.concatenate(..., axis=...) instead")
        return _operand(item)

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        parts = [self._item(i) for i in items]
        if not self._columns:
            return _api.concatenate([atleast_1d(p) for p in parts], axis=0)
        cols = [_api.reshape(p, (-1, 1)) if _ndim(p) <= 1 else p for p in parts]
        return _api.concatenate(cols, axis=-1)

    def __repr__(self) -> str:
        return f"cr.{self._name}"


r_ = _Concatenator("r_", columns=False)
c_ = _Concatenator("c_", columns=True)


# ----- flipping, rolling, moving axes ---------------------------------------------------------


def _axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(_norm_axis(a, ndim, who) for a in axes)


def flip(x, axis=None) -> Tensor:
    """The order of elements reversed along ``axis`` (all axes when None)."""
    x = _operand(x)
    nd = _ndim(x)
    flipped = set(_axes(axis, nd, "flip: axis"))
    return _api.getitem(x, tuple(slice(None, None, -1) if i in flipped else slice(None)
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
    a0, a1 = (_norm_axis(a, nd, "rot90: axes") for a in axes)
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
        return _api.transpose(flip(m, a1), perm)
    return flip(_api.transpose(m, perm), a1)


def roll(x, shift, axis=None) -> Tensor:
    """Elements shifted by ``shift`` along ``axis``, wrapping around (the flattened array
    when ``axis`` is None). ``shift`` and ``axis`` may be tuples."""
    x = _operand(x)
    if axis is None:
        return _api.reshape(roll(_api.ravel(x), shift, 0), _shape(x))
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
        a = _norm_axis(a, _ndim(x), "roll: axis")
        total[a] = total.get(a, 0) + int(s)
    for a, s in total.items():
        n = _shape(x)[a]
        if n:
            x = _api.take(x, (np.arange(n) - s) % n, axis=a)
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
    return _api.transpose(x, order)


def rollaxis(x, axis: int, start: int = 0) -> Tensor:
    """``axis`` rolled back until it lies before ``start`` (NumPy's older ``moveaxis``)."""
    x = _operand(x)
    nd = _ndim(x)
    axis = _norm_axis(axis, nd, "rollaxis: axis")
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
    return _api.transpose(x, order)


# ----- diagonals and triangles -----------------------------------------------------------------


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``x[..., i, i + offset]`` of the plane (axis1, axis2), as NumPy: those
    two axes removed and the diagonal appended as the last axis."""
    x = _operand(x)
    nd = _ndim(x)
    if nd < 2:
        raise ValueError(f"diagonal: the array must be at least 2-D, got shape {_shape(x)}")
    a1, a2 = _norm_axis(axis1, nd, "diagonal: axis1"), _norm_axis(axis2, nd, "diagonal: axis2")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    moved = _api.transpose(x, [i for i in range(nd) if i not in (a1, a2)] + [a1, a2])
    rows, cols = _shape(x)[a1], _shape(x)[a2]
    r0, c0 = builtins.max(-offset, 0), builtins.max(offset, 0)
    k = builtins.max(0, builtins.min(rows - r0, cols - c0))
    i = np.arange(k)
    return _api.getitem(moved, (Ellipsis, r0 + i, c0 + i))


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None) -> Tensor:
    """The sum of the diagonal (see ``diagonal``)."""
    return _api.sum(diagonal(x, offset, axis1, axis2), axis=-1, dtype=dtype)


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
    zeros = _api.zeros((size, size), dtype=np.result_type(_data(v).dtype, np.float32)
                       if _data(v).dtype.kind in "fc" else _data(v).dtype)
    return _api.index_put(zeros, v, (rows, cols))


def _triangle(m, k: int, upper: bool, who: str) -> Tensor:
    m = _operand(m)
    shape = _shape(m)
    if len(shape) < 2:
        raise ValueError(f"{who}: the array must be at least 2-D, got shape {shape}")
    rows, cols = shape[-2:]
    keep = (np.triu if upper else np.tril)(np.ones((rows, cols), dtype=bool), k)
    # where, not a product with a 0/1 mask: inf or nan outside the triangle give 0, as NumPy
    return _api.where(keep, m, 0)


def triu(m, k: int = 0) -> Tensor:
    """The upper triangle (on and above the k-th diagonal); the rest zero."""
    return _triangle(m, k, True, "triu")


def tril(m, k: int = 0) -> Tensor:
    """The lower triangle (on and below the k-th diagonal); the rest zero."""
    return _triangle(m, k, False, "tril")


# ----- products --------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tensordot(a, b, axes=2) -> Tensor:
    """Sum of products over the last ``axes`` axes of a and the first of b (an int), or
    over the axes paired in ``axes = (axes_a, axes_b)``."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > builtins.min(na, nb):
            raise ValueError(f"tensordot: axes={n} does not fit arrays of dimensions {na} "
                             f"and {nb}")
        axes_a, axes_b = list(range(na - n, na)), list(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise ValueError("tensordot: axes must be an int or a pair of axis "
                             "sequences") from None
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: the two axis sequences must have the same length")
        axes_a = [_norm_axis(i, na, "tensordot: axes") for i in axes_a]
        axes_b = [_norm_axis(i, nb, "tensordot: axes") for i in axes_b]
    for i, j in zip(axes_a, axes_b):
        if _shape(a)[i] != _shape(b)[j]:
            raise ValueError(f"tensordot: shape mismatch for sum over axis {i} of a "
                             f"{_shape(a)} and axis {j} of b {_shape(b)}")
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in axes_a] + \
          [c for j, c in enumerate(sb) if j not in axes_b]
    return _api.einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def inner(a, b) -> Tensor:
    """Sum of products over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``."""
    a, b = _operand(a), _operand(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return _api.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a, b) -> Tensor:
    """The Kronecker product: blocks ``a[i, j]·b`` (arrays of any dimension, the smaller
    one padded with leading axes of length 1)."""
    a, b = _operand(a), _operand(b)
    nd = builtins.max(_ndim(a), _ndim(b))
    sa = (1,) * (nd - _ndim(a)) + _shape(a)
    sb = (1,) * (nd - _ndim(b)) + _shape(b)
    # interleave: a's axes at even positions, b's at odd ones, then merge each pair
    a2 = _api.reshape(a, tuple(s for n in sa for s in (n, 1)))
    b2 = _api.reshape(b, tuple(s for n in sb for s in (1, n)))
    return _api.reshape(_api.multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None) -> Tensor:
    """The cross product of 3-vectors (or 2-vectors, taken with z = 0; two 2-vectors give
    the z component alone), along ``axis`` or ``axisa``/``axisb``/``axisc``."""
    a, b = _operand(a), _operand(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must "
                         f"be 2 or 3), got {na} and {nb}")

    def part(v, i, n):
        return _api.getitem(v, (Ellipsis, i)) if i < n else None

    a0, a1, a2 = (part(a, i, na) for i in range(3))
    b0, b1, b2 = (part(b, i, nb) for i in range(3))
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    x = (a1 * b2 if b2 is not None else 0) - (a2 * b1 if a2 is not None else 0)
    y = (a2 * b0 if a2 is not None else 0) - (a0 * b2 if b2 is not None else 0)
    x, y = (_api.broadcast_to(_operand(v), _shape(z)) for v in (x, y))
    out = _api.stack([x, y, z], axis=-1)
    return moveaxis(out, -1, axisc)


# ----- ordering --------------------------------------------------------------------------------


def take_along_axis(x, indices, axis) -> Tensor:
    """``x`` gathered at ``indices`` along ``axis`` (indices has x's number of dimensions,
    other axes broadcast), as NumPy; ``axis=None`` works on the flattened x."""
    x = _operand(x)
    idx = np.asarray(_data(indices))
    if axis is None:
        x, axis = _api.ravel(x), 0
    nd = _ndim(x)
    if idx.ndim != nd:
        raise ValueError(f"take_along_axis: indices must have the same number of dimensions "
                         f"as x ({nd}), got {idx.ndim}")
    ax = _norm_axis(axis, nd, "take_along_axis: axis")
    grids = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
    grids[ax] = idx
    return _api.getitem(x, tuple(grids))


def sort(x, axis=-1, kind=None, order=None) -> Tensor:
    """Sorted along ``axis`` (the flattened array when None). The gradient of each output
    goes to the element that landed there (a stable sort decides ties)."""
    if order is not None:
        raise ValueError("sort: order= applies to structured arrays, which chainrule does "
                         "not have")
    x = _operand(x)
    if axis is None:
        x, axis = _api.ravel(x), 0
    if _ndim(x) == 0:
        raise np.exceptions.AxisError("sort: a 0-d array has no axis to sort along")
    idx = np.argsort(_data(x), axis=axis, kind="stable" if kind is None else kind)
    return take_along_axis(x, idx, axis)


def partition(x, kth, axis=-1, kind: str = "introselect", order=None) -> Tensor:
    """Partially sorted so that the element at ``kth`` is where a full sort would put it,
    smaller ones before it and larger ones after (in no particular order)."""
    if order is not None:
        raise ValueError("partition: order= applies to structured arrays, which chainrule "
                         "does not have")
    x = _operand(x)
    if axis is None:
        x, axis = _api.ravel(x), 0
    idx = np.argpartition(_data(x), kth, axis=axis, kind=kind)
    return take_along_axis(x, idx, axis)


# ----- differences, running products, selection ------------------------------------------------


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
    ax = _norm_axis(axis, nd, "diff: axis")
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
            e = _api.broadcast_to(e, tuple(shape))
        parts.append(e)
    if prepend is not None:
        parts.insert(1, a)
    if len(parts) > 1:
        a = _api.concatenate(parts, axis=ax)
    head = (slice(None),) * ax
    for _ in range(n):
        a = _api.subtract(_api.getitem(a, head + (slice(1, None),)),
                          _api.getitem(a, head + (slice(None, -1),)))
    return a


def cumsum(x, axis=None, dtype=None) -> Tensor:
    """Running sums along ``axis`` (the flattened array when None): ans_i = Σ_{j ≤ i} x_j,
    so dL/dx_i = Σ_{j ≥ i} g_j."""
    x = _operand(x)
    if dtype is not None:
        x = _api.astype(x, dtype)
    if axis is None:
        x, axis = _api.ravel(x), 0
    return cumulative.cumsum(x, axis=_norm_axis(axis, _ndim(x), "cumsum: axis"))


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
        x = _api.astype(x, dtype)
    if axis is None:
        x, axis = _api.ravel(x), 0
    ax = _norm_axis(axis, _ndim(x), "cumprod: axis")
    n = _shape(x)[ax]
    if n == 0:
        return x
    head = (slice(None),) * ax
    running = _api.getitem(x, head + (slice(0, 1),))
    pieces = [running]
    for i in range(1, n):
        running = _api.multiply(running, _api.getitem(x, head + (slice(i, i + 1),)))
        pieces.append(running)
    return _api.concatenate(pieces, axis=ax)


def select(condlist, choicelist, default=0) -> Tensor:
    """From ``choicelist[i]`` where ``condlist[i]`` is the first true condition, else
    ``default``; the gradient flows to the chosen values."""
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select: select with an empty condition list is not possible")
    out = _operand(default)
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        c = np.asarray(_data(cond))
        if c.dtype != bool:
            raise TypeError(f"select: condlist entries must be boolean arrays, got {c.dtype}")
        out = _api.where(c, choice, out)
    return out


def nan_to_num(x, copy: bool = True, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN replaced by ``nan``, +inf by ``posinf`` (default: the dtype's largest number),
    -inf by ``neginf`` (its most negative). The gradient is 1 at finite entries, 0 at
    replaced ones. ``copy`` is accepted for NumPy code; the result is always new."""
    x = _operand(x)
    data = np.asarray(_data(x))
    if data.dtype.kind not in "fc":
        return x
    info = np.finfo(data.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    out = _api.where(np.isnan(data), nan, x)
    out = _api.where(np.isposinf(data), big, out)
    return _api.where(np.isneginf(data), small, out)


# ----- complex-number helpers on real arrays ---------------------------------------------------


def _real_operand(x, who: str):
    x = _operand(x)
    if np.iscomplexobj(_data(x)):
        raise TypeError(f"{who}: chainrule's arrays are real; got a complex array")
    return x


def real(x):
    """The real part: x itself for real x (d/dx = 1)."""
    return _real_operand(x, "real")


def conjugate(x):
    """The complex conjugate: x itself for real x (d/dx = 1)."""
    return _real_operand(x, "conjugate")


conj = conjugate


def imag(x) -> Tensor:
    """The imaginary part: zeros for real x (a constant, gradient 0)."""
    data = np.asarray(_data(_real_operand(x, "imag")))
    return Tensor(np.zeros_like(data, dtype=np.result_type(data, np.float32)
                                if data.dtype.kind != "f" else data.dtype))


def angle(x, deg: bool = False) -> Tensor:
    """The argument of each number: 0 for x ≥ 0 and π (180 with ``deg``) for x < 0 on real
    input; piecewise constant, so its gradient is 0."""
    data = np.asarray(_data(_real_operand(x, "angle")))
    return Tensor(np.asarray(np.angle(data, deg=deg)))


#: The NumPy functions here that run for ``np.<name>(tensor)`` (NumPy's dispatch).
ARRAY_FUNCTIONS = {name: globals()[name] for name in (
    "atleast_1d atleast_2d atleast_3d vstack hstack dstack column_stack append array_split "
    "vsplit hsplit dsplit flip flipud fliplr rot90 roll moveaxis rollaxis diagonal trace diag "
    "triu tril tensordot inner kron cross take_along_axis sort partition diff cumsum cumprod "
    "gradient select nan_to_num real imag conjugate angle").split()}

#: The ones that are also Tensor methods, as NumPy's ndarray has them (not ``sort`` and
#: ``partition``, which sort an ndarray in place).
METHODS = ("diagonal", "trace", "cumsum", "cumprod", "conj", "conjugate")

ARRAY_FUNCTIONS["conj"] = conjugate

__all__ = sorted(ARRAY_FUNCTIONS) + ["row_stack", "r_", "c_"]

# NumPy's dispatch (np.vstack([t, u]), np.trace(t)) and the method forms (t.trace()) find
# these functions through the NumPy surface's tables.
_api.ARRAY_FUNCTIONS.update(ARRAY_FUNCTIONS)
add_methods(METHODS, {name: ARRAY_FUNCTIONS[name] for name in METHODS})
