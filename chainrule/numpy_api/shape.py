"""Array manipulation with NumPy's names and arguments: reshape, transpose, concatenate,
stack, split, pad, take, repeat, tile, and indexing (``x[idx]``, ``x[idx] = v``).

Also the operand rule of the whole NumPy surface: a list or tuple that holds Tensors is
one array, stacked differentiably (:func:`_operand`).
"""

from __future__ import annotations

import builtins
import operator

import numpy as np
from numpy.exceptions import AxisError

from chainrule.autodiff.primitive import _SEQUENCES, as_operand  # noqa: F401  (_SEQUENCES: for math_functions)
from chainrule.ops import arithmetic, index
from chainrule.ops import shape as shape_ops
from chainrule.tensor import Tensor

# ----- operands: a list or tuple that holds Tensors is one array, as in NumPy -----------------

_operand = as_operand  # (a list of Tensors is one differentiable array; see as_operand)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _ndim(x) -> int:
    return np.ndim(_data(x))


def _shape(x) -> tuple:
    return np.shape(_data(x))


# ----- shape -----------------------------------------------------------------------------------


def reshape(x, shape, order: str = "C") -> Tensor:
    """The same elements in ``shape`` (one entry may be -1), read and placed in C order
    (last index fastest) or, with ``order='F'``, Fortran order (first index fastest)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    x = _operand(x)
    if order == "F":  # Fortran order is C order on the reversed axes
        return transpose(shape_ops.reshape(transpose(x), shape=tuple(shape)[::-1]))
    if order != "C":
        raise ValueError(f"reshape: order must be 'C' or 'F', got {order!r}")
    return shape_ops.reshape(x, shape=tuple(shape))


def _axis(axis, ndim: int, who: str) -> int:
    """One axis, negative allowed, as a non-negative int; NumPy's ``AxisError`` (a
    ``ValueError`` and an ``IndexError``) when out of range."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{who} must be an int, got {axis!r}") from None
    if not -ndim <= a < ndim:
        raise AxisError(a, ndim, who)
    return a % ndim


def transpose(x, axes=None) -> Tensor:
    """Axes permuted (``axes[i]`` is the input axis that becomes axis i, negative allowed);
    reversed when ``axes`` is None."""
    x = _operand(x)
    if axes is None:
        return shape_ops.transpose(x, axes=None)
    ndim = np.ndim(_data(x))
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    if len(axes) != ndim:
        raise ValueError(f"transpose: axes {axes} don't match an array of dimension {ndim}; "
                         f"give a permutation of all {ndim} axes")
    perm = tuple(_axis(a, ndim, "transpose") for a in axes)
    if len(set(perm)) != ndim:
        raise ValueError(f"transpose: repeated axis in axes {axes}")
    return shape_ops.transpose(x, axes=perm)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Two axes exchanged (negative allowed; out of range: NumPy's ``AxisError``)."""
    x = _operand(x)
    nd = np.ndim(_data(x))
    a, b = _axis(axis1, nd, "axis1"), _axis(axis2, nd, "axis2")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return shape_ops.transpose(x, axes=tuple(perm))


def expand_dims(x, axis) -> Tensor:
    """A new axis of length 1 at ``axis`` (int or tuple)."""
    x = _operand(x)
    return reshape(x, np.expand_dims(np.empty(np.shape(_data(x)), dtype=bool), axis).shape)


def squeeze(x, axis=None) -> Tensor:
    """Axes of length 1 removed (all, or those in ``axis``)."""
    x = _operand(x)
    return reshape(x, np.squeeze(np.empty(np.shape(_data(x)), dtype=bool), axis).shape)


def flatten(x) -> Tensor:
    """A 1-D copy of the elements (C order)."""
    return reshape(x, (-1,))


ravel = flatten


def broadcast_to(x, shape) -> Tensor:
    """x repeated along new or length-1 axes to ``shape``."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    x = _operand(x)
    if isinstance(x, Tensor) and x.shape == tuple(shape):
        return x
    return shape_ops.broadcast_to(x, shape=tuple(shape))


def concatenate(arrays, axis: int | None = 0) -> Tensor:
    """Arrays joined along an existing ``axis``; ``axis=None`` joins them flattened (as
    NumPy)."""
    arrays = [_operand(a) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array")
    if axis is None:
        arrays = [flatten(a) for a in arrays]
        axis = 0
    return shape_ops.concatenate(*arrays, axis=axis)


def stack(arrays, axis: int = 0) -> Tensor:
    """Arrays joined along a new ``axis``."""
    arrays = [_operand(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array")
    shapes = {np.shape(_data(a)) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all arrays must have the same shape, got {sorted(shapes)}")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """x cut into pieces along ``axis`` (NumPy's ``split``)."""
    x = _operand(x)
    n = np.shape(_data(x))[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: an axis of length {n} cannot be split into {k} equal parts")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    nd = np.ndim(_data(x))
    ax = axis % nd
    return [getitem(x, (slice(None),) * ax + (slice(lo, hi),))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad(x, pad_width, mode: str = "constant", constant_values=0) -> Tensor:
    """x padded as by NumPy's ``pad``: ``mode`` 'constant' (``constant_values``), 'edge',
    'reflect', 'symmetric' or 'wrap' (PyTorch's 'replicate' and 'circular' are 'edge' and
    'wrap').

    The last four copy elements of x, so each is a gather along every padded axis, with
    the index map NumPy's own ``pad`` gives for ``arange(n)``; a copied element's gradient
    is the sum over its copies.
    """
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode={mode!r} is not supported; use one of "
                         + ", ".join(repr(m) for m in _PAD_MODES))
    x = _operand(x)
    shape_ = np.shape(_data(x))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape_), 2))
    widths = tuple((int(a), int(b)) for a, b in widths)
    if builtins.any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: pad_width must be non-negative, got {widths}")
    if mode != "constant":
        if np.any(np.asarray(constant_values) != 0):
            raise ValueError(f"pad: constant_values is for mode='constant', not {mode!r}")
        out = x
        for axis, (before, after) in enumerate(widths):
            if before or after:
                try:
                    index = np.pad(np.arange(shape_[axis]), (before, after), mode=mode)
                except ValueError as exc:
                    raise ValueError(f"pad: mode={mode!r} cannot pad axis {axis} of length "
                                     f"{shape_[axis]}: {exc}") from None
                out = take(out, index, axis=axis)
        return out if out is not x else arithmetic.copy(x)  # nothing to pad: a copy, as NumPy's
    out = shape_ops.pad(x, pad_width=widths)
    if np.any(np.asarray(constant_values) != 0):
        # x padded with c is pad(x, 0) plus a constant border: no derivative flows into c,
        # and a tangent is padded with zeros.
        border = np.pad(np.zeros(np.shape(_data(x)), dtype=out.dtype), widths,
                        constant_values=constant_values)
        out = out + border
    return out


