"""The numba backend: an elementwise program fused into one loop over its elements.

When every value of a program has one shape and every operation is elementwise with a
Python-float form (``math.sin``, ``*``: codegen's math dialect), the program is, element by
element, one scalar program. Written once as that scalar program inside a loop over the
elements and compiled by numba (``cr.compile(f, backend="numba")``), it runs without the
one NumPy call and one temporary array per operation of the generated NumPy code: on W2 of
benchmarks/ (200 elementwise operations on float64[16], forward and backward) about 12
times faster, for a first call of seconds (numba's compiler) instead of tens of
milliseconds. numba is an optional extra (``pip install numba``), never required.

A program that does not fit (a reduction, a matrix product, an effect, a parameter, mixed
shapes, another dtype than float64) is not fused: :func:`unfit` says why, and it runs as
generated NumPy (see ``Compiled``).
"""

from __future__ import annotations

import numpy as np

from chainrule.compile import adapter, codegen
from chainrule.compile.program import Const, Lit, Op, SetGrad, Var, fresh, render

_F64 = np.dtype(np.float64)
_SCALARS = (_F64, np.dtype(bool))


def available() -> bool:
    """Is numba installed?"""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _unfit_instr(ins, shape) -> str | None:
    """Why one instruction cannot be part of the elementwise loop; None when it can."""
    if type(ins) is SetGrad:
        if ins.value is not None and not _fits_value(ins.value, shape):
            return f"a gradient of another shape or dtype ({ins.holder}.grad)"
        return None
    if type(ins) is not Op:
        return f"it has an in-place write or an effect ({type(ins).__name__})"
    if ins.fn.math is None:
        return f"{ins.fn.label} is not elementwise with a scalar form"
    if ins.params and ins.fn is not adapter.COPY:
        return f"{ins.fn.label} takes parameters"
    if ins.out.shape != shape or ins.out.dtype not in _SCALARS:
        return (f"{ins.fn.label} gives {ins.out.shape} {ins.out.dtype}, not {shape} "
                "float64 (broadcasting or another dtype)")
    for a in ins.args:
        if not _fits_value(a, shape):
            return f"an argument of {ins.fn.label} is {_describe(a)}, not {shape} float64"
    return None


def _unfit_outputs(instrs: list, outputs: list, shape) -> str | None:
    """Why the program's results cannot come out of the loop; None when they can."""
    computed = [g.value for g in instrs if type(g) is SetGrad and type(g.value) is Var]
    for _, spec in outputs:
        if type(spec) is Var:
            if not _fits_value(spec, shape):
                return f"an output is {_describe(spec)}"
            computed.append(spec)
    if not computed:
        return "it computes no array"
    return None


def unfit(instrs: list, inputs: list, outputs: list) -> str | None:
    """Why this program cannot be fused into one elementwise loop; None when it can."""
    used = [v for v in inputs if v.shape is not None]
    if not used:
        return "it has no array input"
    shape = used[0].shape
    for v in used:
        if v.shape != shape or v.dtype != _F64:
            return f"its inputs are not all float64 of one shape ({v.name}: {v.shape} {v.dtype})"
    for ins in instrs:
        why = _unfit_instr(ins, shape)
        if why is not None:
            return why
    return _unfit_outputs(instrs, outputs, shape)


def _fits_value(a, shape) -> bool:
    t = type(a)
    if t is Var:
        return a.kind in ("input", "op") and a.shape == shape and a.dtype in _SCALARS
    if t is Const:
        v = a.value
        return (isinstance(v, np.ndarray) and v.dtype == _F64
                and (v.shape == () or v.shape == shape))
    return t is Lit and type(a.value) in (int, float, bool)


def _describe(a) -> str:
    if type(a) is Var:
        return f"{a.name}: {a.shape} {a.dtype} ({a.kind})"
    return type(a).__name__


