"""The pages of the API reference and the public names on them, read by ``conf.py`` (which
writes the pages) and by ``tests/test_docs.py`` (which checks every public method and
property on them has a docstring of its own)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator

TOP_LEVEL_EXTRA = {
    "Tensors and grad mode": ["Tensor", "no_grad", "enable_grad", "set_grad_enabled",
                              "is_grad_enabled"],
    "Transforms": ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp",
                   "check_grads"],
    "Your own primitives": ["primitive", "defvjp", "defjvp", "MissingRuleError"],
    "Saving and loading": ["save", "load"],
}

# (page, title, module, intro); every name in the module's __all__ is documented.
API_PAGES = [
    ("nn", "cr.nn: layers and losses", "chainrule.nn", "Layers, losses and ``Module``."),
    ("nn.functional", "cr.nn.functional", "chainrule.nn.functional", "Function forms."),
    ("nn.init", "cr.nn.init", "chainrule.nn.init", "Weight initialisation."),
    ("nn.utils", "cr.nn.utils", "chainrule.nn.utils", "Gradient clipping."),
    ("optim", "cr.optim: optimizers", "chainrule.optim", "PyTorch's update formulas."),
    ("optim.lr_scheduler", "cr.optim.lr_scheduler", "chainrule.optim.lr_scheduler", ""),
    ("data", "cr.data: datasets and loaders", "chainrule.data", ""),
    ("datasets", "cr.datasets", "chainrule.datasets", "Real and synthetic data sets."),
    ("train", "cr.train: fit and evaluate", "chainrule.train", ""),
    ("explain", "cr.explain: the chain rule, shown", "chainrule.explain", ""),
    ("viz", "cr.viz: pictures", "chainrule.viz", ""),
    ("compile", "cr.compile", "chainrule.compile", "Trace once, replay generated code."),
    ("distributed", "cr.distributed", "chainrule.distributed", "Several processes (MPI)."),
    ("io", "cr.save and cr.load", "chainrule.io", "Checkpoints, never pickle."),
    ("serve", "chainrule.serve", "chainrule.serve", "The browser explorer (extra ``serve``)."),
    ("testing", "cr.testing", "chainrule.testing", "Gradient checks."),
]


def module(name: str):
    """The module ``name`` (``chainrule.compile`` the module, not the function)."""
    importlib.import_module(name)
    return sys.modules[name]


def public_names() -> Iterator[tuple[str, str, object]]:
    """``(module, name, object)`` for every name the reference lists, in page order: the
    top-level page (its sections, then NumPy's names), then each page of ``API_PAGES``."""
    chainrule = module("chainrule")
    for names in TOP_LEVEL_EXTRA.values():
        for name in names:
            yield "chainrule", name, getattr(chainrule, name)
    for name in sorted(module("chainrule.numpy_api").__all__, key=str.lower):
        yield "chainrule", name, getattr(chainrule, name)
    for _, _, modname, _ in API_PAGES:
        mod = module(modname)
        for name in mod.__all__:
            yield modname, name, getattr(mod, name)


def documented_classes() -> dict[str, type]:
    """``{dotted name: class}`` for each chainrule class the reference documents with
    autodoc, under the name it is documented first (as ``conf.py`` does)."""
    out: dict[int, tuple[str, type]] = {}
    for modname, name, obj in public_names():
        if inspect.isclass(obj) and (obj.__module__ or "").startswith("chainrule"):
            out.setdefault(id(obj), (f"{modname}.{name}", obj))
    return dict(out.values())


def shown_bases(cls: type, documented) -> list[type]:
    """The classes whose members autodoc shows on ``cls``'s entry: ``cls`` itself and the
    internal (undocumented) chainrule bases before the first documented one or a class
    from elsewhere -- ``Linear`` shows none of ``Module``'s (they are on ``Module``'s
    entry)."""
    shown = [cls]
    for base in cls.__mro__[1:]:
        if base in documented or not (base.__module__ or "").startswith("chainrule"):
            break
        shown.append(base)
    return shown


def inherited_from(cls: type, documented) -> str | None:
    """The value of autodoc's ``:inherited-members:`` for ``cls`` (the bases whose members
    are *not* shown: the documented ones and those from elsewhere), or None when it has
    no internal base to show."""
    if len(shown_bases(cls, documented)) == 1:
        return None
    hidden = [b.__name__ for b in cls.__mro__ if b not in shown_bases(cls, documented)]
    return ", ".join(dict.fromkeys(hidden))


def public_members(cls: type, documented) -> dict[str, object]:
    """``{name: method or property}``: the public methods and properties autodoc lists on
    ``cls``'s entry (see :func:`shown_bases`), each found where ``cls`` would find it."""
    members: dict[str, object] = {}
    for base in shown_bases(cls, documented):
        for attr, value in vars(base).items():
            if attr.startswith("_") or attr in members:
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                members[attr] = value
            elif hasattr(value, "__get__") and hasattr(value, "func"):  # cached_property
                members[attr] = value.func
    return members


def members_without_docstring(cls: type, documented=()) -> list[str]:
    """The public methods and properties on ``cls``'s entry that have no docstring of their
    own. An override that only inherits its base method's docstring counts as missing:
    ``Linear.forward`` must say what Linear computes, not repeat ``Module.forward``."""
    return [
        attr
        for attr, value in public_members(cls, set(documented)).items()
        if not (value.__doc__ or "").strip()
    ]
