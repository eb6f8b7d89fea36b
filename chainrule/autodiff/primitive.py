"""Primitives: each differentiable operation declared once, with its rules side by side.

A primitive has

* ``forward(*arrays, **params) -> ndarray`` — plain NumPy;
* ``vjp`` — the reverse rule, in the signature users write for ``cr.defvjp``: either one
  rule ``vjp(g, ans, *args, **params)`` that returns the cotangent ``dL/d(arg_i)`` of every
  positional argument given ``g = dL/d(ans)`` (a tuple; the value itself for one argument),
  or a tuple of rules, one per argument, each returning its own argument's cotangent (None
  for an argument that is never differentiated). The engine runs the per-argument rules of
  the arguments whose gradient is wanted only (``x @ W``: not the data's), so
  multi-argument primitives whose cotangents cost work declare one rule per argument;
* ``jvp`` — the forward rule, likewise: one rule ``jvp(t, ans, *args, **params)`` returning
  the tangent of ``ans`` (``t`` the argument's tangent; for several arguments a tuple of
  tangents, zeros where an argument has none), or a tuple of per-argument rules
  ``jvp_i(t_i, ans, *args, **params)``, each one term of ``sum_i J_i t_i`` (the engine runs
  those of arguments with a tangent only);
* ``formulas`` — the displayed rule per argument, for explanations: a local derivative
  (``cos(x)``) or, written with ``g`` for the upstream gradient, the whole VJP
  (``g · bᵀ``); in the notation of :mod:`chainrule.ops.notation`. It may be given as a
  function of no arguments that makes them on first use (the declaration helpers derive
  them from ``symbolic`` with SymPy, which is then imported only when a formula is shown);
* ``symbolic(sp, *args, **params)`` — the same operation on SymPy objects, so the explainer
  can differentiate symbolically;
* ``numpy`` — the names the function has in chainrule's NumPy surface (``cr.abs``,
  ``cr.absolute``; empty when a hand-written function with NumPy's arguments wraps it),
  and ``method`` — whether Tensors have it as a method (``t.exp()``);
* ``expr`` and ``domain`` — its name in the expression language of ``cr.explain`` (None:
  not part of it) and where it is defined there, in words that
  :func:`chainrule.ops.notation.evaluate_formula` reads (``"x > 0"``; None: everywhere);
* ``ref`` — an independent implementation (plain NumPy, the textbook definition) that the
  registry tests compare the forward with;
* ``elementwise`` — whether it acts element by element (its formulas are then local
  derivatives multiplied elementwise: ``·`` in them is not a matrix product);
* ``saves_args``, ``saves_ans``, ``reads`` — which values its VJP reads (the arguments, the
  output; ``reads[i]``: the arguments the VJP for argument ``i`` reads). Only those are
  guarded against in-place changes, so they must be declared exactly (a registry test
  checks it);
* ``derivative(v)`` — only for one-argument elementwise primitives (declared with
  :func:`chainrule.ops.declare.unary`): ``d ans/dx`` as a function of the one value it
  reads, ``v`` the argument or, where ``derivative_of_ans``, the output; their VJP is
  ``g · derivative(v)``, which the plain backward sweep applies directly (one call less per
  node). None otherwise.

Rules compute with the namespace of the values they are given,
``xp = namespace(g)`` (:func:`chainrule.autodiff.namespace.namespace`): NumPy on raw arrays
in an ordinary backward pass, :mod:`chainrule.numpy_api` on Tensors when the backward pass
is itself recorded (``create_graph=True``) or carries forward-mode tangents. One rule
serves both; which arguments need a cotangent is the engine's business (it runs the
per-argument rules it needs). Rules never sum a cotangent back to a broadcast input's
shape: the engine does that, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff.errors import MissingRuleError, missing_rule  # noqa: F401 (re-exported)
from chainrule.autodiff.forward import push_tangents
from chainrule.autodiff.graph import DEFAULT_MODE, STATE, guard_saved_output, new_node
from chainrule.autodiff.namespace import recorded
from chainrule.autodiff.tensor_core import Tensor, make
from chainrule.autodiff.versions import VersionCounter, new_counter
from chainrule.habits import dim_error

REGISTRY: dict[str, Primitive] = {}


_ndarray = np.ndarray
_SEQUENCES = (list, tuple)
_new = object.__new__
_EMPTY: dict = {}


class Primitive:
    """One differentiable operation. Calling it on Tensors records it when needed."""

    __slots__ = (
        "name",
        "forward",
        "vjp",
        "jvp",
        "_formulas",
        "symbolic",
        "numpy",
        "method",
        "expr",
        "domain",
        "ref",
        "elementwise",
        "samples",
        "saves_args",
        "saves_ans",
        "reads",
        "view",
        "nondiff_args",
        "doc",
        "function",
        "derivative",
        "derivative_of_ans",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        forward: Callable,
        *,
        vjp: Callable | Sequence[Callable | None] | None = None,
        jvp: Callable | Sequence[Callable | None] | None = None,
        formulas: Sequence[str] | Callable[[], Sequence[str]] = (),
        symbolic: Callable | None = None,
        samples: Callable | None = None,
        saves_args: bool = True,
        saves_ans: bool = True,
        reads: Sequence[Sequence[int]] | None = None,
        view: bool = False,
        nondiff_args: Sequence[int] = (),
        doc: str | None = None,
        register: bool = True,
        numpy: Sequence[str] = (),
        method: bool = False,
        expr: str | None = None,
        domain: str | None = None,
        ref: Callable | None = None,
        elementwise: bool = False,
    ):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.jvp = jvp
        self.formulas = formulas
        self.symbolic = symbolic
        self.numpy = (numpy,) if isinstance(numpy, str) else tuple(numpy)
        self.method = method
        self.expr = expr
        self.domain = domain
        self.ref = ref
        self.elementwise = elementwise
        self.samples = samples
        self.saves_args = saves_args
        self.saves_ans = saves_ans
        # reads[i]: the arguments whose values the VJP for argument i reads (None: all of
        # them when saves_args). Only those are guarded against in-place changes, so x * 2.0
        # guards nothing: d(x·c)/dx = c does not read x.
        self.reads = None if reads is None else tuple(frozenset(r) for r in reads)
        if self.reads is not None:
            self.saves_args = any(self.reads)
        # The forward may return a NumPy view of its (single) argument: the two then share
        # memory, so they must share a version counter (see _share_if_view).
        self.view = view
        self.nondiff_args = frozenset(nondiff_args)
        self.doc = doc or forward.__doc__ or ""
        self.function = _as_function(self)
        self.derivative = None
        self.derivative_of_ans = False
        if register:
            if name in REGISTRY:
                raise ValueError(f"a primitive named {name!r} is already registered")
            REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    @property
    def formulas(self) -> tuple[str, ...]:
        """The displayed rule per argument (made on first use when declared as a function)."""
        f = self._formulas
        if callable(f):
            f = self._formulas = tuple(f())
        return f

    @formulas.setter
    def formulas(self, value) -> None:
        self._formulas = value if callable(value) else tuple(value)

    def __setattr__(self, name: str, value) -> None:
        if name in ("vjp", "jvp"):
            if isinstance(value, list):  # per-argument rules: the engine tests for a tuple
                value = tuple(value)
            # `derivative` is the VJP of an elementwise primitive in another form; once
            # the VJP is replaced, the engine must use the new rule, not the old derivative.
            if name == "vjp" and getattr(self, "derivative", None) is not None:
                object.__setattr__(self, "derivative", None)
        object.__setattr__(self, name, value)

    def __call__(self, *args, **params):
        """Apply to Tensors/arrays/numbers; record a node when a Tensor input requires grad."""
        return self.function(*args, **params)

    # ----- recording -------------------------------------------------------------------
    # `_apply` is the one definition of what applying a primitive means: the output Tensor,
    # the node, the saved values and their version guards, shared memory, forward-mode
    # tangents. `_apply1` and `_apply2` are the same thing written out for one Tensor and
    # for two arguments in the default mode (recording on, no forward-mode levels), where
    # every statement costs measurably per op (W2 of benchmarks/); in any other mode they
    # hand over to `_apply`, so whatever must see every op (forward mode, a tracer) hooks
    # into `_apply` and leaves the default mode. tests/test_recording.py runs every
    # registered sample through both and requires the same values, graph, gradients and
    # guards.

    def _apply(self, args, params):
        """Apply to any arguments (Tensors or constants), recording a node when needed.

        A list or tuple that holds Tensors is stacked into one Tensor first, differentiably:
        NumPy reads ``np.add([a, b], c)`` as the array ``[a, b]``, and converting it with
        ``np.asarray`` would drop the graph.
        """
        if any(type(a) in _SEQUENCES for a in args):
            args = tuple(as_operand(a) for a in args)
        args, vals, parents = _operands(args)
        levels = STATE.jvp_levels
        recording = STATE.grad_enabled
        node = None
        if parents is not None and recording:
            for i in self.nondiff_args:  # e.g. where's condition: never differentiated
                parents[i] = None
            vcs, versions = _saved_versions(self, args, parents)
            node = new_node(self, tuple(parents), args if levels else None, vals,
                            params or _EMPTY, vcs, versions)
        try:
            out = self.forward(*vals, **params)
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            raise _forward_error(self, vals, exc) from None
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = make(out)
        if node is not None:
            node.out = out
            t._node = node
            t._requires_grad = True
        if self.view and len(args) == 1 and isinstance(args[0], Tensor):
            _share_if_view(args[0], t, recording)
        tracer = STATE.compile_tracer
        if tracer is not None:  # cr.compile is tracing this thread (never the default mode)
            tracer.record(self, args, params, out)
        if levels:
            push_tangents(self, t, args, params)
        return t

    def _off_default(self, args: tuple, params):
        """``_apply1``/``_apply2`` off the default mode: the general path, except on a
        thread that only a ``cr.compile`` tracer takes off it (recording on, no forward-mode
        levels), where the fast path records the op and the tracer is then told of it (a
        trace is millions of calls for a long chain: the general path cost it a third)."""
        tracer = STATE.plain_tracer
        if tracer is None:
            return self._apply(args, params)
        if len(args) == 1:
            t = self._apply1(args[0], params, True)
        else:
            t = self._apply2(args[0], args[1], params, True)
            if isinstance(args[0], np.generic) or isinstance(args[1], np.generic):
                args = _operands(args)[0]  # as the op saw them: a NumPy scalar is weak
        tracer.record(self, args, params, t.data)
        return t

    def _apply1(self, a, params=_EMPTY, _reported=False):
        """``_apply((a,), params)`` for one Tensor ``a``, written out for speed (see above).

        Off the default mode it serves one other, through :meth:`_off_default`: a thread
        traced by ``cr.compile`` and otherwise in the default mode records here as well
        (``_reported``: the inner call, whose op the tracer is told of once)."""
        if not DEFAULT_MODE[0] and not _reported:
            return self._off_default((a,), params)
        x = a.data
        node = None
        if a._requires_grad:
            # The node (its creation number) and the versions it saves come before the
            # forward reads the values: see graph.note_inplace_change.
            if self.saves_args:
                vc = a._vcl
                if vc is None:
                    vc = a._vcl = _new(VersionCounter)  # versions.new_counter, inlined
                    vc.version = 0
                    vc.op = vc.views = None
                    vc.owned = False
                vcs = (vc,)
                versions = (vc.version,)
            else:
                vcs = versions = None
            node = new_node(self, (a._node or a,), None, (x,), params or _EMPTY, vcs, versions)
        try:
            out = self.forward(x, **params) if params else self.forward(x)
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            raise _forward_error(self, (x,), exc) from None
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = _new(Tensor)  # tensor_core.make inlined: a call per op is measurable here
        t.data = out
        t._grad = None
        t.name = None
        t._tangent = None
        t._vcl = None
        if node is None:
            t._node = None
            t._requires_grad = False
        else:
            node.out = out
            t._node = node
            t._requires_grad = True
        if self.view:
            _share_if_view(a, t, True)
        return t

    def _apply2(self, a, b, params=_EMPTY, _reported=False):
        """``_apply((a, b), params)`` written out for speed (see above): Tensor's arithmetic
        operators call it directly (``x * y`` is the hottest call of all). A traced thread
        records here too, as in :meth:`_apply1`.

        Its cyclomatic complexity (about 42) is above the project's limit of 25 on
        purpose: each helper call taken out of it costs about 1% of W2 (benchmarks/)."""
        if not DEFAULT_MODE[0] and not _reported:
            return self._off_default((a, b), params)
        if isinstance(a, Tensor):
            xa = a.data
            ra = a._requires_grad
        else:
            xa = a
            ra = False
        if isinstance(b, Tensor):
            xb = b.data
            rb = b._requires_grad
        else:
            xb = b
            rb = False
        # A NumPy scalar beside a Tensor (x / np.sqrt(d)) is weak, as a Python number and as
        # in PyTorch: float32 stays float32 (NumPy itself would promote to float64).
        # (type(...) is not float: the common x * 2.0 skips the isinstance check.)
        if xb is b and xa is not a and type(b) is not float and isinstance(b, np.generic):
            b = xb = b.item()
        elif xa is a and xb is not b and type(a) is not float and isinstance(a, np.generic):
            a = xa = a.item()
        node = None
        if ra or rb:
            parents = ((a._node or a) if ra else None, (b._node or b) if rb else None)
            if self.nondiff_args:
                parents = tuple(None if i in self.nondiff_args else p
                                for i, p in enumerate(parents))
            vcs = versions = None
            if self.saves_args:  # _saved_versions for two arguments, inlined
                guard_a = xa is not a  # a is a Tensor, whose values the rule may read
                guard_b = xb is not b
                reads = self.reads
                if reads is not None:
                    needs_a = parents[0] is not None
                    needs_b = parents[1] is not None
                    guard_a = guard_a and (needs_a and 0 in reads[0] or needs_b and 0 in reads[1])
                    guard_b = guard_b and (needs_a and 1 in reads[0] or needs_b and 1 in reads[1])
                if guard_a:
                    vca = a._vcl
                    if vca is None:
                        vca = a._vcl = new_counter()
                if guard_b:
                    vcb = b._vcl
                    if vcb is None:
                        vcb = b._vcl = new_counter()
                    if guard_a:
                        vcs = (vca, vcb)
                        versions = (vca.version, vcb.version)
                    else:
                        vcs = (vcb,)
                        versions = (vcb.version,)
                elif guard_a:
                    vcs = (vca,)
                    versions = (vca.version,)
            node = new_node(self, parents, None, (xa, xb), params or _EMPTY, vcs, versions)
        try:
            out = self.forward(xa, xb, **params) if params else self.forward(xa, xb)
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            raise _forward_error(self, (xa, xb), exc) from None
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = _new(Tensor)  # tensor_core.make inlined, as in _apply1
        t.data = out
        t._grad = None
        t.name = None
        t._tangent = None
        t._vcl = None
        if node is None:
            t._node = None
            t._requires_grad = False
        else:
            node.out = out
            t._node = node
            t._requires_grad = True
        return t


def _holds_tensor(obj) -> bool:
    if isinstance(obj, Tensor):
        return True
    return type(obj) in _SEQUENCES and any(_holds_tensor(o) for o in obj)


def as_operand(x):
    """``x`` as one array operand: a (nested) list or tuple that holds Tensors is stacked
    into one Tensor, differentiably (``np.sum([a, b])`` reads the list as the array
    ``[a, b]``; an ``np.asarray`` of it would drop the graph). Anything else as it is."""
    if type(x) in _SEQUENCES and _holds_tensor(x):
        return recorded().stack([as_operand(o) for o in x])
    return x


def _operands(args: tuple) -> tuple:
    """``(args, values, parents)``: the values the forward sees (a Tensor's array, a
    constant as it is) and, per argument, what its gradient flows to (its node, itself for
    a leaf that requires grad, else None); ``parents`` is None when none requires grad.
    A NumPy scalar beside a Tensor becomes a Python number (weak, see ``_apply2``)."""
    vals = []
    parents = []
    needs_grad = False
    has_tensor = False
    numpy_scalar = False
    for a in args:
        if isinstance(a, Tensor):
            has_tensor = True
            vals.append(a.data)
            if a._requires_grad:
                needs_grad = True
                parents.append(a._node or a)
            else:
                parents.append(None)
        else:
            if isinstance(a, np.generic):
                numpy_scalar = True
            vals.append(a)
            parents.append(None)
    if numpy_scalar and has_tensor:
        args = tuple(a.item() if isinstance(a, np.generic) else a for a in args)
        vals = [a.item() if isinstance(a, np.generic) else a for a in vals]
    return args, tuple(vals), parents if needs_grad else None


def _saved_versions(prim: Primitive, args: tuple, parents: list) -> tuple:
    """The version counters of the Tensor arguments whose values the rule will read (for
    the arguments that get a gradient, ``prim.reads``), and their versions now; ``(None,
    None)`` when it reads none. Counters are created here, on a tensor's first save."""
    if not prim.saves_args:
        return None, None
    reads = prim.reads
    if reads is not None:
        read = set().union(*(reads[i] for i, p in enumerate(parents) if p is not None))
    vcs = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and (reads is None or i in read):
            vc = a._vcl
            if vc is None:
                vc = a._vcl = new_counter()
            vcs.append(vc)
    if not vcs:
        return None, None
    # Tuples of counters and numbers: Python's garbage collector need not track them.
    return tuple(vcs), tuple(vc.version for vc in vcs)


