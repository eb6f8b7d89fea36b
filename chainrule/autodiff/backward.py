"""The reverse sweep: cotangents flow from the outputs back to the inputs.

For every node, in reverse topological order, the engine takes the node's cotangent
``g = dL/d(out)`` (the sum of what all its consumers sent), asks the primitive's VJP rule
for ``dL/d(arg_i)``, sums each back to the argument's shape (broadcasting), casts it to the
argument's dtype and adds it to the parent's cotangent. This is the chain rule,
``dL/dx = sum over consumers of dL/d(out) * d(out)/dx``, applied once per edge.

Two namespaces: plain NumPy on raw arrays (fast), or chainrule itself on Tensors when the
backward pass must be differentiable (``create_graph=True``) or carries forward-mode
tangents (forward-over-reverse, e.g. Hessian-vector products).
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff.graph import (
    FREED_MESSAGE,
    LAST_INPLACE,
    STATE,
    Node,
    enable_grad,
    no_grad,
)
from chainrule.autodiff.graph import topological_order as _toposort
from chainrule.autodiff.primitive import missing_rule
from chainrule.tensor import Tensor, make

Listener = Callable[[Node, object, Sequence], None]


def sum_to_shape(g, shape: tuple, xp):
    """Sum a cotangent over the axes that broadcasting expanded, giving ``shape``.

    If ``y = broadcast(x)`` then ``dL/dx = sum of dL/dy over the broadcast axes``.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    nlead = len(gshape) - len(shape)
    if nlead >= 0:
        axes = tuple(range(nlead)) + tuple(
            nlead + i for i, s in enumerate(shape) if s == 1 and gshape[nlead + i] != 1
        )
        if axes:
            g = xp.sum(g, axis=axes, keepdims=False)
    if g.shape != shape:
        if int(np.prod(g.shape)) == int(np.prod(shape)):
            g = xp.reshape(g, shape)
        else:
            g = xp.broadcast_to(g, shape)
    return g


def _check_versions(node: Node) -> None:
    """Raise if a value the rule reads (a Tensor argument, or the output where another
    tensor shares it) was changed in place after recording."""
    if node.versions is not None:
        for vc, seen in zip(node.vcs, node.versions):
            if vc[0] != seen:
                raise RuntimeError(_version_message(node.prim.name, "an input", vc, seen))
    for vc, seen in node.out_guards or ():
        if vc[0] != seen:
            raise RuntimeError(_version_message(node.prim.name, "the output", vc, seen))


def _rule_inputs(node: Node) -> tuple:
    """The arguments as Tensors for a recorded backward pass.

    Kept as given when forward-mode tangents were live; otherwise rebuilt from the saved
    arrays: an argument produced by a node becomes a Tensor of that node (so the recorded
    backward connects to the same graph), a leaf is itself, a constant stays constant.
    """
    if node.inputs is not None:
        return node.inputs
    out = []
    for p, a in zip(node.parents, node.args):
        if p is None:
            out.append(make(a) if type(a) is np.ndarray else a)
        elif type(p) is Node:
            out.append(make(a, p))
        else:
            out.append(p)
    return tuple(out)


