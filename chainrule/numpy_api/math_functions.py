"""The mathematical functions of the NumPy surface: the primitives themselves (generated
from their declarations' ``numpy=`` names), ``astype``, ``clip``, ``where``, the
non-differentiable helpers (``sign``, comparisons, ``argmax``...), and the reductions
(``sum``, ``mean``, ``var``, ``std``, ``norm``...) with NumPy's arguments.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import warnings

import numpy as np

from chainrule import linalg_api
from chainrule.autodiff.graph import DEFAULT_MODE, STATE
from chainrule.numpy_api.shape import _SEQUENCES, _data, _operand, reshape, transpose
from chainrule.ops import arithmetic, elementwise, reduce
from chainrule.ops import numpy_functions as _registered_functions
from chainrule.ops.reduce import normalize_axes
from chainrule.tensor import Tensor, as_dtype, make, to_array

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
        # (less/greater, not NumPy's < on the arrays: cr.compile must see the comparisons,
        # or it would keep the first call's mask as a constant.)
        out = x if a_min is None else where(less(x, a_min), a_min, x)
        return out if a_max is None else where(greater(out, a_max), a_max, out)
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




def _plain(np_fn, doc):
    def fn(x, *args, **kwargs):
        out = make(np.asarray(np_fn(_data(x), *[_data(a) for a in args], **kwargs)))
        if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
            STATE.compile_tracer.record_plain(np_fn, (x, *args), kwargs, out.data)
        return out

    fn.__name__ = np_fn.__name__
    fn.__doc__ = doc
    try:  # NumPy's own signature (help(), the docs); cr's package answers dim= from it
        inspect.signature(np_fn)
    except (TypeError, ValueError):  # a NumPy function without a readable signature
        return fn
    fn.__wrapped__ = np_fn
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
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
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
    _check_norm_axes(ord, axis, ndim)
    axes = normalize_axes(axis, ndim)
    matrix = len(axes) == 2 and (axis is not None or ndim == 2)
    if ord is None or ord == "fro" or (ord == 2 and not matrix):
        if ord == "fro" and not matrix:
            raise ValueError("norm: ord='fro' is for matrices (2-D input or two axes)")
        return reduce.l2norm(x, axis=axis, keepdims=keepdims)
    if matrix:
        a0, a1 = axes if axis is None else [int(a) % ndim for a in axis]
        return _matrix_norm(x, ord, a0, a1, keepdims)
    if len(axes) != 1 and axis is not None:
        raise ValueError(f"norm: axis={axis!r} must be an int or a pair of ints")
    return _vector_norm(x, ord, axis, keepdims)


def _check_norm_axes(ord, axis, ndim: int) -> None:
    """NumPy's rules: an ``ord`` with ``axis=None`` needs a 1-D or 2-D input; ``axis`` names
    one or two axes."""
    if axis is None and ord is not None and ndim not in (1, 2):
        raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got "
                         f"{ndim}-D; give axis= (one axis for a vector norm, two for a "
                         "matrix norm)")
    if axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) > 2:
        raise ValueError(f"norm: axis={tuple(axis)!r} names {len(axis)} axes; a norm is over "
                         "one axis (vector) or two (matrix)")


def _matrix_norm(x, ord, a0: int, a1: int, keepdims: bool) -> Tensor:
    """The norm of the matrices spanned by axes ``a0`` (rows) and ``a1`` (columns): the
    largest (1) or smallest (-1) column sum of |x|, the same of row sums (±inf), or from
    the singular values (2, -2, 'nuc')."""
    if ord in (2, -2, "nuc"):
        return _singular_value_norm(x, ord, a0, a1, keepdims)
    if ord in (1, -1):
        col = reduce.sum(elementwise.abs(x), axis=a0, keepdims=True)
        out = (max if ord == 1 else min)(col, axis=a1, keepdims=True)
    elif ord in (np.inf, -np.inf):
        row = reduce.sum(elementwise.abs(x), axis=a1, keepdims=True)
        out = (max if ord == np.inf else min)(row, axis=a0, keepdims=True)
    else:
        raise ValueError(f"norm: invalid matrix norm order {ord!r}; use None, 'fro', "
                         "'nuc', 1, -1, 2, -2, inf or -inf")
    return out if keepdims else reshape(out, _drop(out.shape, (a0, a1)))


def _singular_value_norm(x, ord, a0: int, a1: int, keepdims: bool) -> Tensor:
    """The largest (2) or smallest (-2) singular value, or their sum ('nuc')."""
    ndim = np.ndim(_data(x))
    moved = transpose(x, [i for i in range(ndim) if i not in (a0, a1)] + [a0, a1])
    s = linalg_api.svdvals(moved)  # (batch..., k), descending
    out = reduce.sum(s, axis=-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
    if not keepdims:
        return out
    return reshape(out, tuple(1 if i in (a0, a1) else n
                              for i, n in enumerate(np.shape(_data(x)))))


def _vector_norm(x, ord, axis, keepdims: bool) -> Tensor:
    """max |x_i| (inf), min |x_i| (-inf), the count of non-zeros (0, no gradient), or
    (Σ |x_i|^p)^(1/p) for any other p."""
    if ord == np.inf:
        return max(elementwise.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(elementwise.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        # np.sum over every axis gives a NumPy scalar; a Tensor's data is always an ndarray.
        return make(np.asarray(np.sum(_data(x) != 0, axis=axis, keepdims=keepdims)).astype(
            np.result_type(_data(x), np.float32)))
    if ord == 1:
        return reduce.sum(elementwise.abs(x), axis=axis, keepdims=keepdims)
    return _p_norm(x, float(ord), axis, keepdims)


def _p_norm(x, p: float, axis, keepdims: bool) -> Tensor:
    """(Σ |x_i|^p)^(1/p), with PyTorch's gradient 0 where the slope is infinite (an entry at
    0 for p < 1, a zero vector)."""
    mag = elementwise.abs(x)
    at_zero = _data(mag) == 0
    if 0 < p < 1 and np.any(at_zero):
        # |x|^p has an infinite slope at 0 for p < 1: an entry at 0 gets gradient 0 (PyTorch).
        powered = where(at_zero, 0.0, arithmetic.power(where(at_zero, 1.0, mag), p))
    else:
        powered = arithmetic.power(mag, p)
    total = reduce.sum(powered, axis=axis, keepdims=keepdims)
    zero = _data(total) == 0
    if not np.any(zero):
        return arithmetic.power(total, 1.0 / p)
    # A zero vector: d s^(1/p)/ds is infinite at s = 0; PyTorch's gradient is 0 there.
    return where(zero, 0.0, arithmetic.power(where(zero, 1.0, total), 1.0 / p))


def _drop(shape_, axes) -> tuple:
    return tuple(s for i, s in enumerate(shape_) if i not in axes)


# ----- selection, non-finite values ---------------------------------------------------------


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
        out = where(c, choice, out)
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
    out = where(np.isnan(data), nan, x)
    out = where(np.isposinf(data), big, out)
    return where(np.isneginf(data), small, out)


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
