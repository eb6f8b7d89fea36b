"""Array creation with NumPy's names: zeros, ones, full, the ``*_like`` forms, arange,
linspace, eye (all take ``dtype=`` and ``requires_grad=``)."""

from __future__ import annotations

import operator

import numpy as np

from chainrule.autodiff.graph import DEFAULT_MODE, STATE
from chainrule.numpy_api.math_functions import astype
from chainrule.numpy_api.shape import _operand
from chainrule.ops import arithmetic
from chainrule.tensor import Tensor, as_dtype, get_default_dtype, make, to_array

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
    if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
        STATE.compile_tracer.created(None, arr)  # new on every call, as eager makes it
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
