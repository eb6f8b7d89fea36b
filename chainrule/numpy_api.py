"""The NumPy-named functions users call: ``cr.exp``, ``cr.sum``, ``cr.reshape``, ...

Each is a registered primitive or a composition of primitives; this module is also the
namespace ``xp`` that rules compute with when a backward pass is recorded, so its
functions take NumPy's arguments and keep NumPy's semantics.
"""

from __future__ import annotations

import builtins
import math
import operator
import os
import sys
import warnings

import numpy as np
from numpy.exceptions import AxisError

import chainrule.tensor as _tensor_module
from chainrule import linalg_api
from chainrule.autodiff.graph import DEFAULT_MODE, STATE
from chainrule.ops import arithmetic, elementwise, index, reduce
from chainrule.ops import linalg as linalg_ops
from chainrule.ops import method_names as _registered_methods
from chainrule.ops import numpy_functions as _registered_functions
from chainrule.ops import shape as shape_ops
from chainrule.ops.reduce import normalize_axes
from chainrule.tensor import (  # noqa: F401  (re-exported)
    Tensor,
    as_dtype,
    bool_,
    float32,
    float64,
    get_default_dtype,
    int64,
    make,
    set_default_dtype,
    tensor,
    to_array,
)

# ----- operands: a list or tuple that holds Tensors is one array, as in NumPy -----------------

_SEQUENCES = (list, tuple)


def _has_tensor(obj) -> bool:
    if isinstance(obj, Tensor):
        return True
    return type(obj) in _SEQUENCES and builtins.any(_has_tensor(o) for o in obj)


def _operand(x):
    """x as an array operand: a (nested) list or tuple that holds Tensors is stacked into
    one Tensor, differentiably (``np.sum([a, b])`` reads the list as the array [a, b]; an
    ``np.asarray`` of it would drop the graph). Anything else is returned as it is.
    (Primitives do the same for their arguments, see ``Primitive._apply``.)"""
    if type(x) in _SEQUENCES and _has_tensor(x):
        return stack([_operand(o) for o in x])
    return x


# ----- the primitives themselves, as plain functions -------------------------------------------
# Generated from the declarations: each primitive's ``numpy=`` names (cr.exp, cr.absolute, ...).
globals().update(_registered_functions())


def astype(x, dtype) -> Tensor:
    """x cast to ``dtype`` (differentiable between floating dtypes)."""
    dtype = as_dtype(dtype)
    x = _operand(x)
    if isinstance(x, Tensor) and x.data.dtype == dtype:
        return x
    if dtype.kind != "f" and isinstance(x, Tensor):
        return make(x.data.astype(dtype))
    return arithmetic.astype(x, dtype=dtype)


def clip(x, a_min=None, a_max=None, *, min=None, max=None) -> Tensor:
    """x limited to [a_min, a_max] (either may be None); ``min=``/``max=`` are NumPy 2.1's
    names for the same bounds."""
    for alias, name, value in ((min, "a_min", a_min), (max, "a_max", a_max)):
        if alias is not None and value is not None:
            raise TypeError(f"clip: give {name} or {name[2:]}, not both")
    a_min = a_min if min is None else min
    a_max = a_max if max is None else max
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    x, a_min, a_max = _operand(x), _operand(a_min), _operand(a_max)
    if isinstance(a_min, Tensor) or isinstance(a_max, Tensor):
        # Tensor bounds take part in the graph, as in torch.clamp: x gets the gradient where
        # a_min <= x <= a_max, a bound where it is the result (NumPy's value if a_min > a_max).
        out = x if a_min is None else where(_data(x) < _data(a_min), a_min, x)
        return out if a_max is None else where(_data(out) > _data(a_max), a_max, out)
    # NumPy scalar bounds are weak, as Python numbers: float32 stays float32.
    a_min, a_max = (b.item() if isinstance(b, np.generic) else b for b in (a_min, a_max))
    return elementwise.clip(x, a_min=a_min, a_max=a_max)


_NOT_GIVEN = object()