def _version_message(opname: str, what: str, vc, seen: int) -> str:
    by = f" by {vc[1]}" if vc[1] else ""
    return (
        f"backward through {opname}: {what} of {opname} was changed in place{by} after "
        f"{opname} used it (version {vc[0]}, {opname} saw version {seen}), so its gradient "
        "would be wrong. Change a copy instead (y = x.clone()), or make the in-place change "
        "after backward()."
    )


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
        if isinstance(gradient, Tensor) and gradient.data.dtype == root.data.dtype:
            return gradient
        return make(garr)
    return garr


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
    """
    if retain_graph is None:
        retain_graph = create_graph
    tracer = STATE.compile_tracer
    tensor_mode = bool(create_graph or STATE.jvp_levels or tracer is not None)
    if tracer is not None:
        # cr.compile records the sweep as the primitive calls of the rules (on Tensors), and
        # each node's share of them (the listener) for the chain-rule comments.
        listener = tracer.backward_listener(listener)
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"backward: expected Tensors as outputs, got {type(r).__name__}")
        if not r.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph. Create the "
                "inputs with requires_grad=True, and do not compute it under cr.no_grad()."
            )

    cot: dict = {}  # Node or leaf Tensor -> cotangent
    owned: set[int] = set()  # ids of cotangent arrays this sweep allocated (safe to add into)
    root_nodes = []
    for r, g in zip(roots, grads):
        key = r if r._node is None else r._node
        _accumulate(cot, owned, key, _seed(r, g, tensor_mode), tensor_mode)
        if r._node is not None:
            root_nodes.append(r._node)
    if not tensor_mode and inputs is None and listener is None:
        _sweep_arrays(root_nodes, cot, owned, retain_graph)
        while cot:
            leaf, g = cot.popitem()
            if type(leaf) is not Node:
                # An array that nothing else holds (nor its memory, for a view) can become
                # the leaf's .grad as it is: PyTorch, too, steals an unshared gradient.
                exclusive = id(g) in owned or (
                    type(g) is np.ndarray and sys.getrefcount(g) == _ONLY_LOCAL
                    and (g.base is None or _view_base_refcount(g) == _ONLY_VIEW))
                _accumulate_grad(leaf, g, False, owned_array=exclusive)
        return None

    order = _toposort(root_nodes)
    targets = None
    useful = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
            targets.setdefault(t if t._node is None else t._node, []).append(i)
        useful = set()
        for node in order:  # parents come first, so one pass decides what leads to a target
            if node in targets or any(
                p is not None and (p in useful or p in targets) for p in node.parents
            ):
                useful.add(node)
        results = {}

    mode = enable_grad() if create_graph else no_grad()
    with mode:
        for node in reversed(order):
            g = cot.pop(node, None)
            if g is None:
                continue
            owned.discard(id(g))
            if targets is not None:
                if node in targets:
                    results[node] = g
                if node not in useful:
                    continue
            elif node.retained is not None:
                t = node.retained()
                if t is not None:
                    _accumulate_grad(t, g, tensor_mode, owned_array=False)
            args = node.args
            if args is None:
                raise RuntimeError(FREED_MESSAGE)
            _check_versions(node)
            prim = node.prim
            if prim.vjp is None:
                raise missing_rule(prim, "vjp")
            parents = node.parents
            if useful is None:
                needs = [p is not None for p in parents]
            else:
                needs = [p is not None and (p in useful or p in targets) for p in parents]
            if tensor_mode:
                ans = make(node.out, node)
                ans._tangent = node.out_tangent
                contributions = prim.vjp(g, ans, _rule_inputs(node), needs, _api, node.params)
                xp = _api
            else:
                contributions = prim.vjp(g, node.out, args, needs, np, node.params)
                xp = np
            if contributions is None or len(contributions) != len(parents):
                _bad_rule(prim, contributions, parents)
            for parent, gi, need, x in zip(parents, contributions, needs, args):
                if not need or gi is None:
                    continue
                shape = x.shape
                if gi.shape != shape:
                    gi = sum_to_shape(gi, shape, xp)
                if gi.dtype != x.dtype:
                    gi = gi.astype(x.dtype)
                _accumulate(cot, owned, parent, gi, tensor_mode)
            if listener is not None:
                listener(node, g, contributions)
            if not retain_graph:
                node.args = None
                node.inputs = None
                node.out = None
                if node.out_tangent is not None:
                    node.out_tangent = None

    # Leaves (and roots that are leaves) collect what reached them.
    if targets is not None:
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
            _accumulate_grad(leaf, g, tensor_mode, owned_array=id(g) in owned)
    return None


_ONE_NEEDED = (True,)


def _view_base_refcount(g: np.ndarray) -> int:
    """``sys.getrefcount`` of the ndarray that owns a view's memory; 0 when that memory
    is not an ndarray's own (bytes, a memoryview...: something else may share it)."""
    base = g.base
    if type(base) is not np.ndarray or base.base is not None or not base.flags.owndata:
        return 0
    return sys.getrefcount(base)


def _reference_counts() -> tuple[int, int]:
    """``sys.getrefcount`` of an array held by one local variable only, and (through
    :func:`_view_base_refcount`) of the memory of a view held by that view only, as
    ``run``'s leaf loop sees them on this interpreter (measured, not assumed: the counts
    differ between Python versions)."""
    cot = {0: np.empty(1)}
    _, g = cot.popitem()
    only_local = sys.getrefcount(g)
    cot = {0: np.empty(2)[::2]}
    _, g = cot.popitem()
    return only_local, _view_base_refcount(g)


