"""``cr.compile``: trace once per guard set, then replay generated code.

>>> import chainrule as cr, numpy as np
>>> P = lambda t: 101325 * cr.exp(-0.0001 * (4000 - 0.5 * 9.8 * t ** 2))
>>> dP = cr.compile(cr.grad(P))
>>> float(dP(10.0))   # traced: runs eagerly while recording
-6730.61...
>>> print(dP.source)  # doctest: +SKIP
def grad_P(A, T, S):
    t = float(A[0])  # input: 0-d float64
    ...
"""

from __future__ import annotations

import builtins
import functools
import gc
import inspect
import keyword
import re
import threading
import warnings
from collections import Counter, OrderedDict

import numpy as np

from chainrule.autodiff.graph import STATE
from chainrule.autodiff.pytree import tree_flatten, tree_unflatten
from chainrule.compile import adapter, codegen, fused, guards, passes, tape
from chainrule.compile.program import NO_PARAMS, Const, Op, Var, fresh
from chainrule.compile.tracer import TraceError, Tracer
from chainrule.tensor import Tensor, make

CACHE_SIZE = 8
# Programs longer than this (statements) run as a flat tape (tape.py), not Python source:
# Python's compiler and the text itself would cost seconds for each such trace.
TAPE_ABOVE = 50_000
BACKENDS = ("auto", "source", "tape", "numba")
_RETRACE_WARNING_AFTER = 4  # re-traces (after the first trace) before the one-time warning


class Entry:
    """One trace: its generated function and what a replay needs."""

    __slots__ = ("fn", "_source", "states", "out_def", "single", "labels", "eager")

    def __init__(self, fn, source, states, out_def, labels, eager=False):
        self.fn = fn
        self._source = source  # the text, or a function making it (with the comments)
        self.states = states
        self.out_def = out_def
        self.single = out_def is not None and out_def.num_leaves == 1 and \
            out_def.kind == "leaf"
        self.labels = labels
        self.eager = eager

    @property
    def source(self) -> str:
        if callable(self._source):
            self._source = self._source()
        return self._source


class CacheInfo(tuple):
    """``(hits, misses, size, maxsize)`` with ``.retraces``: why each trace happened."""

    def __new__(cls, hits, misses, size, maxsize, retraces):
        self = super().__new__(cls, (hits, misses, size, maxsize))
        self.retraces = list(retraces)
        return self

    hits = property(lambda self: self[0], doc="Calls answered by a cached trace.")
    misses = property(lambda self: self[1], doc="Calls that traced (no cached trace matched).")
    currsize = property(lambda self: self[2], doc="Traces held in the cache now.")
    maxsize = property(lambda self: self[3], doc="Traces the cache holds at most (then the "
                       "least recently used goes).")

    def __repr__(self) -> str:
        lines = [f"CacheInfo(hits={self[0]}, misses={self[1]}, size={self[2]}, "
                 f"maxsize={self[3]})"]
        lines += [f"  trace {i + 1}: {why}" for i, why in enumerate(self.retraces)]
        return "\n".join(lines)