def where(condition, x=_NOT_GIVEN, y=_NOT_GIVEN):
    """Elements of x where condition is true, else of y (gradients flow to x and y).

    With the condition alone, as NumPy: the indices where it is true, a tuple of integer
    arrays (``np.nonzero``; no gradient)."""
    if isinstance(condition, Tensor):
        condition = condition.data
    if x is _NOT_GIVEN and y is _NOT_GIVEN:
        return np.nonzero(np.asarray(condition))
    if x is _NOT_GIVEN or y is _NOT_GIVEN:
        raise TypeError("where: give both x and y, or neither (then the indices where the "
                        "condition is true are returned)")
    return elementwise.where(np.asarray(condition, dtype=bool), _operand(x), _operand(y))


# ----- not differentiable: results carry no graph -------------------------------------------


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _plain(np_fn, doc):
    def fn(x, *args, **kwargs):
        out = make(np.asarray(np_fn(_data(x), *[_data(a) for a in args], **kwargs)))
        if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
            STATE.compile_tracer.record_plain(np_fn, (x, *args), kwargs, out.data)
        return out

    fn.__name__ = np_fn.__name__
    fn.__doc__ = doc
    return fn


sign = _plain(np.sign, "The sign of x (-1, 0 or 1); not differentiable (no graph).")
floor = _plain(np.floor, "Largest integer <= x; not differentiable (no graph).")
ceil = _plain(np.ceil, "Smallest integer >= x; not differentiable (no graph).")
round = _plain(np.round, "x rounded to `decimals`; not differentiable (no graph).")
isnan = _plain(np.isnan, "Where x is NaN (boolean).")
isfinite = _plain(np.isfinite, "Where x is finite (boolean).")
equal = _plain(np.equal, "x == y elementwise (boolean, no graph).")
not_equal = _plain(np.not_equal, "x != y elementwise (boolean, no graph).")
less = _plain(np.less, "x < y elementwise (boolean, no graph).")
less_equal = _plain(np.less_equal, "x <= y elementwise (boolean, no graph).")
greater = _plain(np.greater, "x > y elementwise (boolean, no graph).")
greater_equal = _plain(np.greater_equal, "x >= y elementwise (boolean, no graph).")
logical_not = _plain(np.logical_not, "not x elementwise (boolean).")
logical_and = _plain(np.logical_and, "x and y elementwise (boolean).")
logical_or = _plain(np.logical_or, "x or y elementwise (boolean).")
any = _plain(np.any, "Whether any element (along axis) is true.")
all = _plain(np.all, "Whether every element (along axis) is true.")
argmax = _plain(np.argmax, "Index of the maximum (along axis); no gradient.")
argmin = _plain(np.argmin, "Index of the minimum (along axis); no gradient.")


# ----- reductions ------------------------------------------------------------------------------


