"""Tensor: a NumPy array, the graph node that produced it, and a version counter.

The class is one, built bottom-up. The engine defines its data core
(:mod:`chainrule.autodiff.tensor_core`: the slots, ``make``, the graph and version
attributes), because the engine makes and reads Tensors and imports nothing above it.
This module, the layer above the engine, completes that same class with everything else a
user does with a Tensor (construction from user data, conversions, ``backward()``,
``detach()``, in-place changes) and its operators and NumPy-named methods
(:mod:`chainrule.tensor_operators`), which delegate to the functions of
:mod:`chainrule.numpy_api`, registered primitives or compositions of them, handed to them
when that surface is built. A Tensor holds no reference to its consumers, and its node
holds none to it, so graphs are freed by reference counting.
"""

from __future__ import annotations

import numbers

import numpy as np

from chainrule import tensor_operators as _operators
from chainrule.autodiff import backward as _backward
from chainrule.autodiff.graph import DEFAULT_MODE, STATE, guard_saved_output
from chainrule.autodiff.tensor_core import Tensor, make  # noqa: F401 (make: chainrule.tensor's)
from chainrule.dtypes import (  # noqa: F401  (re-exported: chainrule.tensor's names)
    _check_can_require_grad,
    _default_dtype,
    as_dtype,
    bool_,
    float32,
    float64,
    get_default_dtype,
    int64,
    set_default_dtype,
)
from chainrule.tensor_operators import TensorOperators, method_form


def to_array(data, dtype=None) -> np.ndarray:
    """Convert user data to a NumPy array with chainrule's dtype rules.

    Python floats (and lists of them) become the default dtype, integers stay int64,
    NumPy arrays keep their dtype. Anything non-numeric is a ``TypeError`` naming its type.
    """
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        if isinstance(data, (str, bytes)) or data is None:
            raise TypeError(f"expected numeric data, got {type(data).__name__}: {data!r:.60}")
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"could not convert {type(data).__name__} to a tensor: {exc}"
            ) from exc
        if arr.dtype == np.float64 and dtype is None and not isinstance(data, np.generic):
            arr = arr.astype(_default_dtype[0])  # NumPy scalars keep their dtype, as arrays
        elif isinstance(data, numbers.Number) and arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "fiub":
        if arr.dtype.kind == "c":
            raise TypeError("complex data is not supported by chainrule")
        raise TypeError(
            f"expected numeric data, got an array of dtype {arr.dtype} "
            f"(from {type(data).__name__})"
        )
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype), copy=False)
    return arr


def _completes(core: type):
    """Class decorator: the members of the decorated class and of its bases (the operators
    of :class:`~chainrule.tensor_operators.TensorOperators`) are given to ``core``, the
    engine's class, which the decorated name then names. Its docstring too."""

    def complete(cls: type) -> type:
        for klass in reversed(cls.__mro__[:-1]):  # bases first: the class body wins
            for name, value in vars(klass).items():
                if name not in ("__module__", "__qualname__", "__dict__", "__weakref__",
                                "__slots__", "__doc__", "__static_attributes__"):
                    setattr(core, name, value)
        core.__doc__ = cls.__doc__
        core.__module__ = cls.__module__  # its public home (pickle, the docs, getsource)
        return core

    return complete


