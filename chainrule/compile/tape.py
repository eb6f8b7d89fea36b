"""The flat tape: a program too large to be Python source, replayed by one tight loop.

Python's own compiler takes seconds for a function of a few hundred thousand statements (a
chain of 100,000 steps and its backward pass), and writing that text takes as long again.
Above a threshold (``compiled.TAPE_ABOVE`` statements) the program becomes a *tape*
instead: a list of steps ``(code, fn, out, a, b)`` over one list of registers ``r``.

* ``code 1``: ``r[out] = fn(r[a])``; ``code 2``: ``r[out] = fn(r[a], r[b])``;
* ``code 3``: ``fn(*[r[i] for i in a])``, stored in ``r[out]`` unless ``out`` is None;
* ``code 4``: ``fn(r, T, S)`` (what writes into the call's tensors: ``.grad``).

Each step's ``fn`` is the very expression the source backend writes for that instruction
(``codegen.statement``), with its operands as parameters: ``lambda a0, a1: a0 * a1``,
compiled once per distinct expression (a handful per program), so both backends mean the
same thing. Where the expression is a plain call of a function or an operator, that
function itself is the step's ``fn`` (``math.exp``, ``operator.mul``), one call less.
Constants and literals sit in registers filled before the first step. A value's register
is reused once the value is dead, which releases it as the source's ``del`` does.
"""

from __future__ import annotations

import operator
import re

from chainrule.compile import adapter, codegen
from chainrule.compile.program import (
    Const,
    Lit,
    Op,
    SetGrad,
    Var,
    literal_key,
    render,
    vars_of,
)

# Expressions that are exactly one operator or function of the operands in order.
_OPERATORS = {
    "a0 + a1": operator.add, "a0 - a1": operator.sub, "a0 * a1": operator.mul,
    "a0 / a1": operator.truediv, "a0 ** a1": operator.pow, "-a0": operator.neg,
    "a0 > a1": operator.gt, "a0 >= a1": operator.ge, "a0 < a1": operator.lt,
    "a0 <= a1": operator.le, "a0 == a1": operator.eq, "a0 != a1": operator.ne,
}
_PLAIN_CALL = re.compile(r"^([A-Za-z_][\w.]*)\((a\d+(?:, a\d+)*)\)$")


class Tape:
    """A traced program as a list of steps; called as the generated source is: (A, T, S)."""

    __slots__ = ("base", "inputs", "states", "steps", "finish", "size")

    def __init__(self, base, inputs, states, steps, finish):
        self.base = base  # registers at the start: constants filled in
        self.inputs = inputs  # (register, position in A, as a Python float?)
        self.states = states  # (register, position in S, as a Python float?)
        self.steps = steps
        self.finish = finish  # (r, T, S) -> the tuple of output leaves
        self.size = len(steps)

    def __call__(self, A, T, S):
        r = self.base.copy()
        for slot, i, as_float in self.inputs:
            r[slot] = float(A[i]) if as_float else A[i]
        for slot, k, as_float in self.states:
            r[slot] = float(S[k].data) if as_float else S[k].data
        for code, fn, out, a, b in self.steps:
            if code == 2:
                r[out] = fn(r[a], r[b])
            elif code == 1:
                r[out] = fn(r[a])
            elif code == 3:
                value = fn(*[r[i] for i in a])
                if out is not None:
                    r[out] = value
            else:
                fn(r, T, S)
        return self.finish(r, T, S)

    def __repr__(self) -> str:
        return f"<cr.compile tape: {self.size} steps, {len(self.base)} registers>"


