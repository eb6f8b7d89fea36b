"""Guards: what a call must share with a traced one for that trace's code to be right.

A call's *key* holds, for every argument leaf: a Tensor's or array's shape, dtype and
``requires_grad``; a Python float's type (its value is traced); any other leaf's value
(ints, bools, strings, static arguments, objects by identity); the pytree structure; the
grad mode; and, for each Module the function reaches (closure, globals it names, bound
``self``, arguments), the train/eval flags of its submodules and the identity of its
parameters. Equal keys replay the same code; a different key traces again, and
:func:`explain_miss` says which part changed.

The common call, positional arrays and Tensors only, is keyed without flattening anything:
a compiled call must cost little more than the code it runs.
"""

from __future__ import annotations

import types

import numpy as np

from chainrule.autodiff.graph import STATE
from chainrule.tensor import Tensor

_ndarray = np.ndarray


def fast_key(args: tuple):
    """The key of positional arguments that are all arrays or Tensors, else None."""
    parts = []
    for a in args:
        t = type(a)
        if t is _ndarray:
            parts.append((a.shape, a.dtype))
        elif t is Tensor or isinstance(a, Tensor):
            parts.append((a.data.shape, a.data.dtype, a._requires_grad))
        else:
            return None
    return tuple(parts)


def leaf_key(leaf, static: bool):
    """One leaf's part of the key (None for a leaf that makes a trace impossible)."""
    if static:
        try:
            hash(leaf)
        except TypeError:
            raise TypeError(
                f"cr.compile: static argument of type {type(leaf).__name__} is not hashable; "
                "static arguments are part of the cache key (pass a tuple, not a list)"
            ) from None
        return ("static", type(leaf), leaf)
    if isinstance(leaf, Tensor):
        return ("tensor", leaf.data.shape, leaf.data.dtype, leaf._requires_grad)
    if isinstance(leaf, np.ndarray):
        return ("array", leaf.shape, leaf.dtype)
    if type(leaf) is float or isinstance(leaf, np.floating):
        return ("float", type(leaf))
    if isinstance(leaf, (bool, int, str, bytes, type(None), np.integer, np.bool_)):
        return ("value", type(leaf), leaf)
    return ("object", id(leaf))


def is_dynamic(leaf) -> bool:
    """Is this leaf traced (its value may change between calls without a re-trace)?"""
    return isinstance(leaf, (Tensor, np.ndarray, float, np.floating))


def find_modules(fn, args=(), depth: int = 3) -> list:
    """Modules and optimizers ``fn`` can reach: closures, named globals, ``self``, args.

    Both are known by what the guards read of them, not by class (``nn`` and ``optim`` sit
    above ``compile``): a module by ``modules()`` (itself and its submodules, each with a
    ``training`` flag) and ``parameters()``, as :class:`chainrule.nn.Module` has them
    (see :func:`module_key`); an optimizer by ``param_groups`` and ``step``."""
    found: dict = {}
    seen: set = set()

    def visit(obj, d):
        if id(obj) in seen or d < 0:
            return
        seen.add(id(obj))
        if _is_module(obj):
            found[id(obj)] = obj
            return
        groups = getattr(obj, "param_groups", None)
        if type(groups) is list and hasattr(obj, "step"):  # (a Mock has any attribute)
            for group in groups:
                for p in group.get("params", ()) if isinstance(group, dict) else ():
                    visit(p, d)
            return
        if isinstance(obj, types.MethodType):
            visit(obj.__self__, d)
            visit(obj.__func__, d)
            return
        if isinstance(obj, (types.FunctionType, types.LambdaType)):
            for cell in obj.__closure__ or ():
                try:
                    visit(cell.cell_contents, d - 1)
                except ValueError:  # an empty cell
                    pass
            g = obj.__globals__
            for name in obj.__code__.co_names:
                if name in g:
                    value = g[name]
                    if not isinstance(value, types.ModuleType):
                        visit(value, d - 1)
            return
        if isinstance(obj, (list, tuple)):
            for x in obj:
                visit(x, d - 1)
        elif isinstance(obj, dict):
            for x in obj.values():
                visit(x, d - 1)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)):
            # An object's attributes: a callable one (a loss, a functools.partial), or a
            # plain one holding the model (a trainer whose method is compiled).
            try:
                attributes = list(vars(obj).values())
            except TypeError:  # a __dict__ that is not a mapping
                attributes = []
            for x in attributes:
                visit(x, d - 1)
            call = type(obj).__dict__.get("__call__")
            if isinstance(call, types.FunctionType):
                visit(call, d - 1)

    visit(fn, depth)
    for a in args:
        visit(a, 1)
    return _outermost(list(found.values()))


def _outermost(modules: list) -> list:
    """``modules`` without those inside another one of them: a model's layers, reached
    again through a list of them, are guarded by the model's key already (each module's
    key costs a walk of its tree on every call)."""
    kept: list = []  # (module, ids of its tree)
    for m in modules:
        tree = {id(sub) for sub in m.modules()}
        if any(id(m) in other for _, other in kept):
            continue
        kept = [(k, other) for k, other in kept if id(k) not in tree]
        kept.append((m, tree))
    return [m for m, _ in kept]


def _is_module(obj) -> bool:
    """Does ``obj`` have what :func:`module_key` reads: ``modules()``, ``parameters()`` and a
    ``training`` flag (an instance of :class:`chainrule.nn.Module`, or anything like one)?"""
    return (not isinstance(obj, type) and isinstance(getattr(obj, "training", None), bool)
            and callable(getattr(obj, "modules", None))
            and callable(getattr(obj, "parameters", None)))


def module_key(modules: list) -> tuple:
    """Train/eval flags of every submodule and the identity of every parameter."""
    if not modules:
        return ()
    parts = []
    for m in modules:
        parts.append(tuple(sub.training for sub in m.modules()))
        parts.append(tuple(map(id, m.parameters())))
    return tuple(parts)


def grad_mode() -> bool:
    return STATE.grad_enabled


def explain_miss(old: dict, new: dict) -> str:
    """Why ``new`` (the parts of a key, by label) missed the cache entry ``old``."""
    if old is None:
        return "first call"
    reasons = []
    for label, value in new.items():
        before = old.get(label, "<absent>")
        if before != value:
            reasons.append(f"{label} changed: {_show(before)} -> {_show(value)}")
    for label in old:
        if label not in new:
            reasons.append(f"{label} is gone")
    return "; ".join(reasons) or "a guard changed"


def _show(part) -> str:
    if isinstance(part, tuple) and part and part[0] in ("tensor", "array"):
        text = f"{part[0]} {part[1]} {part[2]}"
        if part[0] == "tensor" and part[3]:
            text += " requires_grad"
        return text
    if isinstance(part, tuple) and part and part[0] in ("value", "static"):
        return repr(part[2])
    return repr(part)
