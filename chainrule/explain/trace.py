"""The function or expression traced at the point: its inputs as fresh leaves.

``cr.explain`` differentiates what the user gave at a point.  The point's values become
leaf Tensors that require grad (Python numbers as float64), the function or expression is
run once on them with the engine recording, and the output, the inputs by name and the
output's name come back.  A network's parameters, given as ``wrt=model``, are named as a
textbook names them (``W1, b1, ...``, see :func:`_parameter_names`).  The same tracing
gives gradient descent its numbers at each new point (:func:`_evaluator`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np

from chainrule.autodiff.graph import topological_order, tracing
from chainrule.explain.evaluate import chainrule_functions, evaluate_program
from chainrule.explain.expr import Program
from chainrule.tensor import Tensor

__all__: list[str] = []


def _evaluator(f, wrt: tuple[str, ...]):
    """``evaluate(point) -> (output, {name: derivative})`` from the engine alone (no
    formulas): what gradient descent needs at each new point."""
    from chainrule.autodiff.backward import grad as engine_grad

    def evaluate(point: dict):
        with np.errstate(all="ignore"):
            if isinstance(f, Program):
                out, inputs, _ = _trace_program(f, point)
            else:
                out, inputs, _ = _trace_function(f, point)
            value = float(out.data.reshape(()))
            if not out.requires_grad:
                return value, {n: 0.0 for n in wrt}
            grads = engine_grad(out, [inputs[n] for n in wrt], allow_unused=True)
        return value, {n: 0.0 if g is None else float(g.data) for n, g in zip(wrt, grads)}

    return evaluate


class _NetworkEvaluator:
    """``evaluate({name: array}) -> (loss, {name: gradient array})`` for a function of no
    arguments over parameters (a network's loss), from the engine alone.

    Each evaluation puts the given arrays into the parameters, runs the function, takes
    the gradients and puts the parameters' own arrays back (the same array objects), so the
    user's model is unchanged afterwards; so are a module's buffers (BatchNorm's running
    statistics), saved before and put back after.  ``start`` holds copies of the
    parameters' values when the evaluator was made."""

    def __init__(self, f, params: Mapping, module=None):
        self.f, self.params = f, dict(params)
        self.buffers = [] if module is None else [b for _, b in module.named_buffers()]
        self.start = {n: np.array(t.data, copy=True) for n, t in self.params.items()}

    def __call__(self, values: Mapping):
        from chainrule.autodiff.backward import grad as engine_grad

        saved = {n: t.data for n, t in self.params.items()}
        saved_buffers = [(b, b.data.copy()) for b in self.buffers]
        try:
            for n, t in self.params.items():
                t.data = np.asarray(values[n], dtype=saved[n].dtype).reshape(saved[n].shape)
            with np.errstate(all="ignore"):
                out = self.f()
                loss = float(np.asarray(out.data).reshape(()))
                grads = engine_grad(out, list(self.params.values()), allow_unused=True)
            return loss, {n: np.zeros_like(self.start[n]) if g is None else np.array(g.data)
                          for n, g in zip(self.params, grads)}
        finally:
            for n, t in self.params.items():
                t.data = saved[n]
            for b, data in saved_buffers:
                b.data[...] = data


def _parameter_names(module) -> tuple[dict, dict[str, str]]:
    """A module's parameters by the names a textbook gives them: the weight and bias of
    the k-th dense layer (a module with ``in_features`` and ``out_features``) are ``Wk``
    and ``bk``; others keep the module's names.  Returns ``(params, {new: module name})``."""
    layer_of: dict[str, int] = {}
    modules = module.named_modules() if hasattr(module, "named_modules") else []
    for name, m in modules:
        if hasattr(m, "in_features") and hasattr(m, "out_features"):
            layer_of[name] = len(layer_of) + 1
    params, aliases = {}, {}
    for full, p in module.named_parameters():
        owner, _, attr = full.rpartition(".")
        k = layer_of.get(owner)
        name = full
        if k is not None and attr in ("weight", "bias"):
            name = f"{'W' if attr == 'weight' else 'b'}{k}"
        if name in params:
            name = full
        params[name] = p
        if name != full:
            aliases[name] = full
    return params, aliases


def _wrt_given(wrt):
    """``wrt`` as names or a ``{name: tensor}`` dict, the module's parameter aliases, and
    the module itself when ``wrt`` was one (else None)."""
    aliases: dict[str, str] = {}
    module = None
    if hasattr(wrt, "named_parameters"):
        module = wrt
        wrt, aliases = _parameter_names(wrt)
    if isinstance(wrt, Tensor):
        wrt = [wrt]
    if isinstance(wrt, (list, tuple)) and wrt and all(isinstance(w, Tensor) for w in wrt):
        # Tensors, as torch.autograd.grad(loss, [w1, w2]) takes them: named by their
        # .name, else p1, p2, ... in the order given.
        named: dict[str, Tensor] = {}
        for i, w in enumerate(wrt, 1):
            name = w.name if w.name and w.name not in named else f"p{i}"
            named[name] = w
        wrt = named
    return wrt, aliases, module


def _all_scalar(out: Tensor) -> bool:
    """Whether every value in the graph of ``out`` is a single number (splitting is for
    scalar chains; a network's steps are shown by the backward pass instead)."""
    if out._node is None:
        return False
    order = topological_order([out._node])
    return all(np.size(n.out) == 1 for n in order) and all(
        np.size(p.data) == 1 for n in order for p in n.parents if isinstance(p, Tensor)
    )


def _wrt(wrt, inputs: dict) -> tuple[str, ...]:
    if wrt is None:
        names = tuple(inputs)
    elif isinstance(wrt, str):
        names = tuple(w.strip() for w in wrt.split(",") if w.strip())
    else:
        names = tuple(wrt)
    for name in names:
        if name not in inputs:
            raise ValueError(
                f"explain: wrt={name!r} is not an input (inputs: {', '.join(inputs) or 'none'})"
            )
    if not names:
        raise ValueError("explain: there is no input to differentiate by")
    return names


def _given_leaves(tensors: Mapping, inputs: dict) -> dict[str, Tensor]:
    """``wrt={name: tensor}``: leaves of the user's graph (parameters), used as they are."""
    for name, t in tensors.items():
        if not isinstance(t, Tensor) or not t.requires_grad or not t.is_leaf:
            raise ValueError(
                f"explain: wrt[{name!r}] must be a leaf Tensor that requires grad "
                "(a parameter), got "
                + (
                    repr(t)[:60]
                    if not isinstance(t, Tensor)
                    else "a tensor that "
                    + ("is not a leaf" if t.requires_grad else "does not require grad")
                )
            )
        if name in inputs:
            raise ValueError(f"explain: {name!r} is both in the point and in wrt")
    return dict(tensors)


def _graph_leaves(out: Tensor) -> dict[str, Tensor]:
    """Every leaf that requires grad in the graph of ``out``, named by ``.name`` or ``p1,
    p2, ...`` in the order the forward pass met them."""
    leaves: dict[int, Tensor] = {}
    for node in topological_order([out._node]):
        for p in node.parents:
            if isinstance(p, Tensor) and id(p) not in leaves:
                leaves[id(p)] = p
    named: dict[str, Tensor] = {}
    for i, t in enumerate(leaves.values(), start=1):
        name = t.name or f"p{i}"
        while name in named:
            name += "'"
        named[name] = t
    return named


def _leaf(name: str, value) -> Tensor:
    """A fresh leaf that requires grad; Python numbers become float64 (not float32)."""
    if isinstance(value, Tensor):
        arr = value.data
    elif isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"explain: the value of '{name}' must be a number, got {value!r:.40}")
    else:
        arr = np.asarray(value)
        if arr.dtype.kind in "iub" or not isinstance(value, np.ndarray):
            arr = arr.astype(np.float64)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"explain: the value of '{name}' must be real, got dtype {arr.dtype}")
    leaf = Tensor(arr)
    leaf.requires_grad = True
    leaf.name = name
    return leaf


