"""The tracer: runs the function once, eagerly, and writes down every primitive call.

Tracing is concrete: the function runs on real values (the first call's result is the
eager result), while the engine reports each primitive application to the tracer of its
thread (``STATE.compile_tracer``). Arrays are identified by object: the tracer keeps each
one alive while it traces, so an ``id`` names one value. An argument the tracer has not
seen is

* a leaf Tensor that requires grad (a parameter) or a buffer of a Module the function
  reaches: *state*, read from that Tensor object on every call, so a change made outside
  between calls is seen;
* any other Tensor or array (a closed-over constant, the engine's seed of ones): a
  constant, hoisted out of the code (as JAX does with closed-over arrays).

``backward()`` inside a trace runs the engine's sweep with its rules on Tensors joined to
no graph (``backward.DETACHED``; the recorded sweep when ``create_graph=True``), so the
backward pass is primitive calls as well; the sweep's listener tells which calls belong to
which link of the chain, for the comments. Traced calls take the engine's fast recording
paths, which report each op here (``STATE.plain_tracer``). What ``backward`` leaves in ``.grad`` is
written back (``SetGrad``) before any effect and at the end.
"""

from __future__ import annotations

import keyword
import linecache
import os
import re
import sys

import numpy as np

from chainrule.autodiff.graph import STATE
from chainrule.compile import adapter
from chainrule.compile.program import (
    COMPILE_ERROR_HINT,
    NO_PARAMS,
    Const,
    Effect,
    Lit,
    Op,
    SetGrad,
    TensorOf,
    Var,
    Write,
    is_literal,
)
from chainrule.tensor import Tensor

# Names the generated code uses itself (v12, g7, np, S...): a cr.named name never takes one.
_GENERATED = re.compile(r"^([vgpce]\d+|A|T|S|np|math|_tensor|_array|f_\w*|fx\d+|in_\w*)$")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TraceError(TypeError):
    """A function cannot be traced: its control flow or results depend on traced values."""