class Compiled:
    """A function traced once per guard set and replayed as generated straight-line code.

    ``source`` is the generated Python of the latest trace (forward, backward with each
    chain-rule link as a comment); ``cache_info()`` counts hits and misses and says why
    each trace happened. Calling it with arguments that differ in shape, dtype, structure,
    static values or modes traces again (at most ``CACHE_SIZE`` versions are kept, least
    recently used dropped).
    """

    def __init__(self, fn, static_argnums=(), fallback: bool = False, backend: str = "auto"):
        if not callable(fn):
            raise TypeError(f"cr.compile: expected a function, got {type(fn).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"cr.compile: backend={backend!r} is not one of "
                             f"{', '.join(map(repr, BACKENDS))}")
        if backend == "numba" and not fused.available():
            raise ImportError(
                "cr.compile(f, backend='numba') needs numba, an optional extra: "
                "pip install numba (or pip install 'chainrule[numba]')"
            )
        self.backend = backend
        self._unfused_warned = False
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        self.fn = fn
        self.static_argnums = tuple(static_argnums)
        self.fallback = bool(fallback)
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._retraces: list[str] = []
        self._last_labels = None
        self._warned = False
        self._modules = None
        self._latest: Entry | None = None
        self._name = _identifier(getattr(fn, "__name__", None) or type(fn).__name__.lower())
        try:
            self._arg_names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._arg_names = []
        functools.update_wrapper(self, fn, updated=())

    # ----- the call --------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._modules is None:
            self._modules = guards.find_modules(self.fn, args)
        key = None
        if not kwargs and not self.static_argnums:
            fast = guards.fast_key(args)
            if fast is not None:
                key = (STATE.grad_enabled, fast)
                if self._modules:
                    key += (guards.module_key(self._modules),)
                leaves = args
        if key is None:
            leaves, key, labels = self._flatten(args, kwargs)
        entry = self._cache.get(key)
        if entry is None:
            return self._miss(key, args, kwargs)
        self._hits += 1
        if entry.eager:
            return self.fn(*args, **kwargs)
        arrays = [x.data if type(x) is Tensor else x for x in leaves]
        out = entry.fn(arrays, leaves, entry.states)
        if entry.single:
            return out[0]
        return tree_unflatten(entry.out_def, list(out))

    def _flatten(self, args, kwargs):
        """The leaves (static arguments excluded), the key and its labelled parts."""
        leaves = []
        parts: dict = {"grad mode": STATE.grad_enabled}
        dynamic_args = []
        for i, a in enumerate(args):
            name = self._arg_names[i] if i < len(self._arg_names) else f"arg{i}"
            if i in self.static_argnums or i - len(args) in self.static_argnums:
                parts[f"static argument {name}"] = guards.leaf_key(a, True)
                continue
            dynamic_args.append(a)
            flat, tree = tree_flatten(a)
            parts[f"structure of {name}"] = tree
            for j, leaf in enumerate(flat):
                part = guards.leaf_key(leaf, False)
                parts[f"{name}" + (f" leaf {j}" if len(flat) > 1 else "")] = part
                if guards.is_dynamic(leaf):
                    leaves.append(leaf)
        for k in sorted(kwargs):
            flat, tree = tree_flatten(kwargs[k])
            parts[f"structure of {k}="] = tree
            for j, leaf in enumerate(flat):
                parts[f"{k}=" + (f" leaf {j}" if len(flat) > 1 else "")] = \
                    guards.leaf_key(leaf, False)
                if guards.is_dynamic(leaf):
                    leaves.append(leaf)
        if self._modules:
            parts["module modes and parameters"] = guards.module_key(self._modules)
        key = tuple(parts.values())
        if not kwargs and not self.static_argnums and all(
                type(a) is np.ndarray or isinstance(a, Tensor) for a in args):
            key = (parts["grad mode"], guards.fast_key(args))
            if self._modules:
                key += (parts["module modes and parameters"],)
        leaves = [np.asarray(x, dtype=np.float64) if type(x) is float
                  else (np.asarray(x) if isinstance(x, np.floating) else x) for x in leaves]
        return leaves, key, parts

    # ----- a miss: trace ---------------------------------------------------------------------
    def _miss(self, key, args, kwargs):
        _, _, labels = self._flatten(args, kwargs)
        with self._lock:
            self._misses += 1
            why = guards.explain_miss(self._last_labels, labels)
            self._retraces.append(why)
            self._last_labels = labels
            if len(self._retraces) > _RETRACE_WARNING_AFTER and not self._warned:
                self._warned = True
                warnings.warn(
                    f"cr.compile({self._name}) has traced {len(self._retraces)} times (latest: "
                    f"{why}); each trace runs the function eagerly and generates code. Keep "
                    "shapes, dtypes and static arguments steady, or see .cache_info()",
                    RuntimeWarning, stacklevel=3)
        live = []
        for m in self._modules:
            live += [id(p) for p in m.parameters()] + [id(b) for b in m.buffers()]
        tracer = Tracer(live)
        # A trace builds millions of objects that all stay alive until it ends (the graph,
        # the program): the cyclic collector would scan them again and again for nothing
        # (about a third of a long chain's trace), so it waits until the trace is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            result, entry = self._trace(tracer, args, kwargs, labels)
        except TraceError:
            if not self.fallback:
                raise
            if tracer.effects_ran:
                raise
            entry = Entry(None, None, None, None, labels, eager=True)
            self._store(key, entry)
            warnings.warn(
                f"cr.compile({self._name}, fallback=True): the function depends on traced "
                "values, so it runs eagerly (uncompiled) for these arguments",
                RuntimeWarning, stacklevel=3)
            return self.fn(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()
        self._store(key, entry)
        return result

    def _store(self, key, entry) -> None:
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            if not entry.eager:
                self._latest = entry

    def _trace(self, tracer: Tracer, args, kwargs, labels):
        inputs_of = _TracedInputs(tracer)
        new_args, new_kwargs = self._traced_arguments(inputs_of, args, kwargs)

        previous = STATE.compile_tracer
        STATE.compile_tracer = tracer
        try:
            result = self.fn(*new_args, **new_kwargs)
            tracer.sync_grads()
            out_leaves, out_def = tree_flatten(result)
            outputs = [tracer.output(x) for x in out_leaves]
        finally:
            STATE.compile_tracer = previous
        plain = not inputs_of.any_tensor
        outputs = [("array", spec) if kind == "tensor" and plain else (kind, spec)
                   for kind, spec in outputs]
        instrs, outputs = passes.simplify(tracer.instrs, outputs, tracer.values,
                                             tracer.const)
        outputs = _distinct_outputs(instrs, outputs, out_leaves, tracer)
        comments = _group_comments(instrs, tracer.comments)
        use_math = codegen.math_dialect_fits(instrs, tracer.inputs, outputs)
        inputs = list(tracer.inputs)
        on_tape = self.backend == "tape" or (self.backend == "auto" and len(instrs) > TAPE_ABOVE)
        kernel = None
        if self.backend == "numba":
            kernel = self._fuse(instrs, inputs, outputs)
        fn = self._program_fn(kernel, on_tape, instrs, inputs, outputs, use_math)

        def commented():
            return self._commented_source(kernel, on_tape, instrs, inputs, outputs, comments,
                                          use_math)

        entry = Entry(fn, commented, list(tracer.states), out_def, labels)
        # The first call's result is the traced (eager) run's, given back as replays do.
        first = _first_results(outputs, out_leaves)
        tracer.release()
        return tree_unflatten(out_def, first), entry

    def _traced_arguments(self, inputs_of, args, kwargs):
        """The arguments the function is traced with: each dynamic leaf becomes a traced
        input (named after its parameter), static arguments pass through."""
        new_args = []
        for i, a in enumerate(args):
            name = self._arg_names[i] if i < len(self._arg_names) else f"arg{i}"
            if i in self.static_argnums or i - len(args) in self.static_argnums:
                new_args.append(a)
                continue
            new_args.append(inputs_of.wrap_tree(a, name))
        new_kwargs = {}
        for k in sorted(kwargs):
            new_kwargs[k] = inputs_of.wrap_tree(kwargs[k], k)
        kwargs_order = list(kwargs)
        new_kwargs = {k: new_kwargs[k] for k in kwargs_order}
        return new_args, new_kwargs

    def _program_fn(self, kernel, on_tape, instrs, inputs, outputs, use_math):
        """The callable that replays the program: numba's fused loop, a tape, or generated
        Python code."""
        if kernel is not None:
            return kernel[0]
        if on_tape:
            return tape.build(instrs, inputs, outputs, use_math)
        # The code runs without comments; .source adds them when it is first read (some
        # formulas are derived by SymPy, too slow for every trace).
        source, namespace = codegen.generate(self._name, instrs, inputs, outputs, {},
                                             use_math)
        code = builtins.compile(source, f"<cr.compile {self._name}>", "exec")
        exec(code, namespace)
        return namespace[self._name]

    def _commented_source(self, kernel, on_tape, instrs, inputs, outputs, comments, use_math):
        """The program's source with the chain-rule comments, headed by how it runs."""
        text = {k: str(v) for k, v in comments.items()}
        source = codegen.generate(self._name, instrs, inputs, outputs, text, use_math)[0]
        if kernel is not None:
            program = "\n".join("# " + line for line in source.splitlines())
            source = ("# backend='numba': one loop over the elements, compiled by numba\n"
                      + kernel[1] + "\n# The program it fuses, with the chain rule:\n"
                      + program + "\n")
        elif on_tape:
            why = ("backend='tape'" if self.backend == "tape" else
                   f"over {TAPE_ABOVE} statements: too long for Python's compiler")
            source = (f"# Run as a flat tape of {len(instrs)} steps ({why});\n"
                      "# this is the program it runs, written out.\n" + source)
        return source

    def _fuse(self, instrs, inputs, outputs):
        """numba's fused loop and its source, or None (with a one-time warning saying why)
        when the program is not elementwise throughout."""
        why = fused.unfit(instrs, inputs, outputs)
        if why is None:
            return fused.build(self._name, instrs, inputs, outputs)
        if not self._unfused_warned:
            self._unfused_warned = True
            warnings.warn(
                f"cr.compile({self._name}, backend='numba'): not fused, because {why}; it "
                "runs as generated NumPy code", RuntimeWarning, stacklevel=4)
        return None

    # ----- introspection ----------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The generated Python of the latest trace (call the function once first)."""
        if self._latest is None:
            raise RuntimeError(
                f"cr.compile({self._name}).source: nothing traced yet; call it once with "
                "example arguments first"
            )
        return self._latest.source

    def cache_info(self) -> CacheInfo:
        """Hits, misses, cached versions, the bound, and why each trace happened."""
        return CacheInfo(self._hits, self._misses, len(self._cache), CACHE_SIZE,
                         self._retraces)

    def cache_clear(self) -> None:
        """Forget every trace: the next call traces again (as ``functools.lru_cache``'s
        ``cache_clear``); the hit and miss counts are kept."""
        with self._lock:
            self._cache.clear()
            self._latest = None

    def __repr__(self) -> str:
        return f"<cr.compile {self._name}: {len(self._cache)} traced version(s)>"


class _TracedInputs:
    """Turns the dynamic leaves of the arguments into the tracer's inputs, in order, with
    unique names; remembers whether any was a Tensor."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer
        self.used_names: set = set()
        self.position = 0
        self.any_tensor = False

    def wrap(self, leaf, name):
        if not guards.is_dynamic(leaf):
            return leaf
        holder = None
        if isinstance(leaf, Tensor):
            self.any_tensor = True
            arr, holder, t = leaf.data, leaf, leaf
        else:
            arr = (np.asarray(leaf, dtype=np.float64) if type(leaf) is float
                   else np.asarray(leaf))
            t = make(arr)
        self.tracer.add_input(arr, _unique(name, self.used_names), holder, self.position)
        self.position += 1
        return t

    def wrap_tree(self, value, name):
        """``value`` with each leaf wrapped; several leaves are named ``name_0``, ``name_1``..."""
        flat, tree = tree_flatten(value)
        names = [name] if len(flat) == 1 else [f"{name}_{j}" for j in range(len(flat))]
        return tree_unflatten(tree, [self.wrap(x, n) for x, n in zip(flat, names)])


def _group_comments(instrs, group_comments: dict) -> dict:
    """id(instruction) -> the comment of its group, on the first Op of each group."""
    comments = {}
    done = set()
    for ins in instrs:
        if type(ins) is Op and ins.group is not None and ins.group not in done:
            done.add(ins.group)
            text = group_comments.get(ins.group)
            if text:
                comments[id(ins)] = text
    return comments


def _distinct_outputs(instrs: list, outputs: list, out_leaves: list, tracer) -> list:
    """Each output that eager gave as an array of its own, but that the simplified program
    gives as a value it also gives elsewhere, gets a copy, appended to ``instrs``: two
    outputs made one by a common subexpression, or an output made the input itself by an
    identity (``x * 1``). A caller changing one returned array must not change another,
    nor its own input. An output is such an alias when its eager array is not the one its
    Var named in the trace (``tracer.by_array``); an array returned twice stays one."""
    returned = Counter(spec.n for _, spec in outputs if type(spec) is Var)
    distinct = []
    for (kind, spec), leaf in zip(outputs, out_leaves):
        if type(spec) is Var and kind in ("tensor", "array"):
            arr = leaf.data if isinstance(leaf, Tensor) else leaf
            if tracer.by_array.get(id(arr)) is not spec and (
                    returned[spec.n] > 1 or spec.kind in ("input", "state")):
                copy = tracer.new_var(arr, "op")  # (the copy is the array eager gave)
                instrs.append(Op(adapter.COPY, [spec], NO_PARAMS, copy))
                spec = copy
        distinct.append((kind, spec))
    return distinct


def _first_results(outputs, out_leaves) -> list:
    """The traced run's output leaves, in the form a replay gives them back."""
    first = []
    for (kind, spec), leaf in zip(outputs, out_leaves):
        if kind == "holder":
            first.append(leaf)
        elif kind == "tensor":
            first.append(codegen._tensor(_value_of(spec, leaf)))
        elif kind == "array":
            first.append(codegen._array(_value_of(spec, leaf)))
        else:
            first.append(leaf)
    return first


def _value_of(spec, leaf):
    if isinstance(spec, Const):
        return np.array(spec.value) if fresh(spec) else spec.value
    if isinstance(leaf, Tensor):
        return leaf.data
    return leaf


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name) or "compiled"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "f_" + name
    if name == "<lambda>" or name == "_lambda_":
        name = "compiled"
    return name


