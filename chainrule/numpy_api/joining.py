"""Joining and splitting with NumPy's helpers: ``atleast_1d/2d/3d``, ``vstack``, ``hstack``,
``dstack``, ``column_stack``, ``append``, ``array_split``, ``vsplit``/``hsplit``/``dsplit``
and the index tricks ``cr.r_[...]``/``cr.c_[...]``.

Each is a composition of ``reshape``, ``concatenate`` and ``split``, so its gradient (both
modes, any order) comes from theirs; names, arguments and results are NumPy's.
"""

from __future__ import annotations

import numpy as np

from chainrule.numpy_api.shape import (
    _axis,
    _ndim,
    _operand,
    _shape,
    concatenate,
    ravel,
    reshape,
    split,
)
from chainrule.tensor import Tensor

# ----- at least n dimensions, stacking ----------------------------------------------------------


def _one_or_list(results: list):
    return results[0] if len(results) == 1 else results


def atleast_1d(*arys):
    """Each input with at least one axis (a scalar becomes shape (1,))."""
    out = [_operand(a) for a in arys]
    return _one_or_list([reshape(a, (1,)) if _ndim(a) == 0 else a for a in out])


def atleast_2d(*arys):
    """Each input with at least two axes: () -> (1, 1), (n,) -> (1, n)."""
    out = []
    for a in map(_operand, arys):
        nd = _ndim(a)
        out.append(reshape(a, (1, 1)) if nd == 0 else
                   reshape(a, (1, -1)) if nd == 1 else a)
    return _one_or_list(out)


def atleast_3d(*arys):
    """Each input with at least three axes: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1)."""
    out = []
    for a in map(_operand, arys):
        nd, shape = _ndim(a), _shape(a)
        out.append(reshape(a, (1, 1, 1)) if nd == 0 else
                   reshape(a, (1, shape[0], 1)) if nd == 1 else
                   reshape(a, (*shape, 1)) if nd == 2 else a)
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
    return concatenate([atleast_2d(a) for a in _sequence(tup, "vstack")], axis=0)


row_stack = vstack


def hstack(tup) -> Tensor:
    """Arrays joined along axis 1 (axis 0 for 1-D arrays)."""
    arrays = [atleast_1d(a) for a in _sequence(tup, "hstack")]
    return concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def dstack(tup) -> Tensor:
    """Arrays stacked along the third axis (after making each at least 3-D)."""
    return concatenate([atleast_3d(a) for a in _sequence(tup, "dstack")], axis=2)


def column_stack(tup) -> Tensor:
    """1-D arrays as the columns of a 2-D array; 2-D arrays joined along axis 1."""
    cols = []
    for a in map(_operand, _sequence(tup, "column_stack")):
        cols.append(reshape(a, (-1, 1)) if _ndim(a) < 2 else a)
    return concatenate(cols, axis=1)


def append(arr, values, axis=None) -> Tensor:
    """``values`` appended to ``arr``: both flattened when ``axis`` is None."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


# ----- splitting ------------------------------------------------------------------------------


def array_split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """Like ``split``, but an integer number of sections need not divide the axis: the
    first ``n % k`` pieces get one element more (NumPy's rule)."""
    x = _operand(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be > 0, got {k}")
        n = _shape(x)[_axis(axis, _ndim(x), "array_split: axis")]
        size, extra = divmod(n, k)
        sizes = [size + 1] * extra + [size] * (k - extra)
        indices_or_sections = np.cumsum(sizes)[:-1].tolist()
    return split(x, indices_or_sections, axis=axis)


def _split_along(x, sections, axis: int, min_ndim: int, who: str) -> list[Tensor]:
    x = _operand(x)
    if _ndim(x) < min_ndim:
        raise ValueError(f"{who} only works on arrays of {min_ndim} or more dimensions, "
                         f"got shape {_shape(x)}")
    return split(x, sections, axis=axis)


def vsplit(x, indices_or_sections) -> list[Tensor]:
    """``split`` along axis 0 (rows); x must be at least 2-D."""
    return _split_along(x, indices_or_sections, 0, 2, "vsplit")


def hsplit(x, indices_or_sections) -> list[Tensor]:
    """``split`` along axis 1 (axis 0 for 1-D x)."""
    x = _operand(x)
    if _ndim(x) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(x, indices_or_sections, axis=1 if _ndim(x) > 1 else 0)


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
            return concatenate([atleast_1d(p) for p in parts], axis=0)
        cols = [reshape(p, (-1, 1)) if _ndim(p) <= 1 else p for p in parts]
        return concatenate(cols, axis=-1)

    def __repr__(self) -> str:
        return f"cr.{self._name}"


r_ = _Concatenator("r_", columns=False)
c_ = _Concatenator("c_", columns=True)
