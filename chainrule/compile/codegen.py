"""Code generation: a simplified program becomes one straight-line Python function.

The function ``compiled(A, T, S)`` takes the call's array inputs ``A``, its input leaves
``T`` (Tensors, whose ``.grad`` backward may set) and the state tensors ``S`` (parameters,
buffers: read through the objects on every call). It returns the flat output leaves.

Two dialects:

* NumPy (the default): each Op is one NumPy expression; matrix products stay on BLAS;
  large temporaries are released (``del``) right after their last use.
* Python floats: when every value is a 0-d float64 and every Op has a ``math`` form
  (micrograd-sized scalar graphs), NumPy's per-call overhead would dominate, so the code
  is written on Python floats with ``math.*``. The gradients it leaves in ``.grad`` are
  written together at the end by one call (:func:`scalar_grads`): a few hundred scalar
  parameters' ``.grad`` Tensors cost more than the arithmetic when made one by one.

Backward lines carry the chain-rule link they compute, as a comment above them.
"""

from __future__ import annotations

import math
import re

import numpy as np

from chainrule.compile import adapter
from chainrule.compile.program import (
    Const,
    Effect,
    Lit,
    Op,
    SetGrad,
    Var,
    Write,
    fresh,
    render,
    vars_of,
    walk,
)
from chainrule.tensor import Tensor, make

_DEL_MIN_SIZE = 4096  # temporaries this large are released at their last use
_F64 = np.dtype(np.float64)
_BOOL = np.dtype(bool)
_HOLDER = re.compile(r"^([TS])\[(\d+)\]$")


def _tensor(value):
    """A Tensor (no graph) around a result; 0-d NumPy scalars become 0-d arrays."""
    return make(value if type(value) is np.ndarray else np.asarray(value))


def _array(value):
    return value if type(value) is np.ndarray else np.asarray(value)


_new = object.__new__


def scalar_grads(holders, values: tuple) -> None:
    """``holders[k].grad = Tensor(values[k])`` for the Python floats ``values``, as eager's
    backward leaves them: each ``.grad`` a new Tensor around its own writable 0-d float64
    array (``holders`` may be longer than ``values``: the first ones are written).

    The arrays are the 0-d views ``np.nditer`` gives of the elements of one new float64
    buffer: distinct elements, so writing into one gradient changes no other; they cost
    about a third of a separate ``np.array(v)`` each. The Tensors are built here as
    :func:`chainrule.tensor.make` builds them (every slot set), without a call each: for a
    few hundred scalar parameters, making their ``.grad`` Tensors one by one cost more than
    the forward and backward arithmetic together."""
    buffer = np.array(values, dtype=np.float64)
    for holder, view in zip(holders, np.nditer(buffer, op_flags=["readwrite"])):
        t = _new(Tensor)
        t.data = view
        t._grad = None
        t._requires_grad = False
        t._node = None
        t._vcl = None
        t.name = None
        t._tangent = None
        holder._grad = t


def _scalar_f64(v) -> bool:
    """A 0-d float64 Var."""
    return v.shape == () and v.dtype == _F64


def _math_arg_fits(s) -> bool:
    """Whether an Op argument has a Python-float form: a non-state Var or a 0-d float64
    one, a 0-d float64 constant array, or a literal."""
    t = type(s)
    if t is Var:
        return s.kind != "state" or _scalar_f64(s)
    if t is Const:
        return (isinstance(s.value, np.ndarray) and s.value.shape == ()
                and s.value.dtype == _F64)
    return t is Lit  # a nest of values (a list, a slice): no math form


def _math_instr_fits(ins) -> bool:
    """Whether one instruction can run on Python floats."""
    if type(ins) is SetGrad and (ins.value is None or (
            isinstance(ins.value, Var) and _scalar_f64(ins.value))):
        return True  # a scalar parameter's gradient: a new 0-d array, as eager gives
    if type(ins) is not Op or ins.fn.math is None:
        return False
    if ins.params and ins.fn is not adapter.COPY:  # a copy's dtype= is float64 here
        return False
    if ins.out.shape != () or ins.out.dtype not in (_F64, _BOOL):
        return False
    return all(_math_arg_fits(s) for s in ins.args)


def math_dialect_fits(instrs, inputs, outputs) -> bool:
    """Can the whole program run on Python floats?

    The common Op (atoms, no parameters) is checked inline, as :func:`_math_instr_fits`
    would: this runs once per instruction of programs of hundreds of thousands of them."""
    if not all(_scalar_f64(v) for v in inputs):
        return False
    if not all(kind in ("array", "tensor", "literal", "holder") for kind, _ in outputs):
        return False
    for ins in instrs:
        if type(ins) is Op and not ins.params:
            out = ins.out
            dtype = out.dtype
            if (ins.fn.math is None or out.shape != ()
                    or not (dtype is _F64 or dtype is _BOOL or dtype in (_F64, _BOOL))):
                return False
            for s in ins.args:
                t = type(s)
                if t is Var:
                    if s.kind == "state" and not _scalar_f64(s):
                        return False
                elif t is not Lit and not _math_arg_fits(s):
                    return False
        elif not _math_instr_fits(ins):
            return False
    return True


