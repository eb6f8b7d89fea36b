"""The ``Optimizer`` base class: parameter groups, state, ``zero_grad``, state dicts.

An optimizer holds the parameters it moves in *parameter groups*: dicts with a ``"params"``
list and the hyper-parameters (``lr``, ``weight_decay``, ...) for those parameters, as in
PyTorch. Per-parameter state (momentum buffers, moment estimates, step counts) lives in
``optimizer.state[p]``.

Updates are plain NumPy on each parameter's ``.data`` array, in place (with ``out=`` where
possible, so a step allocates little); no graph is recorded, as under ``cr.no_grad()``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.compile.effects import effect
from chainrule.tensor import Tensor

__all__ = ["Optimizer"]


class _ParamState(dict):
    """``optimizer.state``: per-parameter dicts keyed by the parameter object itself.

    Keys are compared by identity (``id``), because a Tensor's ``==`` is elementwise.
    """

    def __init__(self) -> None:
        super().__init__()
        self._params: dict[int, Any] = {}

    def __getitem__(self, p: Any) -> dict:
        key = id(p)
        if not super().__contains__(key):
            super().__setitem__(key, {})
            self._params[key] = p
        return super().__getitem__(key)

    def __contains__(self, p: object) -> bool:
        return super().__contains__(id(p))

    def __setitem__(self, p: Any, value: dict) -> None:
        super().__setitem__(id(p), value)
        self._params[id(p)] = p

    def get(self, p: Any, default: Any = None) -> Any:
        return super().get(id(p), default)

    def __iter__(self):
        return (self._params[k] for k in super().keys())

    def keys(self):  # type: ignore[override]
        return list(self)

    def items(self):  # type: ignore[override]
        return [(self._params[k], v) for k, v in super().items()]


def _grad_array(p: Any) -> np.ndarray | None:
    """The gradient of ``p`` as an ndarray (``.grad`` is a Tensor, or None)."""
    g = p.grad
    return None if g is None else g.data


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of parameters (Tensors with ``requires_grad=True``), or of dicts
            defining parameter groups (``{"params": [...], "lr": 0.1}``).
        defaults: default hyper-parameters for groups that do not set them.

    Subclasses implement :meth:`_update` for one group.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if "lr" in defaults:
            _check_non_negative(name, "learning rate", defaults["lr"])
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[int, np.ndarray] = {}
        if callable(getattr(params, "parameters", None)) and not _is_tensor_like(params):
            raise TypeError(
                f"{name} got the model ({type(params).__name__}), not its parameters: pass "
                f"model.parameters(), as in {name}(model.parameters(), lr=...)"
            )
        if _is_tensor_like(params):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts, got a single "
                f"Tensor; pass [p] or model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{name} got an empty parameter list: pass model.parameters() of a model that "
                "has parameters"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyper-parameters, to optimize."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group)}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = [params] if _is_tensor_like(params) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty 'params' list")
        for p in params:
            if not _is_tensor_like(p):
                raise TypeError(
                    f"{name} can only optimize Tensors, got {type(p).__name__} in 'params'"
                )
            if not getattr(p, "requires_grad", False):
                raise ValueError(
                    f"{name}: a parameter does not require grad (shape {tuple(p.shape)}); "
                    "optimize parameters created with requires_grad=True"
                )
            if not getattr(p, "is_leaf", True):
                raise ValueError(f"{name} can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        if "lr" in group:
            _check_non_negative(name, "learning rate", group["lr"])
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters (subclasses extend)."""
        name = type(self).__name__
        for key in ("weight_decay", "eps", "momentum"):
            if key in group:
                _check_non_negative(name, key.replace("_", " "), group[key])

    @effect("optimizer.zero_grad()")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to ``None`` by default, as
        PyTorch; ``set_to_none=False`` fills them with zeros instead)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    _grad_array(p)[...] = 0

    @effect("optimizer.step(): the update, in place, from each .grad")
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        ``closure``, if given, re-evaluates the model and returns the loss (it is called with
        gradients enabled, before the update); its value is returned.
        """
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                g = _grad_array(p)
                if g is None:
                    continue
                if g.shape != p.data.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}.step: gradient of shape {g.shape} for a "
                        f"parameter of shape {p.data.shape}"
                    )
                if group.get("maximize", False):
                    g = -g
                w = p.data
                tmp = self._scratch.get(id(p))
                if tmp is None or tmp.shape != w.shape or tmp.dtype != w.dtype:
                    tmp = self._scratch[id(p)] = np.empty_like(w)
                self._update(w, g, self.state[p], group, tmp)
                if isinstance(p, Tensor):  # visible to the engine's saved-value check
                    p.mark_modified(f"{type(self).__name__}.step")
        return loss

    def _update(
        self, w: np.ndarray, g: np.ndarray, state: dict, group: dict, tmp: np.ndarray
    ) -> None:
        """Update the weights ``w`` in place from their gradient ``g`` (never written to).

        ``state`` is this parameter's state dict, ``group`` its hyper-parameters and ``tmp`` a
        scratch array shaped like ``w``, kept between steps so that a step need not allocate.
        """
        raise NotImplementedError

    # --- state dicts ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"state": {i: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index ``i`` in the order of the groups, as PyTorch
        does, so the dict can be saved with ``cr.save`` and loaded into a new optimizer built
        over the same parameters. Arrays are copies.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)  # one look-up: fit takes a state_dict at every step
                if st:
                    state[index[id(p)]] = {k: _copy(v) for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` (arrays are copied in)."""
        name = type(self).__name__
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError) as e:
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'"
            ) from e
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups, this optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters in the saved state and {len(group['params'])} here"
                )
        by_index: dict[int, Any] = {}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            for idx, p in zip(saved["params"], group["params"], strict=True):
                by_index[int(idx)] = p
        new_state = _ParamState()
        for idx, st in saved_state.items():
            p = by_index.get(int(idx))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {idx}")
            restored = {}
            for k, v in st.items():
                v = _copy(v)
                if isinstance(v, np.ndarray) and v.ndim and v.shape != p.data.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state {k!r} of parameter {idx} has shape "
                        f"{v.shape}, the parameter has shape {p.data.shape}"
                    )
                if isinstance(v, np.ndarray) and v.ndim:
                    v = v.astype(p.data.dtype, copy=False)
                restored[k] = v
            new_state[p] = restored
        self.state = new_state
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) and k == "betas" else v


def _copy(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, int | float | bool | str | None):
        return v  # immutable (a step count): deepcopy would return it too, slowly
    if hasattr(v, "data") and isinstance(getattr(v, "data", None), np.ndarray):
        return v.data.copy()
    return copy.deepcopy(v)


def _is_tensor_like(x: Any) -> bool:
    return isinstance(getattr(x, "data", None), np.ndarray) and not isinstance(x, np.ndarray)


def _check_non_negative(name: str, what: str, value: Any) -> None:
    try:
        ok = float(value) >= 0.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name}: invalid {what}: {value!r} (must be a number >= 0)")
