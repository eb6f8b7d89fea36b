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
    Lit,
    Op,
    SetGrad,
    Var,
    Write,
    key_of,
    literal_key,
    substitute,
    substitute_in,
    vars_of,
    walk,
)

_IDENTITY_LABELS = ("multiply", "add", "subtract", "divide")


def _is_exactly(spec, number) -> bool:
    value = spec.value if isinstance(spec, (Const, Lit)) else None
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and bool(np.all(value == number))
    return type(value) in (float, int) and value == number


def _identity(ins):
    """``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0``, ``x / 1``: x itself, when the
    result has x's shape and dtype (then nothing of the operation remains)."""
    label = ins.fn.label
    if label not in _IDENTITY_LABELS or len(ins.args) != 2:
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


def _all_const(ins: Op) -> bool:
    if not ins.params:  # the common Op: its arguments are atoms (no recursion needed)
        for a in ins.args:
            t = type(a)
            if t is Var:
                return False
            if t is not Const and t is not Lit:
                return not vars_of(ins)
        return True
    return not vars_of(ins)


def _elidable(ins, values: dict) -> bool:
    """Whether ``ins`` is a one-argument copy of a fresh, writeable array of the same dtype
    (a 0-d one counts as fresh), made by an Op of this program."""
    if not (type(ins) is Op and ins.fn.label == "copy" and len(ins.args) == 1):
        return False
    src = ins.args[0]
    value = values.get(src.n) if isinstance(src, Var) else None
    return (isinstance(src, Var) and src.kind == "op"
            and isinstance(value, np.ndarray) and value.dtype == ins.out.dtype
            and (value.ndim == 0 or (value.flags.owndata and value.flags.writeable)))


def _read_counts(instrs: list, outputs: list, sources) -> dict:
    """How often each Var number in ``sources`` is read, by an instruction or an output."""
    uses = dict.fromkeys(sources, 0)
    for ins in instrs:
        for v in vars_of(ins):
            if v.n in uses:
                uses[v.n] += 1
    for _, spec in outputs:
        for v in walk(spec):
            if type(v) is Var and v.n in uses:
                uses[v.n] += 1
    return uses


def _drop_copies(instrs: list, outputs: list, gone: set):
    """Remove the copies whose ids are in ``gone``; their readers read the source instead."""
    rename = {}
    kept = []
    for ins in instrs:
        if id(ins) in gone:
            rename[ins.out.n] = ins.args[0]
        else:
            kept.append(ins)
    for ins in kept:
        substitute_in(ins, rename)
    return kept, [(kind, substitute(spec, rename)) for kind, spec in outputs]


def _elide_copies(instrs: list, outputs: list, values: dict):
    """Drop a copy whose source nothing else reads, when that source is a fresh array of its
    own (not a view, writeable): the copy would only duplicate it. (The engine copies
    gradients so that no two share memory; here none would.)"""
    copies = {}  # source Var number -> the copies of it that may go
    for ins in instrs:
        if _elidable(ins, values):
            copies.setdefault(ins.args[0].n, []).append(ins)
    if not copies:
        return instrs, outputs
    uses = _read_counts(instrs, outputs, copies)  # how often each source is read, by anything
    gone = {id(c[0]) for n, c in copies.items() if uses[n] == 1}
    if not gone:
        return instrs, outputs
    return _drop_copies(instrs, outputs, gone)


def _op_key(ins: Op):
    """What makes two pure Ops compute the same value: callee, arguments, parameters."""
    if not ins.params:
        key = [id(ins.fn), "args"]
        for s in ins.args:
            ts = type(s)
            if ts is Var:
                key.append(s.n)
            elif ts is Lit:
                key.append(literal_key(s.value))
            else:
                key.append(key_of(s))
        return tuple(key)
    return (id(ins.fn), "params", key_of(ins.args), key_of(ins.params))


def _replacement(ins: Op, values: dict, new_const, written: set, seen: dict):
    """What an Op's result can be replaced by (a hoisted constant, an argument it equals, or
    an earlier identical pure Op's result), or None to keep it. Records a kept pure Op in
    ``seen``."""
    fn = ins.fn
    pure = fn.pure
    n = ins.out.n
    if pure and n not in written and n in values and _all_const(ins):
        return new_const(values[n])
    if fn.label in _IDENTITY_LABELS:
        same = _identity(ins)
        if same is not None:
            return same
    if pure:
        key = _op_key(ins)
        prev = seen.get(key)
        if prev is not None:
            return prev
        seen[key] = ins.out
    return None


def _forward_pass(instrs: list, values: dict, new_const) -> tuple[list, dict]:
    """Fold constants, apply identities and share common subexpressions, in one pass
    forward. Returns (kept instructions, Var number -> what replaces it)."""
    rename: dict = {}
    seen: dict = {}
    # A value later overwritten in place held something else when it was computed.
    written = {v.n for ins in instrs if type(ins) is Write
               for v in walk(ins.target) if isinstance(v, Var)}
    out = []
    for ins in instrs:
        if type(ins) is Op:
            if rename:
                substitute_in(ins, rename)
            same = _replacement(ins, values, new_const, written, seen)
            if same is not None:
                rename[ins.out.n] = same
                continue
        else:
            seen.clear()
            substitute_in(ins, rename)
            if type(ins) is SetGrad and isinstance(ins.value, Const):
                ins.copy = True
        out.append(ins)
    return out, rename


def _prune_dead(instrs: list, outputs: list) -> list:
    """Dead code: walk backwards from what must happen (the outputs and every effect),
    keeping only the Ops something live reads."""
    live: set = set()
    for _, spec in outputs:
        live.update(v.n for v in walk(spec) if isinstance(v, Var))
    kept = []
    for ins in reversed(instrs):
        if type(ins) is Op and ins.out.n not in live:
            continue
        for v in vars_of(ins):
            live.add(v.n)
        kept.append(ins)
    kept.reverse()
    return kept


def simplify(instrs: list, outputs: list, values: dict, new_const) -> tuple[list, list]:
    """Fold, share and prune. ``values``: Var number -> the array it held at trace time;
    ``new_const(value)`` makes a hoisted constant. Returns (instructions, outputs).

    One pass forward (fold, identities, common subexpressions), one over the copies, one
    backward (dead code); each does a few dictionary operations per instruction, for
    programs of hundreds of thousands of them."""
    out, rename = _forward_pass(instrs, values, new_const)
    outputs = [(kind, substitute(spec, rename)) for kind, spec in outputs]
    out, outputs = _elide_copies(out, outputs, values)
    return _prune_dead(out, outputs), outputs
