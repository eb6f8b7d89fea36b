"""Sorting with NumPy's names: ``sort``, ``partition``, ``take_along_axis``.

The order is found on the values (``np.argsort``/``np.argpartition``) and applied by
indexing, so the gradient of each output goes to the element that landed there.
"""

from __future__ import annotations

import numpy as np

from chainrule.numpy_api.shape import _axis, _data, _ndim, _operand, getitem, ravel
from chainrule.tensor import Tensor

# ----- ordering --------------------------------------------------------------------------------


def take_along_axis(x, indices, axis) -> Tensor:
    """``x`` gathered at ``indices`` along ``axis`` (indices has x's number of dimensions,
    other axes broadcast), as NumPy; ``axis=None`` works on the flattened x."""
    x = _operand(x)
    idx = np.asarray(_data(indices))
    if axis is None:
        x, axis = ravel(x), 0
    nd = _ndim(x)
    if idx.ndim != nd:
        raise ValueError(f"take_along_axis: indices must have the same number of dimensions "
                         f"as x ({nd}), got {idx.ndim}")
    ax = _axis(axis, nd, "take_along_axis: axis")
    grids = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
    grids[ax] = idx
    return getitem(x, tuple(grids))


def _ordered(name: str, x, axis, order, indices_of) -> Tensor:
    """``x`` along ``axis`` (the flattened array when None) in the order that
    ``indices_of(values, axis)`` finds on its values, applied by indexing."""
    if order is not None:
        raise ValueError(f"{name}: order= applies to structured arrays, which chainrule does "
                         "not have")
    x = _operand(x)
    if axis is None:
        x, axis = ravel(x), 0
    if _ndim(x) == 0:
        raise np.exceptions.AxisError(f"{name}: a 0-d array has no axis to {name} along")
    return take_along_axis(x, indices_of(_data(x), axis), axis)


def sort(x, axis=-1, kind=None, order=None) -> Tensor:
    """Sorted along ``axis`` (the flattened array when None). The gradient of each output
    goes to the element that landed there (a stable sort decides ties)."""
    return _ordered("sort", x, axis, order, lambda v, ax: np.argsort(
        v, axis=ax, kind="stable" if kind is None else kind))


def partition(x, kth, axis=-1, kind: str = "introselect", order=None) -> Tensor:
    """Partially sorted so that the element at ``kth`` is where a full sort would put it,
    smaller ones before it and larger ones after (in no particular order)."""
    return _ordered("partition", x, axis, order,
                    lambda v, ax: np.argpartition(v, kth, axis=ax, kind=kind))
