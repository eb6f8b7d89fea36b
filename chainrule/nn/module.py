"""``Module`` and ``Parameter``: models as trees of layers that own their weights.

As in PyTorch, assigning a :class:`Parameter` or a :class:`Module` to an attribute of a
module registers it, so ``model.parameters()`` finds every weight of every nested layer and
``model.state_dict()`` names them by their attribute paths (``"layers.0.weight"``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from chainrule.compile.effects import effect
from chainrule.tensor import Tensor, to_array

__all__ = ["Module", "Parameter"]


class Parameter(Tensor):
    """A Tensor that is a module's weight: it requires grad, and assigning it to a module's
    attribute registers it.

    ``Parameter(data)`` holds a copy of ``data`` (an array, Tensor or list; Python floats
    become the default dtype). Results of operations on parameters are plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


def _addindent(s: str, spaces: int) -> str:
    lines = s.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


class Module:
    """Base class for layers and models.

    Subclass it, create parameters and sub-modules in ``__init__`` (after calling
    ``super().__init__()``), and compute the output in ``forward``; call the module like a
    function.

    Example::

        >>> import chainrule as cr
        >>> class MLP(cr.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = cr.nn.Linear(4, 8)
        ...         self.out = cr.nn.Linear(8, 3)
        ...     def forward(self, x):
        ...         return self.out(cr.relu(self.hidden(x)))
        >>> [name for name, _ in MLP().named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- attribute registration -----------------------------------------------------------

    def _registries(self) -> tuple[dict, dict, dict]:
        try:
            return self._parameters, self._buffers, self._modules
        except AttributeError:
            raise AttributeError(
                f"cannot assign to {type(self).__name__} before Module.__init__() is called; "
                "call super().__init__() first in your __init__"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        params, buffers, modules = self._registries()
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            self.__dict__.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__}: use cr.nn.Parameter(...) or None"
                )
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(value)
            buffers[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to sub-module {name!r}: use a Module"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, an absent optional weight) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._registries()
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Register a non-trainable tensor (e.g. running statistics) saved in state dicts
        unless ``persistent=False``."""
        self._registries()
        self.__dict__.pop(name, None)
        self._buffers[name] = (
            None if value is None else (value if isinstance(value, Tensor) else Tensor(value))
        )
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._registries()
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # --- calling --------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of this module: ``module(x)`` calls ``forward(x)``.

        Every layer defines it (a module you write defines it too, as in PyTorch); the gradient
        comes from recording the operations it runs, so no backward is written by hand.
        Called on the base class itself it raises ``NotImplementedError`` naming the class.
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- traversal ------------------------------------------------------------------------

    def named_modules(
        self, prefix: str = "", memo: set | None = None
    ) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for this module and every module below it, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, self first, each once (``named_modules`` without the names)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct sub-module, a shared one once (as PyTorch)."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, a shared one once (``named_children`` without the names)."""
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each parameter once (shared weights too)."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of this module and (by default) its sub-modules."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs: the non-parameter state (``running_mean``...).

        Args:
            prefix: put before every name (``"model"`` gives ``"model.bn.running_mean"``).
            recurse: also the buffers of sub-modules (default), else only this module's own.
        """
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers (non-parameter state, such as BatchNorm's running statistics);
        ``recurse=False``: only this module's own.
        """
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- modes and gradients --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics used) here and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every floating parameter and buffer to ``dtype`` in place (``cr.float64``...);
        gradients are dropped. Returns self."""
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"Module.to: expected a floating dtype, got {dt}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dt:
                t.data = t.data.astype(dt)
                t.grad = None
                t.mark_modified("Module.to")
        return self

    def double(self) -> Module:
        """``to(cr.float64)``."""
        return self.to(np.float64)

    def float(self) -> Module:
        """``to(cr.float32)``."""
        return self.to(np.float32)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (``False`` freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @effect("module.zero_grad()")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (to None, or to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    # --- state dicts ----------------------------------------------------------------------

    def state_dict(self, prefix: str = "") -> OrderedDict[str, np.ndarray]:
        """Parameters and persistent buffers by dotted name, as NumPy arrays (copies), ready
        for ``cr.save``."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_prefix, m in self.named_modules(prefix):
            dot = f"{mod_prefix}." if mod_prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[dot + name] = p.data.copy()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[dot + name] = b.data.copy()
        return out

    def _state_targets(self) -> OrderedDict[str, Tensor]:
        targets: OrderedDict[str, Tensor] = OrderedDict()
        for mod_prefix, m in self.named_modules():
            dot = f"{mod_prefix}." if mod_prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    targets[dot + name] = p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    targets[dot + name] = b
        return targets

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        With ``strict=True`` (default) the keys must match exactly; any missing or unexpected
        key, or any shape mismatch, raises a ``RuntimeError`` that lists them all, and
        nothing is changed. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict expects a dict of arrays, got {type(state_dict).__name__}"
            )
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        problems = []
        values = {}
        for k, t in targets.items():
            if k not in state_dict:
                continue
            try:
                v = to_array(state_dict[k])
            except TypeError as e:
                problems.append(f"{k}: {e}")
                continue
            if v.shape != t.data.shape:
                problems.append(
                    f"size mismatch for {k}: the checkpoint has shape {v.shape}, this model "
                    f"has shape {t.data.shape}"
                )
            values[k] = v
        if strict and (missing or unexpected):
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise RuntimeError(
                f"error(s) in loading state_dict for {type(self).__name__} (is the checkpoint "
                "from another architecture?):\n  " + "\n  ".join(problems)
            )
        for k, v in values.items():
            t = targets[k]
            np.copyto(t.data, v, casting="unsafe")
            t.mark_modified("load_state_dict")
        return _IncompatibleKeys(missing, unexpected)

    # --- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The part inside the parentheses of this module's repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )
