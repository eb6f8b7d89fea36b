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
    specs_of,
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
    """``x * 1``, ``1 * x``, ``x - 0``, ``x / 1``, and ``x + 0``, ``0 + x`` where that is
    exact: x itself, when the result has x's shape and dtype (then nothing of the
    operation remains). Adding a float zero is exact only for -0.0: ``-0.0 + 0.0`` is
    ``+0.0`` in IEEE arithmetic, so ``x + 0`` is not x where x holds -0.0."""
    label = ins.fn.label
    if label not in _IDENTITY_LABELS or len(ins.args) != 2:
        return None
    a, b = ins.args
    unit = 1 if label in ("multiply", "divide") else 0
    if isinstance(a, Var) and _is_exactly(b, unit):
        x, z = a, b
    elif isinstance(b, Var) and _is_exactly(a, unit) and label in ("multiply", "add"):
        x, z = b, a
    else:
        return None
    if label == "add" and np.dtype(x.dtype).kind in "fc" and not _negative_zero(z):
        return None
    if x.shape == ins.out.shape and x.dtype == ins.out.dtype:
        return x
    return None


def _negative_zero(spec) -> bool:
    """Is the zero ``spec`` holds -0.0 throughout?"""
    return bool(np.all(np.signbit(spec.value)))


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
        if type(ins) is Op and ins.fn.label == "copy" and _elidable(ins, values):
            copies.setdefault(ins.args[0].n, []).append(ins)
    if not copies:
        return instrs, outputs
    uses = _read_counts(instrs, outputs, copies)  # how often each source is read, by anything
    gone = {id(c[0]) for n, c in copies.items() if uses[n] == 1}
    if not gone:
        return instrs, outputs
    return _drop_copies(instrs, outputs, gone)


def _op_key(ins: Op):
    """What makes two pure Ops compute the same value: callee, arguments, parameters. (The
    common Op's key, ``(id(fn), *atom keys)``, is built inline by :func:`_forward_pass`:
    see :func:`_atom_key`.)"""
    return (id(ins.fn), "params", key_of(ins.args), key_of(ins.params))


def _atom_key(a):
    """An argument's part of the key of a common Op (atoms, no parameters) for common
    subexpressions: a Var or a Const is itself (one object each, compared by identity), a
    non-zero float its value, any other literal its :func:`literal_key` (``1``, ``1.0``,
    ``True`` are equal in Python, and so are ``0.0`` and ``-0.0``; not in NumPy). The loop
    of :func:`_forward_pass` writes it inline."""
    if type(a) is Lit:
        v = a.value
        return v if type(v) is float and v else literal_key(v)
    return a


def _writes(instrs: list) -> set:
    """The Var numbers some Write overwrites in place (see :func:`_forward_pass`), with
    every Var that shares memory with one: the values a view (``reshape``, ``transpose``)
    was made from, and the views made of them, change with the write too."""
    if Write not in map(type, instrs):  # (a scan at C speed: most programs write nothing)
        return set()
    base: dict = {}  # Var number -> the Var number of the memory it is a view of

    def root(n):
        while n in base:
            n = base[n]
        return n

    for ins in instrs:
        if type(ins) is Op and ins.fn.prim is not None and ins.fn.prim.view \
                and ins.args and type(ins.args[0]) is Var:
            a, b = root(ins.out.n), root(ins.args[0].n)
            if a != b:
                base[a] = b
    written = {root(v.n) for ins in instrs if type(ins) is Write
               for v in walk(ins.target) if type(v) is Var}
    sharing = {n for n in base if root(n) in written}
    return written | sharing


def _hoist(specs, folded: set, rename: dict, values: dict, new_const) -> None:
    """The folded values read in ``specs`` become hoisted constants (once each), in
    ``rename``: a folded value is made a Const only where something kept reads it."""
    for v in walk(specs):
        if type(v) is Var:
            n = v.n
            if n in folded and n not in rename:
                rename[n] = new_const(values[n])


def _general(ins, values, new_const, written, seen, folded, rename):
    """:func:`_forward_pass` for an instruction other than the common Op (an Op with
    parameters or nested arguments, a Write, an Effect, a SetGrad). Returns what the Op's
    result is replaced by, or None to keep the instruction."""
    if type(ins) is Op:
        n = ins.out.n
        fn = ins.fn
        if (fn.pure and n not in written and n in values
                and all(v.n in folded for v in vars_of(ins))):
            folded.add(n)
            return _FOLDED
        _hoist(specs_of(ins), folded, rename, values, new_const)
        substitute_in(ins, rename)
        if n in written:
            return None  # its own value, kept as it is (see _forward_pass)
        return _same_value(ins, _op_key(ins) if fn.pure else None, True, written, seen)
    seen.clear()  # a write or an effect may change what any value holds
    _hoist(specs_of(ins), folded, rename, values, new_const)
    substitute_in(ins, rename)
    if type(ins) is SetGrad and type(ins.value) is Const:
        ins.copy = True  # the constant itself must not become a parameter's .grad
    return None


_FOLDED = object()  # _general's answer for an Op folded into a constant


