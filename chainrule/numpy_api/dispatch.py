"""NumPy's functions on Tensors: ``__array_ufunc__`` and ``__array_function__``.

``np.sin(t)`` runs ``cr.sin``, ``np.sum(t, axis=0)`` runs ``cr.sum``, ``np.linalg.inv(t)``
``cr.linalg.inv``: the tables of the NumPy surface (generated from the declarations) say
which. Other NumPy functions see plain arrays, except that one whose floating result would
silently drop the gradient of a Tensor that requires grad is an error.
"""

from __future__ import annotations

import inspect

import numpy as np

from chainrule.autodiff.graph import STATE
from chainrule.tensor import Tensor


def array_ufunc(ufuncs: dict, ufunc, method: str, inputs: tuple, kwargs: dict):
    """``ufunc(*inputs, **kwargs)`` with a Tensor among the inputs; ``ufuncs`` maps NumPy's
    ufunc names to chainrule's functions (the NumPy surface's ``UFUNCS``)."""
    fn = ufuncs.get(ufunc.__name__)  # by NumPy's own names (absolute, divide, ...)
    if method != "__call__" or kwargs or fn is None:
        what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        extra = f" with {', '.join(kwargs)}=" if kwargs else ""
        raise TypeError(
            f"{what}{extra} does not work on chainrule Tensors; use chainrule's function "
            "(cr.sum, cr.exp, ...) or convert with t.numpy() (which has no gradient)"
        )
    return fn(*inputs)


def array_function(functions: dict, linalg_functions: dict, func, args: tuple, kwargs: dict):
    """NumPy's ``func(*args, **kwargs)`` with a Tensor among the arguments; ``functions``
    and ``linalg_functions`` map NumPy's names (``np.<name>``, ``np.linalg.<name>``) to
    chainrule's differentiable functions (the NumPy surface's tables)."""
    name = func.__name__
    if func.__module__ == "numpy.linalg":
        fn = linalg_functions.get(name)
    else:
        fn = functions.get(name)
    if fn is not None:
        unknown = _unknown_keywords(fn, kwargs)
        if unknown:
            raise TypeError(
                f"np.{name} on a chainrule Tensor runs cr.{name}, which does not take "
                f"{', '.join(k + '=' for k in unknown)}; call it without, or pass "
                "t.detach() to use NumPy's (no gradient)"
            )
        return fn(*args, **kwargs)
    if name in _NUMPY_IN_PLACE and args and isinstance(args[0], Tensor):
        raise TypeError(
            f"np.{name} would change a Tensor's values behind its version counter (a "
            "backward that saved them could not tell); use the Tensor's own in-place "
            "operations: t[index] = v, t.copy_(src), t.fill_(v)"
        )
    result = func._implementation(*_arrays_in(args), **_arrays_in(kwargs))
    if (_has_floating_array(result) and STATE.grad_enabled
            and _any_requires_grad((args, kwargs))):
        # Shapes, indices, booleans carry no gradient; floating values would, silently.
        qualified = ("np.linalg." if func.__module__ == "numpy.linalg" else "np.") + name
        raise TypeError(
            f"{qualified} has no differentiable chainrule version, and a Tensor that "
            "requires grad is among its arguments: the gradient would be lost. Use a "
            "chainrule function, or pass t.detach() to compute without a gradient"
        )
    return result


# NumPy functions that write into their first argument.
_NUMPY_IN_PLACE = frozenset({"copyto", "fill_diagonal", "put", "put_along_axis", "place",
                             "putmask"})


_ACCEPTED: dict = {}  # function -> the keyword names it takes (None: any)


def _unknown_keywords(fn, kwargs: dict) -> list[str]:
    """The keyword arguments that ``fn`` does not accept (NumPy's ``out=``, ``where=``...);
    one given as None means NumPy's default and is let through."""
    if not kwargs:
        return []
    if fn not in _ACCEPTED:
        try:
            parameters = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            parameters = None
        if parameters is not None and any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            parameters = None
        _ACCEPTED[fn] = None if parameters is None else frozenset(parameters)
    accepted = _ACCEPTED[fn]
    if accepted is None:
        return []
    unknown = [k for k in kwargs if k not in accepted]
    for k in unknown:
        if kwargs[k] is None:
            del kwargs[k]
    return [k for k in unknown if k in kwargs]


def _has_floating_array(result) -> bool:
    """Whether a NumPy result holds floating values (an array, a scalar, or one inside a
    tuple such as ``np.linalg.svd``'s or ``np.histogram``'s)."""
    if isinstance(result, (tuple, list)):
        return any(_has_floating_array(r) for r in result)
    return isinstance(result, (np.ndarray, np.floating)) and result.dtype.kind == "f"


def _any_requires_grad(obj) -> bool:
    """Whether a Tensor that requires grad is in (nested) arguments."""
    if isinstance(obj, Tensor):
        return obj._requires_grad
    if isinstance(obj, (list, tuple)):
        return any(_any_requires_grad(o) for o in obj)
    if isinstance(obj, dict):
        return any(_any_requires_grad(o) for o in obj.values())
    return False


def _arrays_in(obj):
    """Tensors inside (nested) arguments replaced by their arrays, for NumPy itself."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_arrays_in(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _arrays_in(v) for k, v in obj.items()}
    return obj