_ONLY_LOCAL, _ONLY_VIEW = _reference_counts()


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
    Every line here runs once per node, so the loop also avoids ``zip`` over the arguments
    (indexing is cheaper), loops for one-argument nodes, the VJP call of elementwise ones
    (``g · d(x)`` from ``Primitive.derivative``) and version checks that cannot fail.
    """
    pop = cot.pop
    get = cot.get
    heap = [(-node.seq, node) for node in dict.fromkeys(roots)]
    heapq.heapify(heap)
    heappush = heapq.heappush
    heappop = heapq.heappop
    # A node newer than the newest in-place change cannot have had a saved value changed
    # (read at every node: another thread may change a tensor while this one sweeps).
    last_inplace = LAST_INPLACE
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
                _accumulate_grad(t, g, False, owned_array=False)
        args = node.args
        if args is None:
            raise RuntimeError(FREED_MESSAGE)
        if node.seq < last_inplace[0]:
            _check_versions(node)
        prim = node.prim
        parents = node.parents
        following = None  # the next node along the chain, if any
        carried = None
        if len(parents) == 1:
            # One argument (most ops): one parent, no loop over arguments.
            x = args[0]
            derivative = prim.derivative
            if derivative is not None:
                # Elementwise: the VJP is g · d(x), the very expression of its rule, one
                # call less; it has g's shape, which is x's.
                gi = g * derivative(x, node.out, np)
            else:
                try:
                    contributions = prim.vjp(g, node.out, args, _ONE_NEEDED, np, node.params)
                except TypeError:
                    if prim.vjp is None:
                        raise missing_rule(prim, "vjp") from None
                    raise
                if contributions is None or len(contributions) != 1:
                    _bad_rule(prim, contributions, parents)
                gi = contributions[0]
                if gi is not None and gi.shape != x.shape:
                    gi = sum_to_shape(gi, x.shape, np)
            parent = parents[0]
            if gi is not None and parent is not None:
                if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                    gi = gi.astype(x.dtype)
                if not heap and type(parent) is Node:
                    following = parent  # nothing is queued, so it holds no cotangent yet
                    carried = gi
                else:
                    if type(parent) is Node and parent not in cot:
                        heappush(heap, (-parent.seq, parent))
                    _accumulate(cot, owned, parent, gi, False)
        else:
            n = len(parents)
            if n == 2:
                needs = (parents[0] is not None, parents[1] is not None)
            else:
                needs = [p is not None for p in parents]
            try:
                contributions = prim.vjp(g, node.out, args, needs, np, node.params)
            except TypeError:
                # Checked only on failure, so the hot loop pays nothing for it.
                if prim.vjp is None:
                    raise missing_rule(prim, "vjp") from None
                raise
            if contributions is None or len(contributions) != n:
                _bad_rule(prim, contributions, parents)
            i = -1
            for parent in parents:
                i += 1
                if parent is None:
                    continue
                gi = contributions[i]
                if gi is None:
                    continue
                x = args[i]
                if gi.shape != x.shape:
                    gi = sum_to_shape(gi, x.shape, np)
                if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                    gi = gi.astype(x.dtype)
                if parent is following:  # the same node twice (y * y)
                    carried = carried + gi
                    continue
                if following is None and not heap and type(parent) is Node:
                    following = parent  # nothing is queued, so it holds no cotangent yet
                    carried = gi
                    continue
                prev = get(parent)  # _accumulate, inlined, plus queueing the parent
                if prev is None:
                    cot[parent] = gi
                    if type(parent) is Node:
                        heappush(heap, (-parent.seq, parent))
                elif id(prev) in owned and type(prev) is np.ndarray and prev.shape == gi.shape:
                    np.add(prev, gi, out=prev)
                else:
                    total = prev + gi
                    owned.discard(id(prev))
                    owned.add(id(total))
                    cot[parent] = total
        if not retain_graph:
            node.args = None
            node.inputs = None
            node.out = None
        if following is not None:
            if heap:  # another parent was queued after it: the heap orders them
                cot[following] = carried
                carried = None
                heappush(heap, (-following.seq, following))
                node = heappop(heap)[1]
            else:
                node = following
        else:
            node = heappop(heap)[1] if heap else None


def _bad_rule(prim, contributions, parents):
    raise RuntimeError(
        f"the VJP rule of {prim.name} returned "
        f"{'None' if contributions is None else len(contributions)} cotangents "
        f"for {len(parents)} arguments"
    )


def _accumulate(cot: dict, owned: set, key, g, tensor_mode: bool) -> None:
    prev = cot.get(key)
    if prev is None:
        cot[key] = g
    elif tensor_mode:
        cot[key] = prev + g
    elif id(prev) in owned and type(prev) is np.ndarray and prev.shape == g.shape:
        np.add(prev, g, out=prev)
    else:
        total = prev + g
        owned.discard(id(prev))
        owned.add(id(total))
        cot[key] = total


def _accumulate_grad(t: Tensor, g, tensor_mode: bool, owned_array: bool) -> None:
    """Add ``g`` into ``t.grad`` as PyTorch does: a fresh buffer first, in place after."""
    if tensor_mode:
        if not isinstance(g, Tensor):
            g = make(g)
        if t._grad is not None:
            t._grad = t._grad + g
        elif g._node is None:
            # Not a result of the recorded sweep (the seed itself, a view of it, or what
            # reached another leaf too): a copy, so that no two gradients share memory.
            t._grad = make(np.array(g.data))
            tracer = STATE.compile_tracer
            if tracer is not None:
                tracer.copied(g.data, t._grad.data)
        else:
            t._grad = g
        return
    if t.grad is None:
        # The gradient gets the parameter's own memory order (as PyTorch): one that arrived
        # through a transpose is F-ordered, and `p -= lr * p.grad` on mixed orders is slow.
        order = "F" if t.data.flags.f_contiguous and not t.data.flags.c_contiguous else "C"
        arr = (g if owned_array and type(g) is np.ndarray and g.flags.writeable
               and g.flags[order + "_CONTIGUOUS"] else np.array(g, order=order))
        t._grad = make(arr)
    elif t._grad.requires_grad:
        t._grad = make(t._grad.data + g)
    else:
        t._grad.data += g


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


from chainrule import numpy_api as _api  # noqa: E402  (the differentiable namespace)