_RESERVED = re.compile(r"^([vgpce]\d+|A|T|S|np|math|_tensor|_array|_scalar_grads|f_\w*|fx\d+)$")


def _unique(name: str, used: set) -> str:
    name = re.sub(r"\W", "_", name) or "x"
    if name[0].isdigit() or keyword.iskeyword(name) or _RESERVED.match(name):
        name = "in_" + name
    base, k = name, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def compile(fn=None, *, static_argnums=(), fallback: bool = False,  # noqa: A001
            backend: str = "auto"):
    """Trace ``fn`` once per guard set and replay it as generated straight-line code.

    ``cr.compile(f)`` or ``@cr.compile`` / ``@cr.compile(static_argnums=(1,))``. Works on
    functions of arrays, Tensors and pytrees of them, on transforms (``cr.compile(cr.grad
    (f))``), and on training steps that call ``loss.backward()`` and ``optimizer.step()``.
    Python control flow that depends on a traced value (``if t > 0``, ``float(t)``) raises
    a ``TypeError`` naming the line, unless ``fallback=True`` (then that call runs eagerly,
    with a one-time warning). Plain array inputs give plain array results.

    What is traced is what goes through chainrule's functions. Code that takes a traced
    tensor's ``.data`` and computes on it with NumPy directly is invisible to the trace:
    its result is replayed as the constant it was on the first call (as a closed-over array
    is under ``jax.jit``). chainrule's own layers, losses and optimizers mark such code
    (``chainrule.compile.effects``), so it runs again on every call. Compiled results carry
    no graph: call ``backward()`` inside the compiled function.

    ``backend``: ``"source"`` replays generated Python source; ``"tape"`` a flat list of
    steps run by one loop (the same operations, without Python's compile step: for very
    long programs); ``"auto"`` (the default) picks the tape above ``TAPE_ABOVE`` (50,000)
    statements, the source below. ``"numba"`` (needs the optional numba) fuses a program
    that is elementwise throughout (every value of one shape, float64) into one loop over
    its elements, compiled by numba: much faster for long elementwise chains, seconds to
    compile; other programs run as generated NumPy, with a warning saying why.
    """
    if fn is None:
        return lambda f: Compiled(f, static_argnums=static_argnums, fallback=fallback,
                                  backend=backend)
    return Compiled(fn, static_argnums=static_argnums, fallback=fallback, backend=backend)


__all__ = ["compile", "Compiled", "CacheInfo", "TraceError", "Var"]