def generate(name: str, instrs: list, inputs: list, outputs: list, comments: dict,
             use_math: bool) -> tuple[str, dict]:
    """The source of the compiled function and the globals it needs."""
    namespace = base_namespace()
    consts: dict = {}
    callees = set()

    def arg(spec) -> str:
        for s in walk(spec):
            if isinstance(s, Const):
                consts[s.name] = s.value
        if use_math and isinstance(spec, Const):
            return repr(float(spec.value))
        return render(spec)

    last_use, states = reads(instrs, outputs)
    dies_at: dict = {}
    for n, last in last_use.items():
        dies_at.setdefault(last, set()).add(n)

    lines = [f"def {name}(A, T, S):"] + _prologue(inputs, states, last_use, use_math)
    if any(type(ins) is not Op or ins.group is None for ins in instrs):
        lines.append("    # forward")
    in_backward = False
    effect_name = effect_namer(namespace)
    for i, ins in enumerate(instrs):
        comment = comments.get(id(ins))
        if comment is not None:
            if not in_backward:
                lines.append("    # backward: the chain rule, link by link")
                in_backward = True
            lines.append(f"    # {comment}")
        if type(ins) is Op:
            callees.add(ins.fn)
        elif use_math and type(ins) is SetGrad:
            continue  # written together at the end (_grads_at_end)
        target, expr, note = statement(ins, arg, use_math, effect_name)
        if type(ins) is SetGrad:
            target = f"{ins.holder}._grad"
        lines.append(f"    {target} = {expr}{note}" if target else f"    {expr}{note}")
        dead = dies_at.get(i, ())
        big = [v.name for v in vars_of(ins) if v.n in dead and v.kind == "op"
               and _size(v.shape) >= _DEL_MIN_SIZE]
        if big and not use_math:
            lines.append(f"    del {', '.join(sorted(set(big)))}")
    if use_math:
        lines += _grads_at_end(instrs, arg)
    results = [spec.value if kind == "holder" else result(kind, spec, arg)
               for kind, spec in outputs]
    inner = ", ".join(results)
    lines.append(f"    return ({inner}{',' if len(results) == 1 else ''})")
    namespace.update(consts)
    namespace.update(adapter.globals_for(callees))
    return "\n".join(lines) + "\n", namespace


def _prologue(inputs: list, states: list, last_use: dict, use_math: bool) -> list[str]:
    """The lines reading the inputs used and the states (parameters, buffers)."""
    lines = []
    for i, v in enumerate(inputs):
        if v.n in last_use:
            lines.append(f"    {v.name} = {input_read(i, use_math)}  # input: "
                         f"{describe_var(v)}")
    for v in states:
        lines.append(f"    {v.name} = {state_read(v.index, use_math)}  # state: "
                     f"{describe_var(v)}")
    return lines


def _grads_at_end(instrs: list, arg) -> list[str]:
    """The lines that write the ``.grad`` of a Python-float program: every holder's last
    SetGrad (the code reads no ``.grad``, so earlier ones are overwritten unseen), the
    gradients in one :func:`scalar_grads` call, ``None`` as a plain assignment."""
    last: dict = {}
    for ins in instrs:
        if type(ins) is SetGrad:
            last.pop(ins.holder, None)  # keep the order of the final writes
            last[ins.holder] = ins.value
    lines = [f"    {h}._grad = None" for h, v in last.items() if v is None]
    pairs = sorted((holder(h), arg(v)) for h, v in last.items() if v is not None)
    if pairs:
        lines.append("    # .grad of each parameter: a Tensor around a 0-d float64 array")
        lines.append("    _scalar_grads(")
        if [where for where, _ in pairs] == [("S", k) for k in range(len(pairs))]:
            lines.append("        S,")  # the first len(pairs) states, in order
        else:
            lines += _wrapped([f"{which}[{k}]" for (which, k), _ in pairs])
        lines += _wrapped([v for _, v in pairs])
        lines.append("    )")
    return lines


def _wrapped(items: list[str], width: int = 88) -> list[str]:
    """A tuple of ``items`` written over lines of at most ``width`` characters."""
    lines, line = [], "        ("
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 or len(items) == 1 else "")
        if len(line) + len(piece) + 1 > width and line != "        (":
            lines.append(line.rstrip())
            line = "         "
        line += piece + " "
    lines.append(line.rstrip() + "),")
    return lines


# ----- pieces shared with the tape (tape.py): one meaning for each instruction ------------

def base_namespace() -> dict:
    """The globals every compiled program reads."""
    return {"np": np, "math": math, "_tensor": _tensor, "_array": _array,
            "_scalar_grads": scalar_grads}


