"""Code generation: a simplified program becomes one straight-line Python function.

The function ``compiled(A, T, S)`` takes the call's array inputs ``A``, its input leaves
``T`` (Tensors, whose ``.grad`` backward may set) and the state tensors ``S`` (parameters,
buffers: read through the objects on every call). It returns the flat output leaves.

Two dialects:

* NumPy (the default): each Op is one NumPy expression; matrix products stay on BLAS;
  large temporaries are released (``del``) right after their last use.
* Python floats: when every value is a 0-d float64 and every Op has a ``math`` form
  (micrograd-sized scalar graphs), NumPy's per-call overhead would dominate, so the code
  is written on Python floats with ``math.*``.

Backward lines carry the chain-rule link they compute, as a comment above them.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.compile import adapter
from chainrule.compile.program import (
    Const,
    Effect,
    Lit,
    Op,
    SetGrad,
    TensorOf,
    Var,
    Write,
    describe,
    render,
    walk,
)
from chainrule.tensor import make

_DEL_MIN_SIZE = 4096  # temporaries this large are released at their last use
_F64 = np.dtype(np.float64)


def _tensor(value):
    """A Tensor (no graph) around a result; 0-d NumPy scalars become 0-d arrays."""
    return make(value if type(value) is np.ndarray else np.asarray(value))


def _array(value):
    return value if type(value) is np.ndarray else np.asarray(value)


def math_dialect_fits(instrs, inputs, outputs) -> bool:
    """Can the whole program run on Python floats?"""
    for v in inputs:
        if v.shape != () or v.dtype != _F64:
            return False
    for ins in instrs:
        if type(ins) is SetGrad and (ins.value is None or (
                isinstance(ins.value, Var) and ins.value.shape == ()
                and ins.value.dtype == _F64)):
            continue  # a scalar parameter's gradient: a new 0-d array, as eager gives
        if type(ins) is not Op or ins.fn.math is None:
            return False
        if ins.params and ins.fn is not adapter.COPY:  # a copy's dtype= is float64 here
            return False
        if ins.out.shape != () or ins.out.dtype not in (_F64, np.dtype(bool)):
            return False
        for s in walk(ins.args):
            if isinstance(s, Var) and s.kind == "state" and (
                    s.shape != () or s.dtype != _F64):
                return False
            if isinstance(s, Const) and not (
                    isinstance(s.value, np.ndarray) and s.value.shape == ()
                    and s.value.dtype == _F64):
                return False
    return all(kind in ("array", "tensor", "literal", "holder") for kind, _ in outputs)


def generate(name: str, instrs: list, inputs: list, outputs: list, comments: dict,
             use_math: bool) -> tuple[str, dict]:
    """The source of the compiled function and the globals it needs."""
    namespace: dict = {"np": np, "math": math, "_tensor": _tensor, "_array": _array}
    consts: dict = {}
    callees = set()

    def arg(spec) -> str:
        for s in walk(spec):
            if isinstance(s, Const):
                consts[s.name] = s.value
        if use_math and isinstance(spec, Const):
            return repr(float(spec.value))
        return render(spec)

    # Where each value is used last, so large temporaries can be released.
    last_use: dict = {}
    for i, ins in enumerate(instrs):
        specs = _specs_of(ins)
        for v in walk(specs):
            if isinstance(v, Var):
                last_use[v.n] = i
    for _, spec in outputs:
        for v in walk(spec):
            if isinstance(v, Var):
                last_use[v.n] = len(instrs)
    dies_at: dict = {}
    for n, last in last_use.items():
        dies_at.setdefault(last, set()).add(n)

    lines = [f"def {name}(A, T, S):"]
    for i, v in enumerate(inputs):
        if v.n in last_use:
            read = f"float(A[{i}])" if use_math else f"A[{i}]"
            lines.append(f"    {v.name} = {read}  # input: {describe_var(v)}")
    states = sorted({v.n: v for ins in instrs for v in walk(_specs_of(ins))
                     if isinstance(v, Var) and v.kind == "state"}.values(), key=lambda v: v.n)
    states += [v for _, spec in outputs for v in walk(spec)
               if isinstance(v, Var) and v.kind == "state" and v not in states]
    for v in states:
        read = f"float(S[{v.index}].data)" if use_math else f"S[{v.index}].data"
        lines.append(f"    {v.name} = {read}  # state: {describe_var(v)}")
    if any(type(ins) is not Op or ins.group is None for ins in instrs):
        lines.append("    # forward")
    in_backward = False
    effect_names: dict = {}
    for i, ins in enumerate(instrs):
        comment = comments.get(id(ins))
        if comment is not None:
            if not in_backward:
                lines.append("    # backward: the chain rule, link by link")
                in_backward = True
            lines.append(f"    # {comment}")
        if type(ins) is Op:
            callees.add(ins.fn)
            lines.append(f"    {ins.out.name} = {_call(ins, arg, use_math)}")
        elif type(ins) is Write:
            lines.append(f"    np.copyto({arg(ins.target)}, {arg(ins.value)}, "
                         "casting='same_kind')  # in place")
        elif type(ins) is Effect:
            fname = effect_names.get(id(ins.fn))
            if fname is None:
                fname = effect_names[id(ins.fn)] = f"fx{len(effect_names)}"
                namespace[fname] = ins.fn
            call_args = [arg(a) for a in ins.args]
            call_args += [f"{k}={arg(v)}" for k, v in ins.kwargs.items()]
            call = f"{fname}({', '.join(call_args)})"
            if ins.out is None:
                lines.append(f"    {call}  # runs every call: {ins.label}")
            else:
                tail = ".data" if ins.out.tensor_out else ""
                lines.append(f"    {ins.out.name} = {call}{tail}  # runs every call: "
                             f"{ins.label}")
        elif type(ins) is SetGrad:
            if ins.value is None:
                value = "None"
            elif ins.copy or use_math:
                value = f"_tensor(np.array({arg(ins.value)}))"
            else:
                value = f"_tensor({arg(ins.value)})"
            lines.append(f"    {ins.holder}._grad = {value}")
        dead = dies_at.get(i, ())
        big = [v.name for v in _vars_of(ins) if v.n in dead and v.kind == "op"
               and _size(v.shape) >= _DEL_MIN_SIZE]
        if big and not use_math:
            lines.append(f"    del {', '.join(sorted(set(big)))}")
    results = []
    for kind, spec in outputs:
        if kind == "holder":
            results.append(spec.value)
        elif kind == "tensor":
            results.append(f"_tensor({arg(spec)})" if isinstance(spec, (Var, Const))
                           else f"_tensor(np.asarray({arg(spec)}))")
        elif kind == "array":
            results.append(f"_array({arg(spec)})")
        else:
            results.append(arg(spec))
    inner = ", ".join(results)
    lines.append(f"    return ({inner}{',' if len(results) == 1 else ''})")
    namespace.update(consts)
    namespace.update(adapter.globals_for(callees))
    return "\n".join(lines) + "\n", namespace


def _specs_of(ins):
    if type(ins) is Op:
        return (ins.args, ins.params)
    if type(ins) is Write:
        return (ins.target, ins.value)
    if type(ins) is Effect:
        return (ins.args, ins.kwargs)
    if type(ins) is SetGrad:
        return ins.value
    return ()


def _vars_of(ins):
    return [v for v in walk(_specs_of(ins)) if isinstance(v, Var)]


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def describe_var(v: Var) -> str:
    return f"{v.shape} {v.dtype}" if v.shape else f"0-d {v.dtype}"


def _call(ins: Op, arg, use_math: bool) -> str:
    args = [arg(a) for a in ins.args]
    fn = ins.fn
    template = fn.math if use_math else fn.template
    if template is not None:
        parts = [a if _simple(a) else f"({a})" for a in args]
        return template.format(*parts)
    call_args = args + [f"{k}={arg(v)}" for k, v in ins.params.items()]
    return f"{fn.name}({', '.join(call_args)})"


def _simple(code: str) -> bool:
    return code.replace("_", "").replace(".", "").isalnum() and not code.startswith("-")


__all__ = ["generate", "math_dialect_fits", "describe", "Lit", "TensorOf"]