def kernel_source(name: str, instrs: list, inputs: list, outputs: list):
    """The scalar program inside a loop, and what its array arguments are.

    Returns ``(source, ins, consts, outs)``: the input Vars read, the constant arrays
    indexed per element, and the Vars written out, in the kernel's argument order."""
    last_use, _ = codegen.reads(instrs, outputs)
    ins = [v for v in inputs if v.n in last_use]
    consts: dict = {}  # Const name -> (argument name, array)

    def arg(spec) -> str:
        if type(spec) is Const:
            if spec.value.shape == ():
                return repr(float(spec.value))
            if spec.name not in consts:
                consts[spec.name] = (f"_arr_c{len(consts)}", spec.value)
            return f"{consts[spec.name][0]}[_i]"
        return render(spec)

    body = []
    for ins_ in instrs:
        if type(ins_) is Op:
            target, expr, _ = codegen.statement(ins_, arg, True, None)
            body.append(f"        {target} = {expr}")
    needed = {}
    for ins_ in instrs:
        if type(ins_) is SetGrad and type(ins_.value) is Var:
            needed[ins_.value.n] = ins_.value
    for _, spec in outputs:
        if type(spec) is Var:
            needed[spec.n] = spec
    outs = list(needed.values())
    params = ([f"_arr_in{k}" for k in range(len(ins))] + [a for a, _ in consts.values()]
              + [f"_arr_out{k}" for k in range(len(outs))])
    lines = [f"def {name}({', '.join(params)}):",
             f"    for _i in range({params[0]}.shape[0]):"]
    lines += [f"        {v.name} = _arr_in{k}[_i]" for k, v in enumerate(ins)]
    lines += body
    lines += [f"        _arr_out{k}[_i] = {v.name}" for k, v in enumerate(outs)]
    return "\n".join(lines) + "\n", ins, [a for _, a in consts.values()], outs


def build(name: str, instrs: list, inputs: list, outputs: list):
    """``(run, source)``: the compiled program (called as generated code is: (A, T, S))
    and the kernel's source. Call only where :func:`unfit` gave None."""
    import numba

    source, ins, const_arrays, outs = kernel_source(name, instrs, inputs, outputs)
    namespace = codegen.base_namespace()
    exec(compile(source, f"<cr.compile {name}, numba>", "exec"), namespace)
    kernel = numba.njit(cache=False, error_model="numpy")(namespace[name])
    positions = [inputs.index(v) for v in ins]
    shape = ins[0].shape if ins else ()
    flat_consts = [np.ascontiguousarray(c).reshape(-1) for c in const_arrays]
    out_index = {v.n: k for k, v in enumerate(outs)}
    grads = [(codegen.holder(g.holder), g.value, g.copy) for g in instrs if type(g) is SetGrad]
    # ("holder", (which, k)) for a holder given back, read once here rather than per call
    results_of = [(kind, codegen.holder(spec.value) if kind == "holder" else spec)
                  for kind, spec in outputs]

    # numba compiles on the first call: make it now, on zeros of the right types, so that the
    # first call of cr.compile pays for it and no later one does.
    n = int(np.prod(shape))
    kernel(*[np.zeros(n) for _ in ins], *flat_consts, *[np.empty(n, v.dtype) for v in outs])

    def value(spec, results):
        if type(spec) is Var:
            return results[out_index[spec.n]]
        return spec.value

    def returned(spec, results):  # (a folded computation's constant: a copy, see fresh)
        v = value(spec, results)
        return np.array(v) if fresh(spec) else v

    def run(A, T, S):
        arrays = [np.ascontiguousarray(A[k]).reshape(-1) for k in positions]
        n = arrays[0].shape[0] if arrays else 1
        results = [np.empty(n, v.dtype) for v in outs]
        kernel(*arrays, *flat_consts, *results)
        results = [r.reshape(shape) for r in results]
        for (which, k), spec, copy in grads:
            holder = (T if which == "T" else S)[k]
            if spec is None:
                holder._grad = None
            else:
                v = value(spec, results)
                holder._grad = codegen._tensor(np.array(v) if copy else v)
        out = []
        for kind, spec in results_of:
            if kind == "holder":
                which, k = spec
                out.append((T if which == "T" else S)[k])
            elif kind == "tensor":
                out.append(codegen._tensor(returned(spec, results)))
            elif kind == "array":
                out.append(codegen._array(returned(spec, results)))
            else:
                out.append(value(spec, results))
        return tuple(out)

    return run, source


__all__ = ["available", "unfit", "build", "kernel_source"]