class _Builder:
    """Registers and step functions, made in one pass over the instructions."""

    def __init__(self, instrs, outputs, use_math: bool):
        self.use_math = use_math
        self.namespace = codegen.base_namespace()  # + each callee's global when first met
        self.effect_name = codegen.effect_namer(self.namespace)
        self.last_use, self.states = codegen.reads(instrs, outputs)
        self.slot: dict = {}  # Var number -> register
        self.const_slot: dict = {}  # constant key -> register
        self.base: list = []
        self.free: list = []
        self.fns: dict = {}  # expression -> its function
        self.by_callee: dict = {}  # (callee, count of arguments) -> its function
        self.operands: list = []  # registers of the expression being written

    # ----- registers ----------------------------------------------------------------------
    def new_register(self, value=None) -> int:
        if self.free and value is None:
            return self.free.pop()
        self.base.append(value)
        return len(self.base) - 1

    def callee(self, fn) -> None:
        """Callee ``fn`` is called by a step: its global joins the namespace."""
        self.namespace.update(adapter.globals_for((fn,)))

    def constant(self, key, value) -> int:
        slot = self.const_slot.get(key)
        if slot is None:
            slot = self.const_slot[key] = len(self.base)
            self.base.append(value)
        return slot

    def register_of(self, atom, top: bool) -> int:
        t = type(atom)
        if t is Var:
            return self.slot[atom.n]
        if t is Lit:
            v = atom.value
            return self.constant(literal_key(v), v)
        # A Const: as the source writes it (a Python float at the top of a math-dialect
        # expression, the object itself elsewhere).
        if self.use_math and top:
            return self.constant(("f", atom.name), float(atom.value))
        return self.constant(("c", atom.name), atom.value)

    def release(self, read: list, i: int) -> None:
        """Registers of the Vars ``read`` by instruction ``i``, read there for the last
        time, become free."""
        last_use = self.last_use
        for v in read:
            slot = self.slot.get(v.n)
            if slot is not None and last_use.get(v.n) == i:
                del self.slot[v.n]
                self.free.append(slot)

    def define(self, var: Var) -> int:
        slot = self.slot[var.n] = self.new_register()
        return slot

    # ----- expressions --------------------------------------------------------------------
    def arg(self, spec) -> str:
        """The ``arg`` of codegen.statement: operands become parameters ``a0, a1...``."""
        if type(spec) in (Var, Const, Lit):
            return self._operand(spec, True)
        return render(spec, lambda atom: self._operand(atom, False))

    def _operand(self, atom, top: bool) -> str:
        self.operands.append(self.register_of(atom, top))
        return f"a{len(self.operands) - 1}"

    def function(self, expr: str):
        """The function computing ``expr`` from its operands ``a0, a1...``."""
        fn = self.fns.get(expr)
        if fn is None:
            fn = _OPERATORS.get(expr)
            m = _PLAIN_CALL.match(expr) if fn is None else None
            n = len(self.operands)
            if m is not None and m.group(2) == ", ".join(f"a{i}" for i in range(n)):
                fn = _lookup(m.group(1), self.namespace)
            if fn is None:
                params = ", ".join(f"a{i}" for i in range(n))
                fn = eval(f"lambda {params}: {expr}", self.namespace)  # noqa: S307
            self.fns[expr] = fn
        return fn

    def callee_function(self, ins: Op):
        """The function of an Op of plain atoms without parameters (most Ops): it depends on
        the callee and the count of arguments only, so it is made once for each."""
        key = (ins.fn, len(ins.args))
        fn = self.by_callee.get(key)
        if fn is None:
            self.callee(ins.fn)
            _, expr, _ = codegen.statement(ins, self.arg, self.use_math, self.effect_name)
            fn = self.by_callee[key] = self.function(expr)
            self.operands = []
        return fn

    def step(self, expr: str, out):
        """The step computing ``expr`` on the operands gathered, into register ``out``."""
        fn = self.function(expr)
        regs = self.operands
        self.operands = []
        if out is not None and len(regs) == 1:
            return (1, fn, out, regs[0], None)
        if out is not None and len(regs) == 2:
            return (2, fn, out, regs[0], regs[1])
        return (3, fn, out, tuple(regs), None)