def reads(instrs: list, outputs: list) -> tuple[dict, list]:
    """``(last_use, states)``: Var number -> index of the last instruction reading it
    (``len(instrs)`` for an output), and the state Vars (parameters, buffers) read, in
    order. One pass, with the common Op (atoms, no parameters) read inline."""
    last_use: dict = {}
    states: dict = {}
    for i, ins in enumerate(instrs):
        if type(ins) is Op and not ins.params:
            for a in ins.args:
                ta = type(a)
                if ta is Var:
                    last_use[a.n] = i
                    if a.kind == "state":
                        states[a.n] = a
                elif ta is not Const and ta is not Lit:
                    for v in walk(a):
                        if type(v) is Var:
                            last_use[v.n] = i
                            if v.kind == "state":
                                states[v.n] = v
        else:
            for v in vars_of(ins):
                last_use[v.n] = i
                if v.kind == "state":
                    states[v.n] = v
    ordered = [states[n] for n in sorted(states)]
    for _, spec in outputs:
        for v in walk(spec):
            if isinstance(v, Var):
                last_use[v.n] = len(instrs)
                if v.kind == "state" and v.n not in states:
                    states[v.n] = v
                    ordered.append(v)
    return last_use, ordered


def holder(code: str) -> tuple[str, int]:
    """``("T", 0)`` for ``"T[0]"``: which tensors (the call's inputs T, the state S) hold the
    ``.grad`` a SetGrad writes, and where (for backends that do not run source)."""
    m = _HOLDER.match(code)
    if m is None:
        raise ValueError(f"cr.compile: cannot read the tensor holder {code!r}")
    return m.group(1), int(m.group(2))


def input_read(i: int, use_math: bool) -> str:
    return f"float(A[{i}])" if use_math else f"A[{i}]"


def state_read(k: int, use_math: bool) -> str:
    return f"float(S[{k}].data)" if use_math else f"S[{k}].data"


def effect_namer(namespace: dict):
    """``name(fn)``: the global (``fx0``, ``fx1``...) an effect's function is called by."""
    names: dict = {}

    def name(fn) -> str:
        found = names.get(id(fn))
        if found is None:
            found = names[id(fn)] = f"fx{len(names)}"
            namespace[found] = fn
        return found

    return name


def statement(ins, arg, use_math: bool, effect_name) -> tuple:
    """``(target, expression, note)`` of one instruction: the code computes ``expression``
    and stores it in ``target`` (None: nothing stored). A SetGrad's target is its holder's
    ``._grad``, left to the caller (source and tape reach the holder differently)."""
    t = type(ins)
    if t is Op:
        return ins.out.name, _call(ins, arg, use_math), ""
    if t is Write:
        return (None, f"np.copyto({arg(ins.target)}, {arg(ins.value)}, casting='same_kind')",
                "  # in place")
    if t is Effect:
        call_args = [arg(a) for a in ins.args]
        call_args += [f"{k}={arg(v)}" for k, v in ins.kwargs.items()]
        call = f"{effect_name(ins.fn)}({', '.join(call_args)})"
        note = f"  # runs every call: {ins.label}"
        if ins.out is None:
            return None, call, note
        return ins.out.name, call + (".data" if ins.out.tensor_out else ""), note
    if t is SetGrad:
        if ins.value is None:
            return None, "None", ""
        if ins.copy or use_math:
            return None, f"_tensor(np.array({arg(ins.value)}))", ""
        return None, f"_tensor({arg(ins.value)})", ""
    raise TypeError(f"cr.compile: unknown instruction {ins!r}")


def result(kind: str, spec, arg) -> str:
    """The expression giving back one output leaf (not a holder: see the callers); a
    folded computation's constant as a copy (:func:`program.fresh`)."""
    if fresh(spec) and kind in ("tensor", "array"):
        return f"_{kind}(np.array({arg(spec)}))"
    if kind == "tensor":
        return (f"_tensor({arg(spec)})" if isinstance(spec, (Var, Const))
                else f"_tensor(np.asarray({arg(spec)}))")
    if kind == "array":
        return f"_array({arg(spec)})"
    return arg(spec)


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def describe_var(v: Var) -> str:
    return f"{v.shape} {v.dtype}" if v.shape else f"0-d {v.dtype}"


def _whole_number(spec) -> bool:
    """A literal exponent with no fractional part (``** 2``, ``** -1.0``)."""
    v = spec.value if type(spec) is Lit else None
    return type(v) in (int, float) and math.isfinite(v) and float(v).is_integer()


def _call(ins: Op, arg, use_math: bool) -> str:
    args = [arg(a) for a in ins.args]
    fn = ins.fn
    template = fn.math if use_math else fn.template
    if use_math and fn.label == "power" and _whole_number(ins.args[1]):
        template = fn.template  # x ** 2 is real for every x: written as it reads
    if template is not None:
        parts = [a if _simple(a) else f"({a})" for a in args]
        return template.format(*parts)
    call_args = args + [f"{k}={arg(v)}" for k, v in ins.params.items()]
    return f"{fn.name}({', '.join(call_args)})"


def _simple(code: str) -> bool:
    return code.replace("_", "").replace(".", "").isalnum() and not code.startswith("-")


__all__ = ["generate", "math_dialect_fits", "statement", "result", "reads", "holder",
           "scalar_grads"]