# The engine defines Tensor's data core (chainrule.autodiff.tensor_core: its slots, make,
# the graph and version attributes), since the engine makes and reads Tensors. Here, in
# the layer above the engine, the same class gets everything else a user does with it:
# construction from user data, conversions, backward(), detach(), in-place changes, and
# the operators of TensorOperators (which compute with the NumPy surface, handed to them
# when it is built). One class; this is the one place it is completed.
@_completes(Tensor)
class Tensor(TensorOperators):  # noqa: F811 (the engine's class, completed)
    """An n-dimensional array that records how it was computed, for differentiation.

    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x ** 2).sum(); y.backward(); x.grad
    tensor([2., 4.])
    """

    __slots__ = ()

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        arr = to_array(data, dtype)
        if isinstance(data, (Tensor, np.ndarray)):
            arr = arr.copy()
            if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
                STATE.compile_tracer.created(data, arr)  # a copy of a traced value
        self.data = arr
        self._grad = None
        self._requires_grad = False
        self._node = None
        self._vcl = None
        self.name = None
        self._tangent = None
        if requires_grad:
            _check_can_require_grad(arr.dtype)
            self._requires_grad = True

    # ----- conversion -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A copy of the values as a NumPy array."""
        return self.data.copy()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted, this one has shape "
                f"{self.shape}"
            )
        if not DEFAULT_MODE[0]:
            self._check_compile(".item()")
        return self.data.item()

    def tolist(self):
        """The values as (nested) Python lists."""
        if not DEFAULT_MODE[0]:
            self._check_compile(".tolist()")
        return self.data.tolist()

    def _check_compile(self, what: str) -> None:
        """Under ``cr.compile`` tracing, a traced value must not become a Python value."""
        tracer = STATE.compile_tracer
        if tracer is not None:
            tracer.value_used(self, what)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` shares the values (no copy, no gradient); ``np.array(t)``
        copies them, as for an ndarray (NumPy passes ``copy=True``)."""
        if not DEFAULT_MODE[0]:
            self._check_compile("np.asarray()")
        if copy:
            return self.data.astype(self.data.dtype if dtype is None else dtype, copy=True)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data
        if copy is False:
            raise ValueError(f"converting a {self.data.dtype} tensor to {np.dtype(dtype)} "
                             "needs a copy, but copy=False was given")
        return self.data.astype(dtype)

    def __float__(self) -> float:
        if not DEFAULT_MODE[0]:
            self._check_compile("float()")
        self._check_not_traced("float()")
        return float(self.item())

    def __int__(self) -> int:
        if not DEFAULT_MODE[0]:
            self._check_compile("int()")
        self._check_not_traced("int()")
        return int(self.item())

    def __index__(self) -> int:
        """A one-element integer tensor used as an index (``items[t]``, ``range(t)``)."""
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(
                f"only an integer tensor with one element can be used as an index, not a "
                f"{self.data.dtype} tensor of shape {self.data.shape}"
            )
        if not DEFAULT_MODE[0]:
            self._check_compile("using it as an index")
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` for a one-element tensor; larger ones print as ``str``."""
        if self.data.size == 1:
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(
                f"format spec {spec!r} needs a one-element tensor, this one has shape "
                f"{self.data.shape}"
            )
        return str(self)

    def _check_not_traced(self, what: str) -> None:
        """Refuse to turn a differentiated value into a Python number inside a transform.

        ``math.sin(t)`` calls ``float(t)``: the result would be a constant, and the
        derivative through it silently 0. ``.item()`` stays available on purpose.
        """
        if STATE.tracing and (self.requires_grad or self._tangent):
            raise TypeError(
                f"{what} of a Tensor that is being differentiated would drop its derivative "
                "(math.sin(t), float(t), ... give constants). Use chainrule's functions "
                "(cr.sin, cr.exp, ...) to keep it, or t.item() if you only want the number."
            )

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        if not DEFAULT_MODE[0]:
            self._check_compile("bool() (an `if`, `while`, `and`/`or` on it)")
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.data.shape[0]):
            yield self[i]

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != _default_dtype[0] and self.data.dtype != np.int64:
            extras.append(f"dtype={self.data.dtype}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ----- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (reverse mode).

        ``gradient`` is the cotangent ``dL/d(self)``; it may be omitted only when ``self``
        has a single element (then it is 1). ``retain_graph`` keeps the graph for another
        backward (default: ``create_graph``); ``create_graph`` records the backward pass so
        the gradients can be differentiated again.
        """
        _backward.backward([self], [gradient], retain_graph=retain_graph,
                           create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same values (shared memory and version counter), cut from the graph."""
        t = make(self.data)
        t._vc = self._vc
        guard_saved_output(self)
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place; returns self."""
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._node is not None:
            import weakref

            self._node.retained = weakref.ref(self)
        return self

    # ----- in-place operations ----------------------------------------------------------
    def _inplace(self, opname: str, compute) -> Tensor:
        """Replace self's values by ``compute(self_as_it_was)`` and bump its version.

        When a graph is being recorded, self is *rebased*: it becomes the output of the
        new operation, whose input is a snapshot of the old self (nodes recorded earlier
        keep pointing to the old node; if they saved self's values, the bumped version makes
        their backward raise instead of silently using the new values).
        """
        recording = STATE.grad_enabled
        self._check_writable(opname)
        if recording and self._requires_grad:
            self._check_not_a_leaf(opname)
        old = make(self.data.copy() if recording else self.data, self._node)
        tracer = STATE.compile_tracer
        if recording and tracer is not None:
            tracer.copied(self.data, old.data)
        old._requires_grad = self._requires_grad
        previous = self._node
        if previous is not None and previous.args is not None and (
            recording or previous.prim.saves_ans
        ):
            # The node that produced the old values gets a snapshot of them, so its rule
            # still sees the right `ans` after self's buffer is overwritten.
            previous.out = old.data if recording else self.data.copy()
        result = compute(old)
        self._check_inplace_result(opname, result, recording)
        np.copyto(self.data, result.data, casting="same_kind")
        if tracer is not None:
            tracer.inplace(self, result)
        self.mark_modified(opname)
        if previous is not None and previous.out_guards:
            # The previous node kept a snapshot above: its saved output is still right.
            for guard in previous.out_guards:
                if guard[0] is self._vcl:
                    guard[1] = self._vcl.version
        if recording and result._node is not None:
            node = result._node
            node.out = self.data
            self._node = node
            self._requires_grad = True
        self._tangent = result._tangent
        return self

    def _check_not_a_leaf(self, opname: str) -> None:
        """Refuse a recorded in-place change of a leaf that requires grad, or of a view of
        one (it would change the leaf): PyTorch refuses them too."""
        if self._node is None:
            raise RuntimeError(
                f"{opname}: a leaf tensor that requires grad cannot be changed in place "
                "while gradients are recorded; do it inside `with cr.no_grad():` (as "
                "optimizers do) or change a copy"
            )
        vc = self._vcl
        if vc is not None and vc.owned:  # a view of such a leaf (or it)
            raise RuntimeError(
                f"{opname}: this tensor is a view of a leaf tensor that requires grad (it "
                "shares its memory), so changing it in place would change the leaf; do it "
                "inside `with cr.no_grad():` or change a copy (y = x.clone())"
            )

    def _check_inplace_result(self, opname: str, result: Tensor, recording: bool) -> None:
        """The new values ``result`` can replace self's: same shape, a dtype that casts,
        and no other live tensor shows this memory if the change is recorded."""
        vc = self._vcl
        if recording and result._node is not None and vc is not None and (
                vc.shown_by_another(self)):
            # Another tensor alive shows this memory (a view of self, or the tensor self is
            # a view of). Recording the change rebases self alone: the other would show the
            # new values with the old history, and its gradient would be silently wrong.
            # (PyTorch rewrites the other's history; chainrule refuses instead. Once the
            # other is gone, as after h = h.reshape(...), the change is recorded as usual.)
            raise RuntimeError(
                f"{opname}: this tensor shares its memory with a view (reshape, .T, "
                "broadcast_to...), so a recorded in-place change would leave the other "
                "one's gradient wrong; compute a new tensor instead (y = y * 2 rather than "
                "y *= 2), change a copy (y.clone()), or do it under cr.no_grad()"
            )
        if result.data.dtype != self.data.dtype and not np.can_cast(
            result.data.dtype, self.data.dtype, "same_kind"
        ):
            raise TypeError(
                f"{opname}: result dtype {result.data.dtype} cannot be stored in place in a "
                f"tensor of dtype {self.data.dtype}"
            )
        if result.data.shape != self.data.shape:
            raise ValueError(
                f"{opname}: in-place result has shape {result.data.shape}, but the tensor has "
                f"shape {self.data.shape}"
            )

    def _check_writable(self, opname: str) -> None:
        if not self.data.flags.writeable:
            raise ValueError(
                f"{opname}: this tensor's values are read-only (a broadcast_to view shows one "
                "value in many places), so they cannot be changed in place; change a copy "
                "(y = x.clone())"
            )

    def _inplace_arith(self, opname: str, ufunc, fn, other) -> Tensor:
        """``x op= other``: straight into x's buffer when no graph is involved (the optimizer
        case, ``with cr.no_grad(): p -= lr * p.grad``), else recorded through ``_inplace``."""
        if not STATE.jvp_levels and STATE.compile_tracer is None and not (
                STATE.grad_enabled and (self.requires_grad or (
                isinstance(other, Tensor) and other.requires_grad))) and (
                self._node is None or not self._node.prim.saves_ans):
            value = other.data if isinstance(other, Tensor) else other
            self._check_writable(opname)
            try:
                ufunc(self.data, value, out=self.data, casting="same_kind")
            except (ValueError, TypeError) as exc:
                # (NumPy's casting error cannot be rebuilt from a message: raise its base.)
                raise (TypeError if isinstance(exc, TypeError) else ValueError)(
                    f"{opname}: cannot store the result in place in a tensor of shape "
                    f"{self.shape} and dtype {self.dtype}: {exc}"
                ) from None
            self.mark_modified(opname)
            return self
        return self._inplace(opname, lambda old: fn(old, other))

    def copy_(self, src) -> Tensor:
        """Copy ``src`` (broadcast to self's shape) into self in place."""
        return self._inplace("copy_", lambda old: _operators._api.broadcast_to(
            _operators._api.astype(src if isinstance(src, Tensor) else make(to_array(src)),
                                   old.dtype),
            old.shape))

def add_methods(names) -> None:
    """Give Tensor the method form of each function named (``t.exp()`` is ``cr.exp(t)``).

    The NumPy surface calls this with the names its tables list (the primitives declared
    ``method=True``, and its own functions such as ``sum``), since it sits above Tensor."""
    for name in names:
        setattr(Tensor, name, method_form(name))


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """Create a leaf tensor from a number, nested list, NumPy array or Tensor (copied).

    Python floats become ``cr.get_default_dtype()`` (float32 unless changed), integers
    int64, NumPy arrays keep their dtype. Only floating tensors can require grad.
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)