def build(instrs: list, inputs: list, outputs: list, use_math: bool) -> Tape:
    """The tape of a simplified program (the arguments of ``codegen.generate``).

    The loop is written out for the common Op (atoms, no parameters): it runs once per
    instruction of programs of hundreds of thousands of them."""
    b = _Builder(instrs, outputs, use_math)
    reads = [(b.define(v), i, use_math) for i, v in enumerate(inputs) if v.n in b.last_use]
    state_reads = [(b.define(v), v.index, use_math) for v in b.states]
    steps = []
    slot, free, last_use, base = b.slot, b.free, b.last_use, b.base
    by_callee = b.by_callee
    lit_slot: dict = {}  # Lit -> its register (a Lit hashes by identity)
    for i, ins in enumerate(instrs):
        if type(ins) is Op and not ins.params:
            regs = []
            for a in ins.args:
                ta = type(a)
                if ta is Var:
                    n = a.n
                    r = slot[n]
                    regs.append(r)
                    # Read here for the last time: its register is free for the step's
                    # output, taken once the arguments are read (freed once if read twice;
                    # its entry in slot stays, so a general step below still reads it).
                    if last_use[n] == i:
                        last_use[n] = -1
                        free.append(r)
                elif ta is Lit:  # (the tracer shares one Lit per float: remembered)
                    r = lit_slot.get(a)
                    if r is None:
                        r = lit_slot[a] = b.register_of(a, True)
                    regs.append(r)
                elif ta is Const:
                    regs.append(b.register_of(a, True))
                else:
                    break  # a nested argument: the general step
            else:
                fn = by_callee.get((ins.fn, len(regs)))
                if fn is None:
                    fn = b.callee_function(ins)
                n = ins.out.n
                if free:
                    out = free.pop()
                else:
                    out = len(base)
                    base.append(None)
                if n in last_use:
                    slot[n] = out
                else:
                    free.append(out)  # a value nothing reads (the copy that elision kept)
                if len(regs) == 2:
                    steps.append((2, fn, out, regs[0], regs[1]))
                elif len(regs) == 1:
                    steps.append((1, fn, out, regs[0], None))
                else:
                    steps.append((3, fn, out, tuple(regs), None))
                continue
        steps.append(_general_step(b, ins, i))
    finish = _finish(b, outputs)
    return Tape(b.base, reads, state_reads, steps, finish)


def _general_step(b: _Builder, ins, i: int):
    """The step of any instruction, through the text the source backend writes for it."""
    read = vars_of(ins)
    if type(ins) is Op:
        b.callee(ins.fn)
    target, expr, _ = codegen.statement(ins, b.arg, b.use_math, b.effect_name)
    b.release(read, i)
    if type(ins) is SetGrad:
        return _set_grad(ins.holder, b.step(expr, None))
    out = None
    if target is not None:
        var = ins.out
        out = b.define(var)
        if var.n not in b.last_use:  # computed for its effect only: free again at once
            del b.slot[var.n]
            b.free.append(out)
    return b.step(expr, out)


def _set_grad(holder: str, step):
    """A step of code 4: ``holder._grad = value`` for ``T[i]`` or ``S[k]``, from the step
    of code 3 computing the value (``_Builder.step`` without an output register)."""
    which, index = codegen.holder(holder)
    _, fn, _, regs, _ = step

    def set_grad(r, T, S):
        tensors = T if which == "T" else S
        tensors[index]._grad = fn(*[r[i] for i in regs])

    return (4, set_grad, None, None, None)


def _finish(b: _Builder, outputs: list):
    """``(r, T, S) -> outputs``: each leaf as the source's ``return`` gives it."""
    parts = []
    for kind, spec in outputs:
        if kind == "holder":
            parts.append(("holder",) + codegen.holder(spec.value))
        else:
            expr = codegen.result(kind, spec, b.arg)
            fn = b.function(expr)
            parts.append(("value", fn, tuple(b.operands)))
            b.operands = []

    def finish(r, T, S):
        out = []
        for part in parts:
            if part[0] == "holder":
                out.append((T if part[1] == "T" else S)[part[2]])
            else:
                out.append(part[1](*[r[i] for i in part[2]]))
        return tuple(out)

    return finish


def _lookup(dotted: str, namespace: dict):
    """``np.sin`` or ``f_sum`` in the namespace of generated code, or None."""
    head, *rest = dotted.split(".")
    obj = namespace.get(head)
    for part in rest:
        obj = getattr(obj, part, None)
    return obj if callable(obj) else None


__all__ = ["Tape", "build"]