def _sum_or_mean(prim, np_fn, x, axis, keepdims, dtype) -> Tensor:
    """``sum``/``mean`` with NumPy's arguments: a list of Tensors is stacked first, and
    ``dtype=`` computes in that dtype, as NumPy's (the elements are cast first:
    differentiably between floating dtypes; an integer or boolean result has no graph)."""
    if type(x) in _SEQUENCES:
        x = _operand(x)
    if keepdims is not False and keepdims is not True:
        # A dtype given where keepdims goes (NumPy's third argument is dtype) is an error,
        # not a silent keepdims=True.
        raise TypeError(f"{prim.name}: keepdims must be True or False, got {keepdims!r} "
                        "(pass dtype= by keyword)")
    if dtype is None:
        return prim(x, axis=axis, keepdims=keepdims)
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        return make(np.asarray(np_fn(to_array(_data(x)), axis=axis, dtype=dtype,
                                     keepdims=keepdims)))
    return prim(astype(x, dtype), axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``axis`` (None: all), in ``dtype`` if given.  d/dx_i = 1."""
    return _sum_or_mean(reduce.sum, np.sum, x, axis, keepdims, dtype)


def mean(x, axis=None, keepdims: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``axis``, in ``dtype`` if given.  d/dx_i = 1/n."""
    return _sum_or_mean(reduce.mean, np.mean, x, axis, keepdims, dtype)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis``.  d/dx_i = product of the others (exact with zeros)."""
    return reduce.prod(_operand(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return reduce.max(_operand(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return reduce.min(_operand(x), axis=axis, keepdims=keepdims)


amax = max
amin = min


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, stable for large |x|; -inf over an axis of length 0
    (the log of an empty sum, as SciPy and PyTorch).  d/dx = softmax(x)."""
    return reduce.logsumexp(_operand(x), axis=axis, keepdims=keepdims)


def _size(x, axis) -> int:
    shape_ = np.shape(_data(x))
    axes = normalize_axes(axis, len(shape_))
    return int(np.prod([shape_[a] for a in axes])) if axes else 1


def var(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance ``sum((x - mean)²) / (n - ddof)`` over ``axis`` (NumPy's default ddof=0).

    With no degrees of freedom (``n - ddof <= 0``) it warns and gives inf, or nan where
    every deviation is 0, as NumPy and PyTorch do; the gradient is then not finite either.
    """
    return _variance(_operand(x), axis, ddof, keepdims, "var")


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning given by the caller at the first frame
    outside chainrule (``cr.var(x)`` and ``x.var()`` reach it through different paths)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


def _variance(x, axis, ddof: int, keepdims: bool, name: str) -> Tensor:
    n = _size(x, axis)
    centered = arithmetic.subtract(x, reduce.mean(x, axis=axis, keepdims=True))
    total = reduce.sum(elementwise.square(centered), axis=axis, keepdims=keepdims)
    if n - ddof > 0:
        return total / (n - ddof)
    warnings.warn(f"{name}: ddof={ddof} leaves no degrees of freedom for {n} elements per "
                  "result; the result is inf or nan", RuntimeWarning,
                  stacklevel=_user_stacklevel())
    with np.errstate(invalid="ignore"):  # 0 · inf = nan, warned about above
        return total * math.inf


def std(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation, ``sqrt(var)``.

    Where the deviation is 0 (all elements equal), the gradient is 0, as PyTorch's, instead
    of the 0·inf = nan that the chain rule through sqrt would give.
    """
    v = _variance(_operand(x), axis, ddof, keepdims, "std")
    zero = _data(v) == 0
    if not np.any(zero):
        return elementwise.sqrt(v)
    return where(zero, 0.0, elementwise.sqrt(where(zero, 1.0, v)))


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """Vector or matrix norm with ``numpy.linalg.norm``'s ``ord`` and ``axis``.

    Vector ords: None/2 (Euclidean), 1, inf, -inf, 0 (count, no gradient) and any p.
    Matrix ords (2-D input or two axes): None/'fro', 1, -1, inf, -inf, and from the singular
    values 2 (largest), -2 (smallest) and 'nuc' (their sum). As NumPy, an ``ord`` with
    ``axis=None`` needs a 1-D or 2-D input, and ``axis`` names one or two axes
    (``ValueError`` otherwise);
    ``ord=None, axis=None`` is the Euclidean norm of all the elements.
    """
    x = _operand(x)
    ndim = np.ndim(_data(x))
    if axis is None and ord is not None and ndim not in (1, 2):
        raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got "
                         f"{ndim}-D; give axis= (one axis for a vector norm, two for a "
                         "matrix norm)")
    if axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) > 2:
        raise ValueError(f"norm: axis={tuple(axis)!r} names {len(axis)} axes; a norm is over "
                         "one axis (vector) or two (matrix)")
    axes = normalize_axes(axis, ndim)
    matrix = len(axes) == 2 and (axis is not None or ndim == 2)
    if ord is None or ord == "fro" or (ord == 2 and not matrix):
        if ord == "fro" and not matrix:
            raise ValueError("norm: ord='fro' is for matrices (2-D input or two axes)")
        return reduce.l2norm(x, axis=axis, keepdims=keepdims)
    if matrix:
        a0, a1 = axes if axis is None else [int(a) % ndim for a in axis]
        if ord in (1, -1):
            col = reduce.sum(elementwise.abs(x), axis=a0, keepdims=True)
            pick = max if ord == 1 else min
            out = pick(col, axis=a1, keepdims=True)
        elif ord in (np.inf, -np.inf):
            row = reduce.sum(elementwise.abs(x), axis=a1, keepdims=True)
            pick = max if ord == np.inf else min
            out = pick(row, axis=a0, keepdims=True)
        elif ord in (2, -2, "nuc"):
            moved = transpose(x, [i for i in range(ndim) if i not in (a0, a1)] + [a0, a1])
            s = linalg_api.svdvals(moved)  # (batch..., k), descending
            out = (reduce.sum(s, axis=-1) if ord == "nuc" else
                   s[..., 0] if ord == 2 else s[..., -1])
            if not keepdims:
                return out
            return reshape(out, tuple(1 if i in (a0, a1) else n
                                      for i, n in enumerate(np.shape(_data(x)))))
        else:
            raise ValueError(f"norm: invalid matrix norm order {ord!r}; use None, 'fro', "
                             "'nuc', 1, -1, 2, -2, inf or -inf")
        return out if keepdims else reshape(out, _drop(out.shape, (a0, a1)))
    if len(axes) != 1 and axis is not None:
        raise ValueError(f"norm: axis={axis!r} must be an int or a pair of ints")
    ax = axis
    if ord == np.inf:
        return max(elementwise.abs(x), axis=ax, keepdims=keepdims)
    if ord == -np.inf:
        return min(elementwise.abs(x), axis=ax, keepdims=keepdims)
    if ord == 0:
        # np.sum over every axis gives a NumPy scalar; a Tensor's data is always an ndarray.
        return make(np.asarray(np.sum(_data(x) != 0, axis=ax, keepdims=keepdims)).astype(
            np.result_type(_data(x), np.float32)))
    if ord == 1:
        return reduce.sum(elementwise.abs(x), axis=ax, keepdims=keepdims)
    p = float(ord)
    mag = elementwise.abs(x)
    at_zero = _data(mag) == 0
    if 0 < p < 1 and np.any(at_zero):
        # |x|^p has an infinite slope at 0 for p < 1: an entry at 0 gets gradient 0 (PyTorch).
        powered = where(at_zero, 0.0, arithmetic.power(where(at_zero, 1.0, mag), p))
    else:
        powered = arithmetic.power(mag, p)
    total = reduce.sum(powered, axis=ax, keepdims=keepdims)
    zero = _data(total) == 0
    if not np.any(zero):
        return arithmetic.power(total, 1.0 / p)
    # A zero vector: d s^(1/p)/ds is infinite at s = 0; PyTorch's gradient is 0 there.
    return where(zero, 0.0, arithmetic.power(where(zero, 1.0, total), 1.0 / p))


def _drop(shape_, axes) -> tuple:
    return tuple(s for i, s in enumerate(shape_) if i not in axes)


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


# ----- linear algebra ---------------------------------------------------------------------------


def dot(a, b) -> Tensor:
    """NumPy's ``dot``: products for scalars, matmul up to 2-D, else sum over the last axis
    of a and the second-to-last of b."""
    a, b = _operand(a), _operand(b)
    na, nb = np.ndim(_data(a)), np.ndim(_data(b))
    if na == 0 or nb == 0:
        return arithmetic.multiply(a, b)
    if na <= 2 and nb <= 2:
        return linalg_ops.matmul(a, b)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = letters[:na]
    if nb == 1:
        sb = sa[-1]
    else:
        sb = letters[na:na + nb - 2] + sa[-1] + letters[na + nb - 2]
    out = sa[:-1] + sb.replace(sa[-1], "")
    return einsum(f"{sa},{sb}->{out}", a, b)


def outer(a, b) -> Tensor:
    """The outer product of two flattened arrays: ``out[i, j] = a[i]·b[j]``."""
    return arithmetic.multiply(reshape(_operand(a), (-1, 1)), reshape(_operand(b), (1, -1)))


def _sublist(labels) -> str:
    try:
        letters = linalg_ops.EINSUM_LETTERS
        return "".join("..." if lab is Ellipsis else letters[operator.index(lab)]
                       for lab in labels)
    except (TypeError, IndexError):
        raise ValueError(f"einsum: a sublist holds integers 0..51 and Ellipsis, got "
                         f"{labels!r}") from None


def _sublists_to_subscripts(args) -> tuple[str, list]:
    """NumPy's interleaved form (operand, sublist, operand, sublist, ..., [output]) as a
    subscripts string and the operands."""
    operands = list(args[0::2])
    terms = [_sublist(sub) for sub in args[1::2]]
    out = _sublist(operands.pop()) if len(args) % 2 else None  # odd: the output sublist last
    if len(terms) != len(operands):
        raise ValueError("einsum: the interleaved form needs one sublist per operand")
    return ",".join(terms) + ("" if out is None else "->" + out), operands


def einsum(subscripts: str, *operands, optimize=False) -> Tensor:
    """Einstein summation with NumPy's subscripts (including '...').

    ``optimize`` is accepted for NumPy code and ignored: the operands are contracted in
    NumPy's default order (the same result, perhaps slower for long chains of operands).
    """
    if not isinstance(subscripts, str):  # NumPy's form einsum(a, [0, 1], b, [1, 2], [0, 2])
        subscripts, operands = _sublists_to_subscripts((subscripts, *operands))
    operands = [_operand(o) for o in operands]
    terms, out = linalg_ops.parse_einsum(subscripts, [np.shape(_data(o)) for o in operands])
    return linalg_ops.einsum(*operands, subscripts=",".join(terms) + "->" + out)


# ----- naming ------------------------------------------------------------------------------------


def named(x, name: str):
    """Name an intermediate quantity for explanations and graphs; returns x.

    >>> h = cr.named(4000 - g, "h")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"named: the name must be a non-empty string, got {name!r}")
    if not isinstance(x, Tensor):
        x = tensor(x)
    x.name = name
    if x._node is not None:
        x._node.name = name
    if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
        STATE.compile_tracer.name(x.data, name)  # compiled code calls the value `name`
    return x


# ----- creation ----------------------------------------------------------------------------------


def _shape_arg(shape, who: str) -> tuple:
    """``(2, 3)`` from ``f(2, 3)`` or ``f((2, 3))``; a non-integer size is a ``TypeError``, as
    in NumPy (``int(2.7)`` would silently make it 2)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{who}: the shape must be integers, got {shape!r}") from None


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``cr.zeros(2, 3)`` or ``cr.zeros((2, 3))``."""
    return _finish(np.zeros(_shape_arg(shape, "zeros"), dtype=_float_dtype(dtype)),
                   requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _finish(np.ones(_shape_arg(shape, "ones"), dtype=_float_dtype(dtype)),
                   requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if dtype is None:
        dtype = to_array(fill_value).dtype
    return _finish(np.full(tuple(shape), fill_value, dtype=as_dtype(dtype)), requires_grad)


def _like(x, dtype):
    """The shape and dtype of x (a Tensor, array, number or nested list, as NumPy reads it)."""
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    return arr.shape, (as_dtype(dtype) if dtype is not None else arr.dtype)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with x's shape and dtype."""
    return _finish(np.zeros(*_like(x, dtype)), requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with x's shape and dtype."""
    return _finish(np.ones(*_like(x, dtype)), requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with x's shape and dtype."""
    shape_, dt = _like(x, dtype)
    return _finish(np.full(shape_, fill_value, dtype=dt), requires_grad)


def arange(start=None, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop) (integers stay int64, floats the default):
    ``arange(5)``, ``arange(2, 5)``, ``arange(stop=5)``, ``arange(0, 1, 0.25)``."""
    if stop is None:
        if start is None:
            raise TypeError("arange: give stop, as in arange(5) or arange(stop=5)")
        start, stop = 0, start
    elif start is None:
        start = 0
    arr = np.arange(start, stop, step)
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype))
    elif arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype())
    elif arr.dtype.kind == "i":
        arr = arr.astype(np.int64)
    return _finish(arr, requires_grad)


def linspace(start, stop, num: int = 50, dtype=None, requires_grad: bool = False, *,
             endpoint: bool = True) -> Tensor:
    """``num`` evenly spaced values from start to stop (inclusive unless ``endpoint=False``).

    With a Tensor ``start`` or ``stop`` the result is ``start + (stop - start)·t`` for the
    fixed fractions t, so it is differentiable in the endpoints (as in JAX and autograd)."""
    if isinstance(start, Tensor) or isinstance(stop, Tensor):
        if requires_grad:
            raise ValueError("linspace: requires_grad= is for constant endpoints; a Tensor "
                             "endpoint already carries its gradient")
        fractions = np.linspace(0.0, 1.0, num, endpoint=endpoint)
        start, stop = _operand(start), _operand(stop)
        out = arithmetic.add(start, arithmetic.multiply(arithmetic.subtract(stop, start),
                                                        fractions))
        return out if dtype is None else astype(out, dtype)
    return _finish(np.linspace(start, stop, num, endpoint=endpoint, dtype=_float_dtype(dtype)),
                   requires_grad)


def eye(N: int, M: int | None = None, k: int = 0, dtype=None,
        requires_grad: bool = False) -> Tensor:
    """The N × M identity matrix (M = N by default), its ones on diagonal ``k`` (0: the
    main diagonal, > 0 above it, < 0 below), as NumPy's ``eye``."""
    return _finish(np.eye(N, M, k=k, dtype=_float_dtype(dtype)), requires_grad)


_rng = [np.random.default_rng(0)]


def manual_seed(seed: int) -> None:
    """Seed chainrule's random generator (randn, rand, layer initialisation, dropout)."""
    _rng[0] = np.random.default_rng(seed)


def get_rng_state() -> dict:
    """The state of chainrule's generator (dropout masks, ``randn``, initialisation), as a
    plain dict that ``cr.save`` can store; restore it with :func:`set_rng_state`."""
    return _rng[0].bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state` (e.g. when resuming from a checkpoint)."""
    generator = np.random.default_rng()
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"set_rng_state: not a state from cr.get_rng_state(): {exc}") from None
    _rng[0] = generator


def random_generator() -> np.random.Generator:
    """The generator behind ``randn``/``rand`` (seeded by ``manual_seed``)."""
    return _rng[0]


def _random_dtype(dtype, who: str) -> np.dtype:
    dt = _float_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{who}: random samples are floating point; got dtype={dt}")
    return dt


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt = _random_dtype(dtype, "randn")
    return _finish(_rng[0].standard_normal(_shape_arg(shape, "randn")).astype(dt),
                   requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _random_dtype(dtype, "rand")
    return _finish(_rng[0].random(_shape_arg(shape, "rand")).astype(dt), requires_grad)


class linalg:  # noqa: N801  (a namespace, as numpy.linalg)
    """``cr.linalg``: inv, det, solve, norm, and the decompositions eigh, eigvalsh, eig,
    eigvals, svd, svdvals, cholesky, slogdet, qr, pinv (all differentiable)."""

    inv = staticmethod(linalg_ops.inv)
    det = staticmethod(linalg_ops.det)
    solve = staticmethod(linalg_ops.solve)
    norm = staticmethod(norm)


for _name, _fn in linalg_api.FUNCTIONS.items():
    setattr(linalg, _name, staticmethod(_fn))


pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


_tensor_module._api = sys.modules[__name__]
_tensor_module._binary.update(
    {p.name: p._apply2 for p in (arithmetic.add, arithmetic.subtract, arithmetic.multiply,
                                 arithmetic.divide)}
)

__all__ = [
    name for name, value in list(globals().items())
    if not name.startswith("_")
    and name not in {"annotations", "builtins", "math", "sys", "np", "arithmetic", "elementwise",
                     "index", "reduce", "linalg_ops", "shape_ops", "normalize_axes", "make",
                     "to_array", "as_dtype", "operator", "AxisError"}
]

# ----- the dispatch tables, generated ----------------------------------------------------------

#: NumPy ufuncs that run chainrule's function of the same name on a Tensor (``np.sin(t)``):
#: every function here that NumPy has as a ufunc.
UFUNCS = {n: globals()[n] for n in __all__ if isinstance(getattr(np, n, None), np.ufunc)}

#: NumPy functions (``np.sum(t)``, ``np.concatenate([t, u])``) that run chainrule's
#: differentiable function of the same name and arguments.
ARRAY_FUNCTIONS = {n: globals()[n] for n in (
    "sum mean prod max min amax amin var std reshape transpose swapaxes expand_dims squeeze "
    "broadcast_to concatenate stack split pad take repeat tile dot outer einsum matmul where "
    "clip ravel").split()}

#: ``np.linalg`` functions that run ``cr.linalg``'s.
LINALG_FUNCTIONS = {n: getattr(linalg, n) for n in ("inv", "det", "solve", "norm",
                                                    *linalg_api.FUNCTIONS)}

#: Tensor methods: the primitives declared ``method=True``, and these functions.
METHODS = _registered_methods() + (
    "sign floor ceil round isnan clip sum mean var std prod max min logsumexp norm argmax "
    "argmin swapaxes squeeze expand_dims flatten dot take repeat tile any all").split()
_tensor_module.add_methods(METHODS)
