"""Tensor's data core: the values the engine records and reads.

The engine (this package) makes and reads Tensors: a primitive's output, a recorded
sweep's cotangents, a transform's inputs. So the class of those values is defined here, at
the bottom, with what the engine relies on and nothing more:

* the slots: ``data`` (the ndarray), ``_node`` (the graph node that produced it, None for
  a leaf), ``_requires_grad``, ``_grad`` (the gradient accumulated by the reverse sweep),
  ``_vcl`` (the version counter of its memory, made on first use), ``_tangent``
  (forward-mode tangents by level) and ``name`` (for explanations);
* :func:`make`, which wraps an ndarray without copying or checking (the hot path);
* the graph and version attributes: ``grad``, ``requires_grad``, ``is_leaf``, ``shape``,
  ``dtype``..., ``mark_modified`` and the version counter ``_vc``.

Everything a user does with a Tensor beyond that is given to this same class from the
layers above, each in one place: :mod:`chainrule.tensor` (the Tensor layer) its
constructor, conversions, ``backward()``, ``detach()`` and in-place changes, and the NumPy
surface its operators and NumPy-named methods, generated from the registry of
primitives. The engine never imports those layers: one class, built bottom-up.
"""

from __future__ import annotations

from chainrule.autodiff.graph import DEFAULT_MODE, STATE
from chainrule.autodiff.versions import VersionCounter
from chainrule.dtypes import _check_can_require_grad

_new = object.__new__


def make(data, node=None) -> Tensor:
    """Wrap an ndarray without copying or checking (the hot path)."""
    t = _new(Tensor)
    t.data = data
    t._grad = None
    t._requires_grad = node is not None
    t._node = node
    t._vcl = None
    t.name = None
    t._tangent = None
    return t


class Tensor:
    """An n-dimensional array that records how it was computed, for differentiation.

    (Its data core; :mod:`chainrule.tensor` completes it.)
    """

    __slots__ = ("data", "_grad", "_requires_grad", "_node", "_vcl", "name", "_tangent",
                 "__weakref__")
    __array_priority__ = 1000

    # ----- attributes -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="The shape, a tuple of ints.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The NumPy dtype.")
    is_leaf = property(lambda self: self._node is None,
                       doc="True for tensors not produced by a recorded operation.")

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()`` (None before it, or after clearing)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        # As PyTorch: a gradient of another shape or dtype would break the next update or
        # accumulation far from here, so it is refused where it is assigned.
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad must be a Tensor or None, got {type(value).__name__}; "
                    "wrap an array with cr.tensor(array)"
                )
            if value.data.shape != self.data.shape:
                raise RuntimeError(
                    f"assigned grad has shape {value.data.shape}, but the tensor has shape "
                    f"{self.data.shape}"
                )
            if value.data.dtype != self.data.dtype:
                raise RuntimeError(
                    f"assigned grad has dtype {value.data.dtype}, but the tensor has dtype "
                    f"{self.data.dtype}; convert it with .astype(cr.{self.data.dtype.name})"
                )
        if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
            STATE.compile_tracer.grad_assigned(self)  # cr.compile replays the assignment
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for its gradient."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        # As PyTorch: only floating tensors can require grad, and a result of a recorded
        # operation cannot stop requiring it (its graph would be silently cut).
        value = bool(value)
        if value:
            _check_can_require_grad(self.data.dtype)
        elif self._node is not None:
            raise RuntimeError(
                "requires_grad = False on a tensor computed by recorded operations: only "
                "leaf tensors can change it; use y = x.detach() for a copy cut from the graph"
            )
        self._requires_grad = value

    @property
    def _vc(self) -> VersionCounter:
        """The version counter of this tensor's memory, shared with ``detach()``-ed copies
        and views; created on first use (most tensors never need one)."""
        vc = self._vcl
        if vc is None:
            vc = self._vcl = VersionCounter()
        return vc

    @_vc.setter
    def _vc(self, vc: VersionCounter) -> None:
        self._vcl = vc

    def mark_modified(self, opname: str) -> None:
        """Say that ``opname`` changed this tensor's values in place behind chainrule's
        back (``t.data[...] = ...``, ``np.copyto(t.data, ...)``): a backward step that
        saved the old values then raises instead of silently using the new ones.
        Chainrule's own in-place operations (``+=``, ``t[i] = v``, ``copy_``) call it."""
        vc = self._vcl
        if vc is None:
            vc = self._vcl = VersionCounter()
        vc.bump(opname)

    @property
    def _version(self) -> int:
        """How many in-place operations changed this tensor's values."""
        return 0 if self._vcl is None else self._vcl.version