def _share_if_view(a: Tensor, out: Tensor, recording: bool) -> None:
    """When the forward of a view primitive (reshape, transpose, broadcast_to) returned a
    NumPy view of ``a``'s memory, ``out`` shares ``a``'s version counter, as in PyTorch: an
    in-place change through either makes a backward that saved the other raise (see
    :class:`~chainrule.autodiff.versions.VersionCounter`)."""
    x = a.data
    base = out.data.base
    if base is None or not (base is x or base is x.base):
        return
    vc = a._vc
    out._vcl = vc
    guard_saved_output(a)
    vc.share(a, out, recording and a._node is None and a._requires_grad)


def _as_function(prim: Primitive) -> Callable:
    """``prim`` as a plain Python function: the form the public names (``cr.sin``) take.

    Python calls a function for about 0.1 µs less than an object's ``__call__``, a tenth of
    chainrule's whole bookkeeping per op; the primitive stays reachable as ``.primitive``.
    """
    apply1 = prim._apply1
    apply2 = prim._apply2
    apply = prim._apply

    def function(*args, **params):
        n = len(args)
        if n == 1 and isinstance(args[0], Tensor):
            return apply1(args[0], params)
        if n == 2 and type(args[0]) not in _SEQUENCES and type(args[1]) not in _SEQUENCES:
            return apply2(args[0], args[1], params)
        return apply(args, params)  # lists of Tensors are stacked there

    function.__name__ = function.__qualname__ = prim.name
    function.__doc__ = prim.doc
    function.__module__ = "chainrule"
    function.primitive = prim
    return function