def user_line() -> str:
    """``file:line: source`` of the innermost frame outside chainrule (the user's line)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
            return f"{frame.f_code.co_filename}:{frame.f_lineno}: {line}"
        frame = frame.f_back
    return "(unknown line)"


class Tracer:
    """Records one run of a function as a :mod:`program`."""

    def __init__(self, live=()) -> None:
        # ids of tensors that are state even without requires_grad (module buffers)
        self.live = set(live)
        self.instrs: list = []
        self.by_array: dict[int, Var] = {}
        self.keep: list = []  # every other object seen, alive, so that ids stay unique
        self.values: dict = {}  # Var number -> the array it held while tracing
        self.consts: dict = {}  # id, or (dtype, shape, bytes) of a small array -> Const
        self.n_consts = 0
        self.states: list[Tensor] = []  # S: tensors read live on each call
        self.state_ids: dict[int, Var] = {}
        self.holders: list = []  # (code, Tensor): whose .grad the trace may set
        self.holder_ids: set = set()
        self.last_grad: list = []
        self.inputs: list[Var] = []
        self.n = 0
        self.comments: dict[int, str] = {}  # instruction index -> chain-rule comment
        self.effects_ran = 0
        self.names: set = set()  # names given with cr.named
        # One Lit per distinct non-zero float (a chain multiplies by the same number 100,000
        # times): fewer objects for the collector to scan while the program lives. Zero is
        # left out: 0.0 and -0.0 are equal as keys, and differ.
        self.floats: dict = {}
        self.callees: dict = {}  # primitive -> its adapter.Callee, for this trace
        self.made_inside: set = set()  # ids of arrays made inside from constants (created)

    def release(self) -> None:
        """Drop what only the trace needed (the arrays it kept, the instructions as they ran,
        the comments of every link), so that it is freed before the collector runs again:
        the program keeps what it reads."""
        for held in (self.keep, self.by_array, self.values, self.instrs, self.comments,
                     self.consts):
            held.clear()

    # ----- values --------------------------------------------------------------------------
    def new_var(self, value, kind: str, prefix: str = "v", index=None) -> Var:
        self.n += 1
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        var = Var(self.n, f"{prefix}{self.n}", kind, arr.shape, arr.dtype, index)
        self.by_array[id(value)] = var
        self.values[self.n] = arr  # (keeps it alive: ids stay unique while tracing)
        if arr is not value:
            self.keep.append(value)
        return var

    def add_input(self, value: np.ndarray, name: str, holder: Tensor | None, position: int):
        var = self.new_var(value, "input", index=position)
        var.name = name
        self.inputs.append(var)
        if holder is not None:
            self._add_holder(f"T[{position}]", holder)
        return var

    def _add_holder(self, code: str, t: Tensor) -> None:
        self.holders.append((code, t))
        self.holder_ids.add(id(t))
        self.last_grad.append(t._grad)

    def const(self, value) -> Const:
        """A hoisted constant; small arrays equal in dtype, shape and values are shared."""
        c = self.consts.get(id(value))
        if c is None:
            key = None
            if isinstance(value, np.ndarray) and value.size <= 1024:
                key = (value.dtype.str, value.shape, value.tobytes())
                c = self.consts.get(key)
            if c is None:
                c = self._new_const(value)
                if key is not None:
                    self.consts[key] = c
            self.consts[id(value)] = c
            self.keep.append(value)
        return c

    def _new_const(self, value) -> Const:
        c = Const(value, f"c{self.n_consts}")
        self.n_consts += 1
        return c

    def state(self, t: Tensor) -> Var:
        """A Tensor from outside the trace: read from the object on every call."""
        var = self.state_ids.get(id(t))
        if var is not None:
            return var
        for code, h in self.holders:
            if h._grad is t:
                raise TraceError(
                    f"cr.compile: {code}.grad, a gradient left by an earlier call, is read "
                    "inside the compiled function; gradients accumulated across calls are "
                    "not traced. Call optimizer.zero_grad() inside the compiled step."
                    + COMPILE_ERROR_HINT
                )
        k = len(self.states)
        self.states.append(t)
        var = self.new_var(t.data, "state", prefix="p", index=k)
        self.state_ids[id(t)] = var
        self.keep.append(t)
        self._add_holder(f"S[{k}]", t)
        return var

    def grad_assigned(self, t: Tensor) -> None:
        """``t.grad = ...`` is about to run (Tensor calls this). A tensor from outside the
        trace becomes a holder, whose ``.grad`` the replay then writes as this run leaves
        it (``p.grad = None`` on a parameter the function reads nothing else of)."""
        if id(t) in self.holder_ids or id(t.data) in self.by_array:
            return  # a holder already, or a tensor around a traced value (made by the call)
        self.state(t)

    def spec(self, a):
        """The spec of one argument value."""
        if isinstance(a, Tensor):
            var = self.by_array.get(id(a.data))
            if var is not None:
                return var
            if (a._requires_grad and a._node is None) or id(a) in self.live:
                return self.state(a)
            return self.const(a.data)  # a tensor the trace did not compute: a constant
        if isinstance(a, np.ndarray):
            var = self.by_array.get(id(a))
            return var if var is not None else self.const(a)
        if is_literal(a):
            return Lit(a)
        if isinstance(a, (tuple, list)):
            return type(a)(self.spec(x) for x in a)
        if isinstance(a, dict):
            return {k: self.spec(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(self.spec(a.start), self.spec(a.stop), self.spec(a.step))
        return self.const(a)

    def is_dynamic(self, t: Tensor) -> bool:
        """Does ``t`` hold a value that may differ from call to call?"""
        var = self.by_array.get(id(t.data))
        return var is not None or not isinstance(self.spec(t), Const)

    # ----- engine hooks ---------------------------------------------------------------------
    def _append(self, instr) -> int:
        self.instrs.append(instr)
        return len(self.instrs) - 1

    def record(self, prim, args, params, out) -> None:
        """A primitive ran: ``out = prim(*args, **params)`` (``out``: an ndarray).

        Runs once per traced operation, so it is written out: a Tensor already traced and
        a Python float (the commonest arguments) are looked up inline rather than through
        :meth:`spec`, and the output's Var is made here rather than by :meth:`new_var`."""
        by_array = self.by_array
        specs = []
        for a in args:
            ta = type(a)
            if ta is Tensor:
                var = by_array.get(id(a.data))
                specs.append(var if var is not None else self.spec(a))
            elif ta is float and a:
                lit = self.floats.get(a)
                if lit is None:
                    lit = self.floats[a] = Lit(a)
                specs.append(lit)
            else:
                specs.append(self.spec(a))
        pspec = {k: self.spec(v) for k, v in params.items()} if params else NO_PARAMS
        n = self.n = self.n + 1
        var = Var(n, f"v{n}", "op", out.shape, out.dtype, None)
        by_array[id(out)] = var
        self.values[n] = out  # (keeps it alive: ids stay unique while tracing)
        callee = self.callees.get(prim)
        if callee is None:
            callee = self.callees[prim] = adapter.of_primitive(prim)
        self.instrs.append(Op(callee, specs, pspec, var))

    def record_plain(self, np_fn, args, kwargs, out) -> None:
        """A NumPy function without a derivative ran (comparisons, ``sign``, ``argmax``)."""
        specs = [self.spec(a) for a in args]
        pspec = {k: self.spec(v) for k, v in kwargs.items()}
        var = self.new_var(out, "op")
        self._append(Op(adapter.of_numpy(np_fn), specs, pspec, var))

    def copied(self, src: np.ndarray, dst: np.ndarray) -> None:
        """``dst`` is a fresh copy of ``src`` (the engine copies some gradients)."""
        var = self.new_var(dst, "op")
        self._append(Op(adapter.COPY, [self.spec(src)], {}, var))

    def name(self, arr, name: str) -> None:
        """``cr.named(x, "h")``: the generated code calls x's value ``h``."""
        var = self.by_array.get(id(arr))
        if var is None or var.kind != "op":
            return
        ident = re.sub(r"\W", "_", name)
        if not ident.isidentifier() or keyword.iskeyword(ident) or _GENERATED.match(ident) \
                or ident in self.names:
            ident = f"{ident}_{var.n}" if ident.isidentifier() else var.name
        self.names.add(ident)
        var.name = ident

    def created(self, src, arr: np.ndarray) -> None:
        """A new Tensor's array ``arr`` was made inside the function: a copy of ``src``
        (``cr.tensor(x)`` inside), or from constants (``src`` None: ``cr.zeros(3)``).

        A copy of a traced value is an operation. Made from constants, it is a constant,
        holding its values as they are now, but eager makes a new one on every call: so
        it is given back as a copy where the function returns it (``Const.computed``),
        and an in-place change of it changes a copy made on each call (:meth:`inplace`),
        never the program's constant."""
        spec = self.spec(src)
        if isinstance(spec, Var):
            var = self.new_var(arr, "op")
            self._append(Op(adapter.COPY, [spec], {"dtype": self.const(arr.dtype)}, var))
            return
        c = self._new_const(arr.copy())
        c.computed = True
        self.consts[id(arr)] = c
        self.keep.append(arr)
        self.made_inside.add(id(arr))

    def inplace(self, target: Tensor, value) -> None:
        """``target``'s values were overwritten by ``value`` (an in-place op)."""
        spec = self.spec(target)
        if type(spec) is Const and id(target.data) in self.made_inside:
            # A tensor made inside from constants: each call changes its own copy.
            var = self.new_var(target.data, "op")
            self._append(Op(adapter.COPY, [spec], NO_PARAMS, var))
            spec = var
        self._append(Write(spec, self.spec(value)))

    def backward_listener(self, user):
        """A listener for the engine's sweep: groups the calls of each node's VJP.

        The instructions recorded since the previous node (its rule, the fix-ups of shape
        and dtype, the sums into its parents' cotangents) are the node's link of the chain:
        they share a group, named after its first instruction, which carries the link's
        comment; their values are cotangents, named ``g``. It runs once per node of the
        traced sweep, so it keeps what it reads in locals, and builds the comment's parts
        here: the Var of each array, each constant as it is (no object made for it)."""
        instrs = self.instrs
        comments = self.comments
        by_array = self.by_array
        const = self.const
        ndarray = np.ndarray
        start = len(instrs)

        def listener(node, g, contributions):
            nonlocal start
            first = start
            start = len(instrs)
            if start > first:
                for instr in instrs[first:start]:
                    if type(instr) is Op:
                        instr.group = first
                        out = instr.out
                        if out.name[0] == "v":
                            out.name = "g" + out.name[1:]
                operands = []
                links = []
                parents = node.parents
                i = 0
                for a in node.args:  # (one loop: a comprehension is a call)
                    if type(a) is ndarray:
                        v = by_array.get(id(a))
                        operands.append(v if v is not None else const(a))
                    else:
                        operands.append(a)
                    if parents[i] is not None and contributions[i] is not None:
                        links.append(i)
                    i += 1
                comments[first] = LinkComment(node.prim, by_array.get(id(node.out)),
                                              operands, links)
            if self.names:
                self._name_cotangent(node, g)
            if user is not None:
                user(node, g, contributions)

        return listener

    def _name_cotangent(self, node, g) -> None:
        """The cotangent dL/dh of a named quantity h is called g_h."""
        out = self.by_array.get(id(node.out))
        gv = self.by_array.get(id(getattr(g, "data", g)))
        if out is not None and out.name in self.names and gv is not None \
                and gv.kind == "op" and gv.name[0] == "g" and gv.name[1:].isdigit():
            name = f"g_{out.name}"
            if name not in self.names:
                self.names.add(name)
                gv.name = name

    # ----- grads and effects ---------------------------------------------------------------
    def sync_grads(self) -> None:
        """Emit what backward left in each holder's ``.grad`` since the last sync."""
        for k, (code, t) in enumerate(self.holders):
            cur = t._grad
            if cur is self.last_grad[k]:
                continue
            self.last_grad[k] = cur
            if cur is None:
                self._append(SetGrad(code, None, False))
                continue
            var = self.by_array.get(id(cur.data))
            if var is None:
                raise TraceError(
                    f"cr.compile: the gradient stored in {code}.grad was not computed by "
                    "traced operations" + COMPILE_ERROR_HINT
                )
            arr = cur.data
            fresh = var.kind == "op" and arr.flags.owndata and arr.flags.writeable
            self._append(SetGrad(code, var, copy=not fresh))

    def run_effect(self, fn, args, kwargs, label: str):
        """Run ``fn`` eagerly now, and on every replay (state outside the trace)."""
        self.sync_grads()

        def tensor_spec(a):
            """Tensors stay Tensors: a parameter (state) is passed as the live object, a
            traced value as a new Tensor around its array on each replay."""
            if isinstance(a, Tensor):
                s = self.spec(a)
                if isinstance(s, Var) and s.kind == "state":
                    return self.const(a)
                return TensorOf(s) if isinstance(s, Var) else s
            if isinstance(a, (list, tuple)):
                return type(a)(tensor_spec(x) for x in a)
            if isinstance(a, dict):
                return {k: tensor_spec(v) for k, v in a.items()}
            return self.spec(a)

        specs = [tensor_spec(a) for a in args]
        kspecs = {k: tensor_spec(v) for k, v in kwargs.items()}
        STATE.compile_tracer = None
        try:
            result = fn(*args, **kwargs)
        finally:
            STATE.compile_tracer = self
        self.effects_ran += 1
        out = None
        if isinstance(result, Tensor):
            out = self.new_var(result.data, "effect", prefix="e")
            out.tensor_out = True
        elif isinstance(result, np.ndarray):
            out = self.new_var(result, "effect", prefix="e")
        self._append(Effect(fn, specs, kspecs, out, label))
        # What the effect did to gradients (zero_grad) happens again on every replay.
        for k, (_, t) in enumerate(self.holders):
            self.last_grad[k] = t._grad
        return result

    def run_function(self, fn, args, kwargs):
        """Run the pure ``fn`` now and record it as one op (see effects.traced_function)."""
        specs = [self.spec(a) for a in args]
        kspecs = {k: self.spec(v) for k, v in kwargs.items()}
        STATE.compile_tracer = None
        try:
            result = fn(*args, **kwargs)
        finally:
            STATE.compile_tracer = self
        if not isinstance(result, np.ndarray):
            raise TraceError(f"cr.compile: {fn.__qualname__} must return one array when "
                             f"traced, got {type(result).__name__}")
        var = self.new_var(result, "op")
        self._append(Op(adapter.of_function(fn), specs, kspecs, var))
        return result

    def output(self, leaf):
        """The spec of one output leaf, and how to give it back."""
        if isinstance(leaf, Tensor):
            for code, h in self.holders:
                if h is leaf:
                    return ("holder", Lit(code))
            return ("tensor", self.spec(leaf))
        if isinstance(leaf, np.ndarray):
            return ("array", self.spec(leaf))
        if is_literal(leaf):
            return ("literal", Lit(leaf))
        return ("object", self.const(leaf))


    def value_used(self, t: Tensor, what: str) -> None:
        """Raise: ``t``'s traced value is about to become a Python value (Tensor calls this)."""
        if not self.is_dynamic(t):
            return
        raise TraceError(
            f"cr.compile: {what} of a traced Tensor at {user_line()}\n"
            "The compiled code is traced once and replayed, so Python control flow and Python "
            "numbers cannot depend on the values of traced tensors (shapes and dtypes are "
            "fine). Use cr.where(...) for value-dependent choices, pass the value as a "
            "static argument (cr.compile(f, static_argnums=(i,))), or run this function "
            "eagerly with cr.compile(f, fallback=True)."
        )


class LinkComment:
    """``chain rule through v3 = sin(v1): dv3/dv1 = cos(v1)``, formatted when shown."""

    __slots__ = ("prim", "out", "operands", "links")

    def __init__(self, prim, out, operands: list, links: list):
        self.prim = prim
        self.out = out  # the Var of the node's output (None: not traced)
        self.operands = operands  # per argument, its Var, Const, or the constant itself
        self.links = links

    def __str__(self) -> str:
        callee = adapter.of_primitive(self.prim)
        out = self.out.name if self.out is not None else "out"
        names = [repr(a if type(a) in (Var, Const) else Lit(a)) for a in self.operands]
        parts = [f"d{out}/d{names[i]} = {adapter.link_formula(callee, i, names)}"
                 for i in self.links]
        call = f"{out} = {callee.label}({', '.join(names)})"
        return f"chain rule through {call}: " + "; ".join(parts)


def current():
    """The tracer of this thread, or None."""
    return STATE.compile_tracer


__all__ = ["Tracer", "TraceError", "current", "user_line"]
