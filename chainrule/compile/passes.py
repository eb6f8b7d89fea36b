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

from chainrule.compile.program import (
    Const,
    Effect,
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


def _all_const(specs) -> bool:
    return all(not isinstance(s, Var) for s in walk(specs))


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