def take(x, indices, axis=None, mode: str = "raise") -> Tensor:
    """Elements at ``indices`` (along ``axis``, or of the flattened array). ``mode`` as
    NumPy's: 'raise' (an index out of range is an error), 'wrap' (indices modulo the
    length) or 'clip' (indices limited to [0, length - 1])."""
    x = _operand(x)
    indices = np.asarray(_data(indices))
    if axis is None:
        x = flatten(x)
        axis = 0
    ax = _axis(axis, np.ndim(_data(x)), "take: axis")
    if mode != "raise":
        if mode not in ("wrap", "clip"):
            raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
        n = np.shape(_data(x))[ax]
        if n == 0 and indices.size:
            raise IndexError("take: cannot take from an axis of length 0")
        if indices.dtype.kind not in "iu":
            raise IndexError(f"take: indices must be integers, got dtype {indices.dtype}")
        indices = indices % n if mode == "wrap" else np.clip(indices, 0, builtins.max(n - 1, 0))
    return getitem(x, (slice(None),) * ax + (indices,))


def repeat(x, repeats, axis=None) -> Tensor:
    """Each element repeated (NumPy's ``repeat``); gradients of the copies are summed."""
    x = _operand(x)
    if axis is None:
        x = flatten(x)
        axis = 0
    n = np.shape(_data(x))[axis]
    idx = np.repeat(np.arange(n), repeats)
    return take(x, idx, axis=axis)


def tile(x, reps) -> Tensor:
    """x repeated ``reps`` times along each axis (NumPy's ``tile``)."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    x = _operand(x)
    shape_ = np.shape(_data(x))
    nd = builtins.max(len(shape_), len(reps))
    shape_ = (1,) * (nd - len(shape_)) + tuple(shape_)
    reps = (1,) * (nd - len(reps)) + reps
    x = reshape(x, shape_)
    idx = np.ix_(*[np.tile(np.arange(s), r) for s, r in zip(shape_, reps)])
    return getitem(x, idx)


# ----- indexing -------------------------------------------------------------------------------


def _index(idx):
    """Tensors inside an index become arrays (masks and integer arrays)."""
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    if isinstance(idx, list):
        arr = np.asarray(idx)
        # An empty list selects nothing along the first axis (x[[]] in NumPy).
        return arr.astype(np.intp) if arr.size == 0 and arr.dtype.kind == "f" else arr
    return idx


def getitem(x, idx) -> Tensor:
    """``x[idx]``: basic and advanced indexing; repeated indices accumulate gradients."""
    return index.getitem(_operand(x), index=_index(idx))


def index_put(x, value, idx) -> Tensor:
    """x with ``x[idx] = value`` (a new tensor; ``x[idx] = v`` on a Tensor uses this)."""
    return index.index_put(_operand(x), _operand(value), index=_index(idx))
