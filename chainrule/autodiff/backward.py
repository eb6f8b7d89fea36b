"""The reverse sweep: cotangents flow from the outputs back to the inputs.

For every node, in reverse topological order, the engine takes the node's cotangent
``g = dL/d(out)`` (the sum of what all its consumers sent), asks the primitive's VJP rule
for ``dL/d(arg_i)``, sums each back to the argument's shape (broadcasting), casts it to the
argument's dtype and adds it to the parent's cotangent. This is the chain rule,
``dL/dx = sum over consumers of dL/d(out) * d(out)/dx``, applied once per edge.

Two namespaces: plain NumPy on raw arrays (fast), or chainrule itself on Tensors when the
backward pass must be differentiable (``create_graph=True``), carries forward-mode
tangents (forward-over-reverse, e.g. Hessian-vector products), or is watched by
``cr.compile``'s tracer, which must see every operation of the rules.

Here: the entry points (``backward``, ``grad``), the plain sweep on arrays and the general
one. What happens at one node is in :mod:`chainrule.autodiff.link`; the sweep that a
``cr.compile`` trace records, in :mod:`chainrule.autodiff.traced_sweep`.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff.graph import (
    LAST_INPLACE,
    STATE,
    Node,
    enable_grad,
    newest_first,
    no_grad,
)
from chainrule.autodiff.graph import topological_order as _toposort
from chainrule.autodiff.link import (  # noqa: F401 (sum_to_shape, step: re-exported)
    DETACHED,
    accumulate,
    accumulate_grad,
    free,
    step,
    sum_to_shape,
    wanted,
)
from chainrule.autodiff.primitive import pull_back
from chainrule.autodiff.refcount import unshared
from chainrule.autodiff.tensor_core import Tensor, make
from chainrule.autodiff.traced_sweep import sweep_traced

Listener = Callable[[Node, object, Sequence], None]

_unchanged = contextlib.nullcontext()


def _seed(root: Tensor, gradient, tensor_mode: bool):
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the gradient can be implied only for a single-element output, but "
                f"this one has shape {root.shape}. Pass gradient= with that shape (e.g. "
                "y.backward(cr.ones_like(y))) or reduce it first (y.sum().backward())."
            )
        g = np.ones_like(root.data)
        return make(g) if tensor_mode else g
    if isinstance(gradient, Tensor):
        garr = gradient.data
    else:
        garr = np.asarray(gradient, dtype=root.data.dtype)
    if garr.shape != root.shape:
        raise RuntimeError(
            f"backward: gradient has shape {garr.shape} but the output has shape {root.shape}; "
            "they must match"
        )
    if garr.dtype != root.data.dtype:
        garr = garr.astype(root.data.dtype)
    if tensor_mode:
        if (isinstance(gradient, Tensor) and gradient.data.dtype == root.data.dtype
                and tensor_mode is not DETACHED):  # (a detached sweep joins no graph)
            return gradient
        return make(garr)
    return garr


def _check_roots(roots: Sequence) -> None:
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"backward: expected Tensors as outputs, got {type(r).__name__}")
        if not r.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph. Create the "
                "inputs with requires_grad=True, and do not compute it under cr.no_grad()."
            )


def run(
    roots: Sequence[Tensor],
    grads: Sequence,
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
    listener: Listener | None = None,
):
    """Run the reverse sweep from ``roots`` seeded with ``grads``.

    Without ``inputs``, gradients accumulate into the ``.grad`` of leaves (and of non-leaves
    that called ``retain_grad``) and None is returned. With ``inputs``, nothing is
    accumulated; the gradient with respect to each input is returned (None where the
    outputs do not depend on it), as arrays, or as Tensors in a recorded sweep.

    The plain case (arrays, into ``.grad``, no listener) runs :func:`_sweep_arrays`;
    ``backward()`` inside a ``cr.compile`` trace runs
    :func:`~chainrule.autodiff.traced_sweep.sweep_traced`; the others :func:`_sweep`.
    All apply :func:`~chainrule.autodiff.link.step` at each node (the first two write out
    its common cases).
    """
    if retain_graph is None:
        retain_graph = create_graph
    tracer = STATE.compile_tracer
    tensor_mode = bool(create_graph or STATE.jvp_levels or tracer is not None)
    if tracer is not None and not create_graph and STATE.plain_tracer is not None:
        tensor_mode = DETACHED  # traced; nothing to differentiate again
    if tracer is not None:
        # cr.compile records the sweep as the primitive calls of the rules (on Tensors), and
        # each node's share of them (the listener) for the chain-rule comments.
        listener = tracer.backward_listener(listener)
    _check_roots(roots)
    cot: dict = {}  # Node or leaf Tensor -> cotangent
    owned: set[int] = set()  # ids of cotangent arrays this sweep allocated (safe to add into)
    root_nodes = []
    for r, g in zip(roots, grads):
        key = r if r._node is None else r._node
        accumulate(cot, owned, key, _seed(r, g, tensor_mode), tensor_mode)
        if r._node is not None:
            root_nodes.append(r._node)
    if not tensor_mode and inputs is None and listener is None:
        _sweep_arrays(root_nodes, cot, owned, retain_graph)
        while cot:
            leaf, g = cot.popitem()
            if type(leaf) is not Node:
                # An array that nothing else holds can become the leaf's .grad as it is.
                # (A statement of its own: g must not be on this frame's stack, see refcount.)
                exclusive = id(g) in owned or unshared(g)
                accumulate_grad(leaf, g, False, owned_array=exclusive)
        return None

    if tensor_mode is DETACHED and inputs is None:
        # (grad mode stays on, as below: its Tensors join no graph)
        sweep_traced(root_nodes, cot, retain_graph, listener)
    else:
        order = targets = None
        if inputs is not None:
            order = _toposort(root_nodes)
            targets = _targets(inputs, order)
        # DETACHED keeps grad mode on: its Tensors join no graph, and ops stay on the fast
        # path.
        mode = (enable_grad() if create_graph else _unchanged if tensor_mode is DETACHED
                else no_grad())
        with mode:
            results = _sweep(root_nodes, order, cot, owned, targets, tensor_mode,
                             retain_graph, listener)
        if targets is not None:
            # Leaves (and roots that are leaves) collect what reached them.
            for key, g in cot.items():
                if key in targets:
                    results[key] = g
            out = [None] * len(inputs)
            for key, positions in targets.items():
                for i in positions:
                    out[i] = results.get(key)
            return out
    for leaf, g in cot.items():
        if type(leaf) is not Node:
            accumulate_grad(leaf, g, tensor_mode, owned_array=id(g) in owned)
    return None


class _Targets(dict):
    """Node or leaf -> the positions in ``inputs`` it answers for; ``useful``: the nodes
    that lead to one of them (only those are swept)."""

    useful: set


def _targets(inputs: Sequence, order: list[Node]) -> _Targets:
    targets = _Targets()
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        targets.setdefault(t if t._node is None else t._node, []).append(i)
    useful = targets.useful = set()
    for node in order:  # parents come first, so one pass decides what leads to a target
        if node in targets or any(
            p is not None and (p in useful or p in targets) for p in node.parents
        ):
            useful.add(node)
    return targets


def _sweep(roots, order, cot, owned, targets, tensor_mode, retain_graph, listener) -> dict:
    """The general reverse sweep: recorded (Tensors), toward given ``targets`` only, or
    reporting each step to ``listener``. Returns the cotangents that reached the target
    nodes (empty without targets). Nodes come from ``order`` (parents first) reversed when
    given (needed to know which nodes lead to the targets); otherwise as in
    :func:`_sweep_arrays`, newest first from a heap that holds the nodes with a cotangent,
    so the graph is walked once."""
    results = {}
    heap = None
    if order is None:
        heap = [(-node.seq, node) for node in dict.fromkeys(roots)]
        heapq.heapify(heap)
    for node in (reversed(order) if heap is None else newest_first(heap)):
        g = cot.pop(node, None)
        if g is None:
            continue
        owned.discard(id(g))
        parents = node.parents
        if targets is not None:
            if node in targets:
                results[node] = g
            useful = targets.useful
            if node not in useful:
                continue
            needs = [p is not None and (p in useful or p in targets) for p in parents]
        else:
            needs = wanted(parents)
            if node.retained is not None:
                t = node.retained()
                if t is not None:
                    accumulate_grad(t, g, tensor_mode, owned_array=False)
        contributions = step(node, g, needs, tensor_mode)
        for parent, gi, need in zip(parents, contributions, needs):
            if need and gi is not None:
                if heap is not None and type(parent) is Node and parent not in cot:
                    heapq.heappush(heap, (-parent.seq, parent))
                accumulate(cot, owned, parent, gi, tensor_mode)
        if listener is not None:
            listener(node, g, contributions)
        if not retain_graph:
            free(node)
    return results


def _sweep_arrays(roots: list[Node], cot: dict, owned: set, retain_graph: bool) -> None:
    """The plain backward pass on NumPy arrays: the common case, kept lean.

    Nodes are visited in decreasing creation order (a topological order: parents are
    always created before their children). A node is queued (heap and ``cot``) when it
    first receives a cotangent, so the graph is walked once.

    Along a chain the heap and the dict are skipped: when a node's first new parent node
    arrives while nothing else is queued, no node yet to run can send to that parent
    (every one of them is queued, or reached through a queued one, and all of those are
    older), so its cotangent is *carried* in a local variable to the next iteration. Only
    the node's own other arguments still can: the same parent again adds to what is
    carried, and once another parent is queued the carried one joins the queue too.
    Every line here runs once per node (W2 of benchmarks/ times it), so the loop avoids
    ``zip`` over the arguments (indexing is cheaper) and loops for one-argument nodes, and
    the common case of ``step`` (nothing to check) is written out here rather than called:
    measured on W2, the call and its second loop over the arguments cost 7% (367.6 against
    343.1 bytecodes per op). That is why its cyclomatic complexity (44) is above the
    project's limit of 25; ``step`` remains the one definition of a link, and
    tests/test_recording.py requires both sweeps to give the same gradients to the bit.
    """
    heap = [(-node.seq, node) for node in dict.fromkeys(roots)]
    heapq.heapify(heap)
    pop = cot.pop
    heappush = heapq.heappush
    heappop = heapq.heappop
    last_inplace = LAST_INPLACE  # (newer nodes need no version check, see step)
    node = heappop(heap)[1] if heap else None
    carried = None  # the cotangent of `node`, when it came along the chain
    while node is not None:
        if carried is None:
            g = pop(node)
            if owned:
                owned.discard(id(g))
        else:
            g = carried
        if node.retained is not None:
            t = node.retained()
            if t is not None:
                accumulate_grad(t, g, False, owned_array=False)
        parents = node.parents
        following = None  # the next node along the chain, if any
        carried = None
        if len(parents) == 1:  # most nodes: no loop over arguments
            derivative = node.prim.derivative
            args = node.args
            if derivative is not None and args is not None and node.seq > last_inplace[0]:
                # step() inlined for its commonest case, a one-argument elementwise node
                # with nothing to check: the call costs about 5% of W2 (benchmarks/);
                # tests/test_recording.py requires the same gradients as from step().
                x = args[0]
                gi = g * derivative(node.out if node.prim.derivative_of_ans else x)
                if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                    gi = gi.astype(x.dtype)
            else:
                gi = step(node, g)[0]
            parent = parents[0]
            if gi is None:
                pass
            elif not heap and type(parent) is Node:
                following = parent  # nothing is queued, so it holds no cotangent yet
                carried = gi
            else:
                if type(parent) is Node and parent not in cot:
                    heappush(heap, (-parent.seq, parent))
                accumulate(cot, owned, parent, gi, False)
        else:
            args = node.args
            fix_up = args is not None and node.seq > last_inplace[0]
            if fix_up:
                # step() inlined for nodes of several arguments with nothing to check: its
                # shape and dtype fix-ups join this loop over the parents instead of a loop
                # of their own; the call and the second loop cost about 7% of W2
                # (benchmarks/). tests/test_recording.py requires the same gradients as
                # from step().
                vjp = node.prim.vjp
                if type(vjp) is tuple and len(parents) == 2 and not node.params:
                    # pull_back() inlined for two arguments with one rule each (x * y,
                    # x + 1.0): only the wanted ones run
                    out = node.out
                    a, b = args
                    contributions = (
                        vjp[0](g, out, a, b) if parents[0] is not None else None,
                        vjp[1](g, out, a, b) if parents[1] is not None else None,
                    )
                else:
                    contributions = pull_back(node.prim, g, node.out, args, node.params,
                                              wanted(parents))
            else:
                contributions = step(node, g)
            i = -1
            for parent in parents:
                i += 1
                gi = contributions[i]
                if gi is None or parent is None:
                    continue
                if fix_up:
                    x = args[i]
                    if gi.shape != x.shape:
                        gi = sum_to_shape(gi, x.shape, np)
                    if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                        gi = gi.astype(x.dtype)
                if parent is following:  # the same node twice (y * y)
                    carried = carried + gi
                elif following is None and not heap and type(parent) is Node:
                    following = parent
                    carried = gi
                else:
                    if type(parent) is Node and parent not in cot:
                        heappush(heap, (-parent.seq, parent))
                    accumulate(cot, owned, parent, gi, False)
        if not retain_graph:
            node.args = None
            node.inputs = None
            node.out = None
        if following is None:
            node = heappop(heap)[1] if heap else None
        elif heap:  # another parent was queued after it: the heap orders them
            cot[following] = carried
            carried = None
            heappush(heap, (-following.seq, following))
            node = heappop(heap)[1]
        else:
            node = following


def backward(roots, grads, *, retain_graph=None, create_graph=False) -> None:
    """``Tensor.backward`` for several outputs at once (as ``torch.autograd.backward``)."""
    run(list(roots), list(grads), retain_graph=retain_graph, create_graph=create_graph)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = True,
) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    As ``torch.autograd.grad``: ``grad_outputs`` are the cotangents of the outputs (None for a
    single-element output); entries are Tensors, or None for an input the outputs do not
    depend on (an error unless ``allow_unused``).
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad")
    results = run(outputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                  inputs=inputs)
    out = []
    for i, g in enumerate(results):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{i}] was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            out.append(None)
        else:
            out.append(g if isinstance(g, Tensor) else make(np.array(g)))
    return tuple(out)

