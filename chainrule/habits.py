"""Helpful answers to PyTorch habits: the chainrule way named in the error.

chainrule's top level follows NumPy (``axis=``), its ``nn`` follows PyTorch's module API
(where ``dim=`` is an alias of ``axis=``).  A PyTorch name without a chainrule twin raises
an ``AttributeError`` that says what to write instead.
"""

from __future__ import annotations

import functools

__all__ = ["refuse_dim", "dim_error", "axis_alias", "TENSOR_HINTS", "MODULE_HINTS"]

#: ``t.name`` (PyTorch) -> what to write in chainrule.
TENSOR_HINTS = {
    "unsqueeze": "cr.expand_dims(t, axis)",
    "float": "t.astype(cr.float32)",
    "double": "t.astype(cr.float64)",
    "long": "t.astype(cr.int64)",
    "int": "t.astype(cr.int64)",
    "half": "t.astype(cr.float32) (chainrule has no float16 arithmetic)",
    "to": "t.astype(dtype) (chainrule runs on the CPU: there is no device to move to)",
    "permute": "t.transpose(axes)",
    "numel": "t.size",
    "dim": "t.ndim",
    "cuda": "nothing (chainrule runs on NumPy, on the CPU)",
    "cpu": "nothing (chainrule runs on NumPy, on the CPU)",
    "contiguous": "nothing (chainrule's arrays need no such call)",
    "masked_fill": "cr.where(mask, value, t)",
    "clamp": "cr.clip(t, lo, hi)",
}

#: ``torch.name`` -> what to write in chainrule (``cr.`` attributes).
MODULE_HINTS = {
    "cat": "cr.concatenate(tensors, axis=...)",
    "unsqueeze": "cr.expand_dims(t, axis)",
    "permute": "cr.transpose(t, axes)",
    "clamp": "cr.clip(t, lo, hi)",
    "from_numpy": "cr.tensor(array)",
}


def hint_error(owner: str, name: str, hints: dict) -> AttributeError:
    return AttributeError(
        f"{owner} has no attribute {name!r} (a PyTorch name): in chainrule write {hints[name]}"
    )


def dim_error(name: str, method: bool = False) -> TypeError:
    """The answer to PyTorch's ``dim=`` given to ``cr.name(x, ...)`` (or, with ``method``, to
    ``x.name(...)``): chainrule's NumPy-named functions take NumPy's ``axis=``.  The
    wrapped functions (``refuse_dim``), the engine's primitives and Tensor's methods all
    answer with it."""
    if method:
        call, fix = f"{name}()", f"x.{name}(axis=...)"
    else:
        call, fix = f"cr.{name}()", f"cr.{name}(x, axis=...)"
    return TypeError(f"{call} takes NumPy's axis=, not PyTorch's dim=: use {fix}")


def refuse_dim(name: str, fn):
    """``fn`` that answers PyTorch's ``dim=`` with chainrule's ``axis=`` (NumPy's name)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "dim" in kwargs:
            raise dim_error(name)
        return fn(*args, **kwargs)

    return wrapper


def axis_alias(axis, dim, name: str, default=-1):
    """``axis`` or PyTorch's ``dim`` (``cr.nn`` follows PyTorch's module API)."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None and axis != dim:
        raise TypeError(f"{name}: give axis= or its alias dim=, not both")
    return dim