def _describe(v) -> str:
    if isinstance(v, np.ndarray):
        return f"{v.shape} {v.dtype}"
    return type(v).__name__


def _forward_error(prim: Primitive, vals, exc: Exception) -> Exception:
    """The forward's own error, prefixed with the op's name and its inputs' shapes."""
    shapes = ", ".join(_describe(v) for v in vals)
    message = f"{prim.name}: {exc} (inputs: {shapes})"
    if isinstance(exc, TypeError) and "keyword argument 'dim'" in str(exc):
        # PyTorch's habit: every NumPy-named function says it (see chainrule.habits).
        message = str(dim_error(prim.name))
    try:
        return type(exc)(message)
    except TypeError:  # an exception class with a different constructor (NumPy's own)
        for base in (ValueError, IndexError, TypeError):
            if isinstance(exc, base):
                return base(message)
        return ValueError(message)


def call(prim: Primitive, *args, **params):
    """Apply ``prim`` inside a rule: straight NumPy on raw arrays, recorded when an argument
    is a Tensor (a recorded sweep, forward mode)."""
    for a in args:
        if isinstance(a, Tensor):
            return prim(*args, **params)
    return prim.forward(*args, **params)


# ----- the VJP rule applied ------------------------------------------------------------------
# The sweeps inline it for their commonest cases (backward.step, backward._sweep_arrays);
# everything else that applies a VJP rule (the graph pictures, the tests) calls it. Forward
# mode applies JVP rules in chainrule.autodiff.forward.push_forward.


def pull_back(prim: Primitive, g, ans, args, params, needs) -> Sequence:
    """The VJP: ``dL/d(arg_i)`` for each argument with ``needs[i]`` (None elsewhere; an entry
    where ``needs[i]`` is false may also hold a value, to be ignored), from ``g = dL/d(ans)``.

    Per-argument rules run for the wanted arguments only; one rule for all returns every
    cotangent (a single value for a one-argument primitive)."""
    vjp = prim.vjp
    if type(vjp) is tuple:
        return [rule(g, ans, *args, **params) if need else None
                for rule, need in zip(vjp, needs)]
    if vjp is None:
        raise missing_rule(prim, "vjp")
    out = vjp(g, ans, *args, **params)
    if len(args) == 1 and type(out) is not tuple and type(out) is not list:
        return (out,)
    if out is None or len(out) != len(args):
        raise RuntimeError(
            f"the VJP rule of {prim.name} returned "
            f"{'None' if out is None else len(out)} cotangents for {len(args)} arguments"
        )
    return out
