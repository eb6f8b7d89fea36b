"""Tensor's operators and NumPy-named methods: ``t + u``, ``t[i]``, ``t += u``, ``t.T``,
``t.reshape(...)``, ``np.sin(t)``, and the method form of every function listed by the
NumPy surface (``t.exp()``, ``t.sum()``).

Each delegates to a function of :mod:`chainrule.numpy_api` (a registered primitive or a
composition of them). The NumPy surface sits above Tensor, since it is generated from the
registry of primitives that create Tensors, so this module does not import it: the NumPy
surface, once built, hands itself over by calling :func:`use_surface` (at the end of
``chainrule/numpy_api/__init__.py``, the one place it happens), with the two-argument
path of the four arithmetic primitives. :mod:`chainrule.tensor` gives the members of
:class:`TensorOperators` to :class:`~chainrule.tensor.Tensor` when it completes that class;
the mechanics of in-place changes (version counters, rebasing the graph) are Tensor's own.
"""

from __future__ import annotations

import numpy as np

from chainrule.habits import TENSOR_HINTS, dim_error, hint_error

# The functions behind the operators, handed over by chainrule.numpy_api (use_surface). The
# arithmetic operators call the primitives' two-argument path directly: they are the
# hottest calls of all.
_api = None
# The primitives' two-argument paths behind t + u, t - u, t * u, t / u: module globals, so
# that the hottest calls of all read one name rather than look up a table.
_add = _subtract = _multiply = _divide = None


def use_surface(api, binary: dict) -> None:
    """Make Tensor's operators and methods compute with ``api`` (the NumPy surface:
    ``t.T`` is ``api.transpose(t)``, ``np.sin(t)`` runs ``api.array_ufunc``), and ``t + u``,
    ``t - u``, ``t * u``, ``t / u`` with ``binary['add']`` ... (the primitives' two-argument
    path). Called once, by :mod:`chainrule.numpy_api` when it has been built."""
    global _api, _add, _subtract, _multiply, _divide
    _api = api
    _add, _subtract = binary["add"], binary["subtract"]
    _multiply, _divide = binary["multiply"], binary["divide"]


