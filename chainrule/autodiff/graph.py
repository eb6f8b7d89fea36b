"""The recorded graph: nodes, the per-thread differentiation mode, and topological order.

A :class:`Node` is one application of a primitive that needs a gradient. It points to its
*parents*, never to the Tensor it produced, so the graph has no reference cycles and is
released as soon as the last Tensor that reaches it is gone (Python's garbage collector
never has to run). Edges point to nodes rather than to Tensor objects so that an in-place
change of a Tensor, which gives that Tensor a new node, does not rewire what was recorded
before it (the old node stays where it was, as in PyTorch).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import threading


class _State(threading.local):
    """Per-thread mode: is reverse-mode recording on, and which forward-mode levels are live.

    Every primitive call needs the mode, and reading a thread-local attribute costs about
    as much as the rest of the bookkeeping of a small op. So the mode's setters also keep a
    process-wide flag, ``DEFAULT_MODE[0]``: True while *no* thread has left the default mode
    (recording on, no forward-mode levels). The hot paths read the flag and read this
    object only when it is False. (A thread that ends outside the default mode leaves the
    flag False: later calls are then slower, never wrong.)
    """

    def __init__(self) -> None:
        self._grad_enabled = True
        # Active forward-mode (JVP) levels, innermost last. A level is an integer tag, so a
        # tangent of one `jvp` never mixes with the tangent of a nested one.
        self._jvp_levels: tuple[int, ...] = ()
        self.next_level = 0
        # Depth of transforms (grad, jvp, explain, ...) calling a user function: inside one,
        # float(t) on a differentiated Tensor would silently drop its derivative.
        self.tracing = 0
        # The cr.compile tracer listening to this thread's primitive calls, or None. Being
        # traced takes the thread off the default mode, so eager code never reads it.
        self._compile_tracer = None
        # The tracer again when it is all that differs from the default mode (recording
        # on, no forward-mode levels), else None: the one attribute the fast paths of
        # Primitive read off the default mode, to record as they do and report the op.
        self.plain_tracer = None

    def _is_default(self) -> bool:
        return self._grad_enabled and not self._jvp_levels and self._compile_tracer is None

    def _set(self, name: str, value) -> None:
        was_default = self._is_default()
        setattr(self, name, value)
        plain = self._grad_enabled and not self._jvp_levels
        self.plain_tracer = self._compile_tracer if plain else None
        _mode_changed(was_default, self._is_default())

    @property
    def grad_enabled(self) -> bool:
        return self._grad_enabled

    @grad_enabled.setter
    def grad_enabled(self, enabled: bool) -> None:
        self._set("_grad_enabled", bool(enabled))

    @property
    def jvp_levels(self) -> tuple[int, ...]:
        return self._jvp_levels

    @jvp_levels.setter
    def jvp_levels(self, levels: tuple[int, ...]) -> None:
        self._set("_jvp_levels", levels)

    @property
    def compile_tracer(self):
        return self._compile_tracer

    @compile_tracer.setter
    def compile_tracer(self, tracer) -> None:
        self._set("_compile_tracer", tracer)


# True while every thread records with no forward-mode levels (see _State).
DEFAULT_MODE = [True]
_threads_off_default = [0]
_mode_lock = threading.Lock()


def _mode_changed(was_default: bool, now_default: bool) -> None:
    if was_default == now_default:
        return
    with _mode_lock:
        _threads_off_default[0] += -1 if now_default else 1
        DEFAULT_MODE[0] = _threads_off_default[0] == 0


STATE = _State()


_next_seq = itertools.count().__next__

# The creation number (`seq`) drawn by the newest in-place change of any tensor. A node
# draws its own number, and reads the versions of the values it saves, before its forward
# reads them; so a node numbered after the newest change saw every change there has been,
# and the reverse sweep may skip its version check (in-place changes are rare, nodes are
# many). The lock keeps the number from going back when two threads change tensors at once.
LAST_INPLACE = [-1]
_inplace_lock = threading.Lock()


def note_inplace_change() -> None:
    """Called by every version bump (``VersionCounter.bump``), after the bump."""
    with _inplace_lock:
        LAST_INPLACE[0] = _next_seq()


class Node:
    """One recorded primitive application (created by :func:`new_node`).

    parents:   for each positional argument, the Node that produced it, the leaf Tensor
               that requires grad (gradients accumulate into its ``.grad``), or None.
    inputs:    the arguments as given (Tensors or constants), kept only when forward-mode
               tangents were live: a backward pass over tangents (forward-over-reverse)
               needs them. Otherwise None, so intermediate Tensors are freed at once (the
               graph holds arrays and nodes only).
    args:      the argument values as the forward saw them (arrays or constants);
               None once the node has been freed by a backward pass.
    out_tangent: forward-mode tangents of the output, when a ``jvp`` was active.
    name:      the name given to the output with ``cr.named`` (for explanations).
    params:    keyword parameters of the primitive (axis, shape, ...), never differentiated.
    out:       the output array (the ``ans`` of the rules).
    vcs, versions: the version counters of the Tensor arguments and their values when the
               primitive ran (None when its rule does not read its arguments); an in-place
               change since then makes backward raise.
               (An in-place change of the output tensor itself hands the node a snapshot
               of the old values, see ``Tensor._inplace``; one made through a view or a
               ``detach()`` of it is caught by ``out_guards``, see guard_saved_output.)
    """

    __slots__ = (
        "prim",
        "parents",
        "inputs",
        "args",
        "params",
        "out",
        "vcs",
        "versions",
        "seq",
        "__dict__",
        "__weakref__",
    )

    # Rarely set, so they live in the instance dict (created only when one is set) and
    # default to these class attributes: a node costs three fewer stores to create.
    retained = None  # weak reference to the output Tensor, after ``retain_grad()``
    out_tangent = None
    name = None
    # Set when the output this node saved can be changed in place through another tensor
    # (a ``detach()`` or a view shares its memory): [version counter, version seen] pairs,
    # see guard_saved_output.
    out_guards = None

    def __repr__(self) -> str:
        shape = None if self.out is None else self.out.shape
        return f"<Node {self.prim.name} -> {shape}>"


_new = object.__new__


def new_node(prim, parents, inputs, args, params, vcs, versions) -> Node:
    """A Node for one primitive application (the fields are described on :class:`Node`);
    ``out`` is set by the caller once the forward has run.

    A plain function rather than ``Node.__init__``: calling a class costs more than calling
    a function, and this runs once per recorded operation.
    """
    node = _new(Node)
    node.prim = prim
    node.parents = parents
    node.inputs = inputs
    node.args = args
    node.params = params
    node.out = None
    node.vcs = vcs
    node.versions = versions
    # Creation order: a node's parents always have smaller numbers, so decreasing `seq` is
    # a topological order for the reverse sweep.
    node.seq = _next_seq()
    return node


def guard_saved_output(t) -> None:
    """Make backward check the output that ``t``'s node saved, once another tensor shares
    ``t``'s memory (``t.detach()``, a view): an in-place change through that tensor cannot
    give the node a snapshot, as a change of ``t`` itself does, so it must make backward
    raise instead (PyTorch does the same)."""
    node = t._node
    if node is not None and node.prim.saves_ans and node.out is t.data:
        vc = t._vc
        guards = node.out_guards
        if guards is None:
            node.out_guards = [[vc, vc.version]]
        elif all(guard[0] is not vc for guard in guards):
            guards.append([vc, vc.version])


FREED_MESSAGE = (
    "backward: trying to backward through the graph a second time (or to read values a "
    "backward pass already freed). Pass retain_graph=True to the first backward() if you "
    "need to backward through the same graph again."
)


def topological_order(roots: list[Node]) -> list[Node]:
    """Nodes reachable from ``roots``, each after all of its parents (post-order).

    Iterative depth-first search: a chain of a million nodes needs no recursion.
    """
    order: list[Node] = []
    visited: set[int] = set()
    stack = [(node, False) for node in roots]
    push = stack.append
    pop = stack.pop
    while stack:
        node, finished = pop()
        if finished:
            order.append(node)
            continue
        key = id(node)
        if key in visited:
            continue
        visited.add(key)
        if node.args is None:
            raise RuntimeError(FREED_MESSAGE)
        push((node, True))
        for parent in node.parents:
            if type(parent) is Node and id(parent) not in visited:
                push((parent, False))
    return order


def newest_first(heap: list):
    """Pop the nodes of ``heap`` (entries ``(-node.seq, node)``) newest first: decreasing
    creation number, a reverse topological order, as parents are always created before
    their children. A sweep pushes each node that first receives a cotangent meanwhile."""
    pop = heapq.heappop
    while heap:
        yield pop(heap)[1]


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets reverse-mode recording for this thread."""

    enabled = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        # ``@cr.no_grad`` without parentheses decorates too, as ``@torch.no_grad``.
        if not callable(func):
            raise TypeError(f"{cls.__name__}() takes no arguments (or decorates a function), "
                            f"got {type(func).__name__}")
        return self(func)

    def __enter__(self):
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._previous
        return False

    def __call__(self, func):
        # A fresh instance per call keeps the saved mode per invocation (re-entrant, threads).
        cls = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with cls():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording in this thread: ``with cr.no_grad(): ...`` or ``@cr.no_grad()``.

    Results computed inside do not require grad, and in-place updates of leaves that
    require grad (optimizer steps) are allowed.
    """

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` region (context manager or decorator)."""

    enabled = True


class tracing:
    """Marks a user function being run by a transform (``with tracing(): f(x)``)."""

    def __enter__(self):
        STATE.tracing += 1
        return self

    def __exit__(self, *exc):
        STATE.tracing -= 1
        return False


def is_grad_enabled() -> bool:
    """Whether operations in this thread are recorded for reverse mode."""
    return STATE.grad_enabled


class set_grad_enabled:
    """Turn recording on or off for this thread, as ``torch.set_grad_enabled``: at once when
    called (``cr.set_grad_enabled(False)``), for a block (``with cr.set_grad_enabled(m):``,
    the mode before it restored after), or for a function (``@cr.set_grad_enabled(m)``)."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._previous
        return False

    def __call__(self, func):
        STATE.grad_enabled = self._previous  # decorating must not change the mode now
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            previous = STATE.grad_enabled
            STATE.grad_enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                STATE.grad_enabled = previous

        return wrapper
