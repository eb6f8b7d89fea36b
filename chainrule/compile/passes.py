"""Simplifying a traced program: constants folded, common subexpressions shared, dead code
removed. Each pass keeps the program's meaning exactly; none reorders a side effect.

* **Constant folding.** A pure Op whose arguments are all constants computed the same value
  at trace time as it will on every call: that value (kept by the tracer) becomes a hoisted
  constant (``ones_like`` seeds, ``1 - 0.9`` on arrays, masks of fixed shapes).
* **Common subexpressions.** Two pure Ops with the same callee, arguments and parameters give
  the same value; the second becomes a use of the first. A write or an effect can change
  what a value holds, so the table of known expressions is cleared at each one.
* **Dead code.** An Op whose value reaches no output, write, effect or ``.grad`` is dropped.
"""

from __future__ import annotations

import numpy as np

from chainrule.compile.program import (
    Const,
    Effect,
    Lit,
    Op,
    SetGrad,
    TensorOf,
    Var,
    Write,
    key_of,
    walk,
)


def _substitute(spec, rename: dict):
    if isinstance(spec, Var):
        return rename.get(spec.n, spec)
    if isinstance(spec, TensorOf):
        v = _substitute(spec.var, rename)
        return TensorOf(v) if isinstance(v, Var) else v
    if isinstance(spec, (tuple, list)):
        return type(spec)(_substitute(s, rename) for s in spec)
    if isinstance(spec, dict):
        return {k: _substitute(v, rename) for k, v in spec.items()}
    if isinstance(spec, slice):
        return slice(_substitute(spec.start, rename), _substitute(spec.stop, rename),
                     _substitute(spec.step, rename))
    return spec


def _is_exactly(spec, number) -> bool:
    value = spec.value if isinstance(spec, (Const, Lit)) else None
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and bool(np.all(value == number))
    return type(value) in (float, int) and value == number


def _identity(ins):
    """``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0``, ``x / 1``: x itself, when the
    result has x's shape and dtype (then nothing of the operation remains)."""
    label = ins.fn.label
    if label not in ("multiply", "add", "subtract", "divide") or len(ins.args) != 2:
        return None
    a, b = ins.args
    unit = 1 if label in ("multiply", "divide") else 0
    if isinstance(a, Var) and _is_exactly(b, unit):
        x = a
    elif isinstance(b, Var) and _is_exactly(a, unit) and label in ("multiply", "add"):
        x = b
    else:
        return None
    if x.shape == ins.out.shape and x.dtype == ins.out.dtype:
        return x
    return None


def _all_const(specs) -> bool:
    return all(not isinstance(s, Var) for s in walk(specs))


def _elide_copies(instrs: list, outputs: list, values: dict):
    """Drop a copy whose source nothing else reads, when that source is a fresh array of its
    own (not a view, writeable): the copy would only duplicate it. (The engine copies
    gradients so that no two share memory; here none would.)"""
    uses: dict = {}
    for ins in instrs:
        for v in walk(_specs(ins)):
            if isinstance(v, Var):
                uses[v.n] = uses.get(v.n, 0) + 1
    for _, spec in outputs:
        for v in walk(spec):
            if isinstance(v, Var):
                uses[v.n] = uses.get(v.n, 0) + 1
    rename = {}
    kept = []
    for ins in instrs:
        if type(ins) is Op and ins.fn.label == "copy" and len(ins.args) == 1:
            src = ins.args[0]
            value = values.get(src.n) if isinstance(src, Var) else None
            if (isinstance(src, Var) and src.kind == "op" and uses.get(src.n) == 1
                    and isinstance(value, np.ndarray) and value.dtype == ins.out.dtype
                    and (value.ndim == 0 or (value.flags.owndata and value.flags.writeable))):
                rename[ins.out.n] = src
                continue
        kept.append(ins)
    if not rename:
        return instrs, outputs
    for ins in kept:
        if type(ins) is Op:
            ins.args = _substitute(ins.args, rename)
            ins.params = _substitute(ins.params, rename)
        elif type(ins) is Write:
            ins.target = _substitute(ins.target, rename)
            ins.value = _substitute(ins.value, rename)
        elif type(ins) is Effect:
            ins.args = _substitute(ins.args, rename)
            ins.kwargs = _substitute(ins.kwargs, rename)
        elif type(ins) is SetGrad and ins.value is not None:
            ins.value = _substitute(ins.value, rename)
    return kept, [(kind, _substitute(spec, rename)) for kind, spec in outputs]


def _specs(ins):
    if type(ins) is Op:
        return (ins.args, ins.params)
    if type(ins) is Write:
        return (ins.target, ins.value)
    if type(ins) is Effect:
        return (ins.args, ins.kwargs)
    if type(ins) is SetGrad:
        return ins.value
    return ()


def simplify(instrs: list, outputs: list, values: dict, new_const) -> tuple[list, list, dict]:
    """Fold, share and prune. ``values``: Var number -> the array it held at trace time;
    ``new_const(value)`` makes a hoisted constant. Returns (instructions, outputs, kept
    index map old -> new for comments)."""
    rename: dict = {}
    seen: dict = {}
    # A value later overwritten in place held something else when it was computed.
    written = {v.n for ins in instrs if type(ins) is Write
               for v in walk(ins.target) if isinstance(v, Var)}
    out = []
    index_map = {}
    for i, ins in enumerate(instrs):
        if type(ins) is Op:
            ins.args = _substitute(ins.args, rename)
            ins.params = _substitute(ins.params, rename)
            if (ins.fn.pure and ins.out.n not in written and ins.out.n in values
                    and _all_const((ins.args, ins.params))):
                rename[ins.out.n] = new_const(values[ins.out.n])
                continue
            same = _identity(ins)
            if same is not None:
                rename[ins.out.n] = same
                continue
            if ins.fn.pure:
                key = (id(ins.fn), key_of(ins.args), key_of(ins.params))
                prev = seen.get(key)
                if prev is not None:
                    rename[ins.out.n] = prev
                    continue
                seen[key] = ins.out
        else:
            seen.clear()
            if type(ins) is Write:
                ins.target = _substitute(ins.target, rename)
                ins.value = _substitute(ins.value, rename)
            elif type(ins) is Effect:
                ins.args = _substitute(ins.args, rename)
                ins.kwargs = _substitute(ins.kwargs, rename)
            elif type(ins) is SetGrad and ins.value is not None:
                ins.value = _substitute(ins.value, rename)
                if isinstance(ins.value, Const):
                    ins.copy = True
        index_map[i] = len(out)
        out.append(ins)
    outputs = [(kind, _substitute(spec, rename)) for kind, spec in outputs]
    out, outputs = _elide_copies(out, outputs, values)

    # Dead code: walk backwards from what must happen.
    live: set = set()
    for _, spec in outputs:
        live.update(v.n for v in walk(spec) if isinstance(v, Var))
    kept = []
    for ins in reversed(out):
        if type(ins) is Op:
            if ins.out.n not in live:
                continue
            live.update(v.n for v in walk((ins.args, ins.params)) if isinstance(v, Var))
        elif type(ins) is Write:
            live.update(v.n for v in walk((ins.target, ins.value)) if isinstance(v, Var))
        elif type(ins) is Effect:
            live.update(v.n for v in walk((ins.args, ins.kwargs)) if isinstance(v, Var))
        elif type(ins) is SetGrad and isinstance(ins.value, Var):
            live.add(ins.value.n)
        kept.append(ins)
    kept.reverse()
    return kept, outputs, index_map