def _trace_program(program: Program, point: dict):
    import chainrule.numpy_api as api

    inputs = {name: _leaf(name, point[name]) for name in program.inputs if name in point}

    def bind(name, value, values):
        if not isinstance(value, Tensor):
            value = Tensor(np.asarray(value, dtype=np.float64))  # a constant: no graph
        elif any(value is v for v in values.values()):
            value = api.copy(value)  # "y = x": a quantity of its own, not an alias of x
        return api.named(value, name)

    values = evaluate_program(program, {**point, **inputs}, chainrule_functions(), bind=bind)
    return values[program.output], inputs, program.output


def _trace_function(f, point: dict):
    import chainrule.numpy_api as api

    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        sig = None
    args, kwargs, inputs = [], {}, {}
    if sig is not None:
        has_var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        known = {
            n for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        for name in point:
            if name not in known and not has_var_kw:
                raise ValueError(
                    f"explain: {name!r} is not a parameter of {getattr(f, '__name__', 'f')} "
                    f"(parameters: {', '.join(known) or 'none'})"
                )
        for name, p in sig.parameters.items():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if name not in point:
                if p.default is p.empty:
                    raise ValueError(
                        f"explain: no value for '{name}' at the point: give one, as in "
                        f"cr.explain(f, {name}=1.0)"
                    )
                continue
            inputs[name] = _leaf(name, point[name])
            if p.kind is p.POSITIONAL_ONLY:
                args.append(inputs[name])
            else:
                kwargs[name] = inputs[name]
        for name in point:
            if name not in inputs:
                inputs[name] = kwargs[name] = _leaf(name, point[name])
    else:
        inputs = {name: _leaf(name, v) for name, v in point.items()}
        kwargs = dict(inputs)
    # A point outside the domain is reported by check_domain, naming the quantity;
    # NumPy's own warnings would only repeat it less clearly.
    with np.errstate(all="ignore"), tracing():
        out = f(*args, **kwargs)
    if not isinstance(out, Tensor):
        out = Tensor(np.asarray(out, dtype=np.float64))
    elif out.requires_grad and out._node is None:
        out = api.copy(out)  # f returned an input: give the output a node of its own
    name = out._node.name if out._node is not None and out._node.name else None
    return out, inputs, name