def _forward_pass(instrs: list, values: dict, new_const) -> tuple[list, dict, set]:
    """Fold constants, apply identities and share common subexpressions, in one pass
    forward. Returns (kept instructions, Var number -> what replaces it, folded Vars).

    Folding is lazy: a pure Op whose arguments are all constants (literals, Consts or
    folded values) is dropped and its Var joins ``folded`` (its value is ``values[n]``);
    it becomes a hoisted constant only where a kept instruction reads it (here) or an
    output does (:func:`simplify`). A chain of constant Ops, such as a backward pass whose
    every link is constant (``g = ones * A``, then ``g * A``, ... 100,000 times), then makes
    one Const, not one per link.

    A value overwritten in place later (a Write's target) is never folded, replaced by an
    operand it equals, or shared with an identical Op: it held something else when it was
    computed, and the write must reach it alone. Nor is an Op replaced by an operand that
    is overwritten later (``y = x * 1``, then ``x += 1``: y keeps the old x).

    The common Op (atoms only, no parameters) goes through :func:`_common`, everything
    else through :func:`_general`, which means the same."""
    rename: dict = {}
    seen: dict = {}
    folded: set = set()
    written = _writes(instrs)
    out = []
    for ins in instrs:
        same = _NESTED
        if type(ins) is Op and not ins.params:
            same = _common(ins, values, new_const, written, seen, folded, rename)
        if same is _NESTED:
            same = _general(ins, values, new_const, written, seen, folded, rename)
        if same is _FOLDED:
            continue
        if same is not None:
            rename[ins.out.n] = same
            continue
        out.append(ins)
    return out, rename, folded


_UNITS = (0, 1)  # literals an identity may remove (x * 1, x + 0...)
_NESTED = object()  # _common's answer for an Op with a nested argument (see _general)


def _common(ins: Op, values, new_const, written, seen, folded, rename):
    """:func:`_forward_pass` for the common Op (no parameters), in one look at its
    arguments: all constant? any to rewrite? a 0 or 1 among them? and its key for common
    subexpressions (see :func:`_atom_key`), built as they are read. Returns what its result
    is replaced by, ``_FOLDED``, None to keep it, or ``_NESTED`` (an argument is a nest:
    the general path). It runs once per instruction of programs of hundreds of thousands."""
    constant = True
    stale = False
    maybe_unit = False
    key = [id(ins.fn)]
    for a in ins.args:
        ta = type(a)
        if ta is Var:
            key.append(a)
            n = a.n
            if n in folded:
                stale = True  # (hoisted below if this Op is kept)
            else:
                constant = False
                if n in rename:
                    stale = True
        elif ta is Lit:
            v = a.value
            key.append(v if type(v) is float and v else literal_key(v))
            if v in _UNITS:
                maybe_unit = True
        elif ta is Const:
            key.append(a)
            maybe_unit = True
        else:
            return _NESTED
    fn = ins.fn
    n = ins.out.n
    if n in written:  # its own value, kept as it is (see _forward_pass)
        if stale:
            ins.args = _rewritten(ins.args, folded, rename, values, new_const)
        return None
    if constant and fn.pure and n in values:
        folded.add(n)
        return _FOLDED
    if stale:
        ins.args = _rewritten(ins.args, folded, rename, values, new_const)
        maybe_unit = maybe_unit or any(type(a) is Const for a in ins.args)
        key = [id(fn)] + [_atom_key(a) for a in ins.args]
    return _same_value(ins, tuple(key), maybe_unit, written, seen)


def _same_value(ins: Op, key, maybe_unit: bool, written: set, seen: dict):
    """What a kept Op's result is replaced by: an operand it equals (``x * 1``, ``x + 0``;
    looked for only if ``maybe_unit``, a 0 or 1 among its arguments, and never one written
    in place later), or the result of an earlier pure Op of the same ``key`` (a common
    subexpression); None if neither, and a pure Op's key is then recorded in ``seen``."""
    fn = ins.fn
    if maybe_unit and fn.label in _IDENTITY_LABELS:
        same = _identity(ins)
        if same is not None and same.n not in written:
            return same
    if fn.pure:
        prev = seen.get(key)
        if prev is not None:
            return prev
        seen[key] = ins.out
    return None


def _rewritten(args, folded: set, rename: dict, values: dict, new_const):
    """The atoms ``args`` read through ``rename``, the folded ones hoisted first."""
    new = []
    for a in args:
        if type(a) is Var:
            n = a.n
            r = rename.get(n)
            if r is None and n in folded:
                r = rename[n] = new_const(values[n])
            if r is not None:
                a = r
        new.append(a)
    return type(args)(new)


def _prune_dead(instrs: list, outputs: list) -> list:
    """Dead code: walk backwards from what must happen (the outputs and every effect),
    keeping only the Ops something live reads. The common Op (atoms, no parameters) is
    read inline."""
    live: set = set()
    for _, spec in outputs:
        live.update(v.n for v in walk(spec) if type(v) is Var)
    kept = []
    for ins in reversed(instrs):
        if type(ins) is Op:
            if ins.out.n not in live:
                continue
            if not ins.params:
                for a in ins.args:
                    ta = type(a)
                    if ta is Var:
                        live.add(a.n)
                    elif ta is not Const and ta is not Lit:
                        live.update(v.n for v in walk(a) if type(v) is Var)
                kept.append(ins)
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
    out, rename, folded = _forward_pass(instrs, values, new_const)
    if folded:
        _hoist([spec for _, spec in outputs], folded, rename, values, new_const)
        for _, spec in outputs:  # returned: each call gives a copy (program.fresh)
            for v in walk(spec):
                if type(v) is Var and v.n in folded:
                    rename[v.n].computed = True
    outputs = [(kind, substitute(spec, rename)) for kind, spec in outputs]
    out, outputs = _elide_copies(out, outputs, values)
    return _prune_dead(out, outputs), outputs