class TensorOperators:
    """The operators and method forms of :class:`~chainrule.tensor.Tensor` (which
    :mod:`chainrule.tensor` gives it)."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.sin(t)``, ``ndarray * t``: chainrule's function of the same name runs (see
        :func:`chainrule.numpy_api.dispatch.array_ufunc`)."""
        return _api.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(t)``, ``np.linalg.inv(t)``, ...: chainrule's differentiable version runs
        (see :func:`chainrule.numpy_api.dispatch.array_function`)."""
        return _api.array_function(func, args, kwargs)

    @property
    def T(self):
        """The transpose (axes reversed), as ``numpy.ndarray.T``."""
        return _api.transpose(self)

    # ----- method forms of the NumPy-named functions ------------------------------------
    def named(self, name: str):
        """Give this quantity a name for explanations and graphs (``cr.named``); returns self."""
        return _api.named(self, name)

    def copy(self):
        """NumPy's name for :meth:`clone`: a copy that stays in the graph."""
        return _api.copy(self)

    def ravel(self):
        """The elements as a 1-D tensor (NumPy's ``ravel``; differentiable)."""
        return _api.flatten(self)

    def clone(self):
        """A copy that stays in the graph (its gradient flows back to self)."""
        return _api.copy(self)

    def astype(self, dtype):
        """Cast to ``dtype``; gradients are cast back (as ``numpy.ndarray.astype``)."""
        return _api.astype(self, dtype)

    # ----- in-place operators (recorded by Tensor._inplace) ------------------------------
    def __iadd__(self, other):
        """``x.add_(other)`` or ``x += other``: x ← x + other in place (``other`` broadcasts
        to x's shape; the result keeps x's dtype); returns x.

        Under ``cr.no_grad()`` (the optimizer step) it writes straight into x's buffer.
        When a graph is recorded the change is recorded too, as in PyTorch
        (∂x_new/∂x = 1, ∂x_new/∂other = 1, x the old values); a leaf that requires
        grad, or a tensor sharing its memory with a live view, is refused with an error.
        """
        return self._inplace_arith("add_ (+=)", np.add, _api.add, other)

    def __isub__(self, other):
        """``x.sub_(other)`` or ``x -= other``: x ← x − other in place (``other`` broadcasts
        to x's shape; the result keeps x's dtype); returns x.

        Under ``cr.no_grad()`` (the optimizer step) it writes straight into x's buffer.
        When a graph is recorded the change is recorded too, as in PyTorch
        (∂x_new/∂x = 1, ∂x_new/∂other = −1, x the old values); a leaf that requires
        grad, or a tensor sharing its memory with a live view, is refused with an error.
        """
        return self._inplace_arith("sub_ (-=)", np.subtract, _api.subtract, other)

    def __imul__(self, other):
        """``x.mul_(other)`` or ``x *= other``: x ← x · other in place (``other`` broadcasts
        to x's shape; the result keeps x's dtype); returns x.

        Under ``cr.no_grad()`` (the optimizer step) it writes straight into x's buffer.
        When a graph is recorded the change is recorded too, as in PyTorch
        (∂x_new/∂x = other, ∂x_new/∂other = x, x the old values); a leaf that requires
        grad, or a tensor sharing its memory with a live view, is refused with an error.
        """
        return self._inplace_arith("mul_ (*=)", np.multiply, _api.multiply, other)

    def __itruediv__(self, other):
        """``x.div_(other)`` or ``x /= other``: x ← x / other in place (``other`` broadcasts
        to x's shape; the result keeps x's dtype); returns x.

        Under ``cr.no_grad()`` (the optimizer step) it writes straight into x's buffer.
        When a graph is recorded the change is recorded too, as in PyTorch
        (∂x_new/∂x = 1/other, ∂x_new/∂other = −x/other², x the old values); a leaf that requires
        grad, or a tensor sharing its memory with a live view, is refused with an error.
        """
        return self._inplace_arith("div_ (/=)", np.true_divide, _api.divide, other)

    def __imod__(self, other):
        return self._inplace_arith("remainder_ (%=)", np.remainder, _api.remainder, other)

    def __ipow__(self, other):
        return self._inplace_arith("pow_ (**=)", np.power, _api.power, other)

    add_ = __iadd__
    sub_ = __isub__
    mul_ = __imul__
    div_ = __itruediv__

    def fill_(self, value):
        """Set every element to ``value`` in place."""
        return self._inplace("fill_", lambda old: _api.full_like(old, value))

    def zero_(self):
        """Set every element to 0 in place."""
        return self._inplace("zero_", lambda old: _api.zeros_like(old))

    def __setitem__(self, index, value) -> None:
        self._inplace("__setitem__ (x[i] = v)",
                      lambda old: _api.index_put(old, value, index))

    # ----- operators --------------------------------------------------------------------
    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _subtract(self, other)

    def __rsub__(self, other):
        return _subtract(other, self)

    def __mul__(self, other):
        return _multiply(self, other)

    def __rmul__(self, other):
        return _multiply(other, self)

    def __truediv__(self, other):
        return _divide(self, other)

    def __rtruediv__(self, other):
        return _divide(other, self)

    def __mod__(self, other):
        return _api.remainder(self, other)

    def __rmod__(self, other):
        return _api.remainder(other, self)

    def __pow__(self, other):
        return _api.power(self, other)

    def __rpow__(self, other):
        return _api.power(other, self)

    def __matmul__(self, other):
        return _api.matmul(self, other)

    def __rmatmul__(self, other):
        return _api.matmul(other, self)

    def __neg__(self):
        return _api.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _api.abs(self)

    def __getitem__(self, index):
        return _api.getitem(self, index)

    def __eq__(self, other):  # type: ignore[override]
        return _api.equal(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _api.not_equal(self, other)

    def __lt__(self, other):
        return _api.less(self, other)

    def __le__(self, other):
        return _api.less_equal(self, other)

    def __gt__(self, other):
        return _api.greater(self, other)

    def __ge__(self, other):
        return _api.greater_equal(self, other)

    def __invert__(self):
        return _api.logical_not(self)

    def __and__(self, other):
        return _api.logical_and(self, other)

    def __or__(self, other):
        return _api.logical_or(self, other)

    # ----- method forms of the NumPy-named functions ------------------------------------
    def reshape(self, *shape, order: str = "C"):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; ``order='F'`` as NumPy's."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _api.reshape(self, shape, order=order)

    def transpose(self, *axes):
        """``x.transpose()`` reverses axes; ``x.transpose(1, 0, 2)`` permutes them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _api.transpose(self, axes or None)

    def view(self, *shape):
        """Alias of :meth:`reshape`, for PyTorch habits."""
        return self.reshape(*shape)

    def __getattr__(self, name: str):
        # Only reached when the normal lookup fails: a PyTorch name gets chainrule's way.
        if name in TENSOR_HINTS:
            raise hint_error("Tensor", name, TENSOR_HINTS)
        raise AttributeError(f"'Tensor' object has no attribute {name!r}")


def method_form(name):
    def method(self, *args, **kwargs):
        if "dim" in kwargs:
            raise dim_error(name, method=True)
        return getattr(_api, name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Method form of ``cr.{name}(x, ...)``."
    return method
