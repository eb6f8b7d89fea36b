"""One link of the chain rule, and the sums around it: what every reverse sweep does at a node.

At a node ``out = f(arg_0, arg_1, ...)`` with cotangent ``g = dL/d(out)``, :func:`step`
gives ``dL/d(arg_i) = g · d(out)/d(arg_i)`` for each argument, from the primitive's VJP
rule, summed back to the argument's shape (broadcasting) and cast to its dtype;
:func:`accumulate` adds it to what the argument's producer already received (a node with
several consumers gets the sum, ``dL/dx = sum over consumers``), and
:func:`accumulate_grad` into a leaf's ``.grad``. The sweeps that walk the graph
(:mod:`chainrule.autodiff.backward`, :mod:`chainrule.autodiff.traced_sweep`) share these.
"""

from __future__ import annotations

import numpy as np

from chainrule.autodiff.graph import FREED_MESSAGE, LAST_INPLACE, STATE, Node
from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import pull_back
from chainrule.autodiff.tensor_core import Tensor, make

# The `tensor_mode` of a sweep: False (rules on arrays), True (rules on Tensors joined to
# the graph, recorded), or DETACHED: rules on Tensors with no graph, so that only a
# cr.compile tracer sees their operations (they run in the tracer's fast path, recording
# nothing: a traced backward without create_graph).
DETACHED = 2


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


def fit(gi, x):
    """The cotangent ``gi`` of argument ``x`` summed back to ``x``'s shape (where the
    primitive broadcast it) and cast to ``x``'s dtype (an argument's cotangent has its
    dtype: a float32 weight in a float64 expression gets a float32 gradient)."""
    if gi.shape != x.shape:
        gi = sum_to_shape(gi, x.shape, namespace(gi))
    if gi.dtype != x.dtype:
        gi = gi.astype(x.dtype)
    return gi


def check_versions(node: Node) -> None:
    """Raise if a value the rule reads (a Tensor argument, or the output where another
    tensor shares it) was changed in place after recording."""
    if node.versions is not None:
        for vc, seen in zip(node.vcs, node.versions):
            vc.check(seen, node.prim.name, "an input")
    for vc, seen in node.out_guards or ():
        vc.check(seen, node.prim.name, "the output")


def reads(prim, needs, i: int) -> bool:
    """Does a rule of ``prim`` wanted by ``needs`` read argument ``i``? (``prim.reads[j]``:
    the arguments the rule for argument ``j`` reads; without it, all of them if the
    primitive saves its arguments.)"""
    if prim.reads is None:
        return prim.saves_args
    j = -1
    for need in needs:  # (no comprehension: a function call each, once per argument)
        j += 1
        if need and i in prim.reads[j]:
            return True
    return False


def rule_inputs(node: Node, tensor_mode, needs) -> tuple:
    """The arguments as Tensors for a recorded backward pass.

    Kept as given when forward-mode tangents were live; otherwise rebuilt from the saved
    arrays: an argument produced by a node becomes a Tensor of that node (so the recorded
    backward connects to the same graph), a leaf is itself, a constant stays constant.
    ``DETACHED``: each array a wanted rule reads (``needs``, see :func:`reads`) becomes a
    Tensor of its own, joined to nothing; the others stay arrays, unread.
    """
    if tensor_mode is DETACHED:
        prim = node.prim
        out = []
        i = -1
        for a in node.args:
            i += 1
            out.append(make(a) if type(a) is np.ndarray and reads(prim, needs, i) else a)
        return tuple(out)
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


def step(node: Node, g, needs=None, tensor_mode: bool = False):
    """One link of the chain rule, the body of every sweep: from ``g = dL/d(out)`` at
    ``node``, the cotangent ``dL/d(arg_i) = g · d(out)/d(arg_i)`` of each argument, from the
    primitive's VJP rule, summed back to the argument's shape (broadcasting) and cast to
    its dtype. Returns one entry per argument; read entry ``i`` only where ``needs[i]``
    (the rule may fill others); None there means that nothing flows to argument ``i``.

    needs:       per argument, whether its cotangent is wanted (default: those that have a
                 parent, i.e. lead to something that requires grad).
    tensor_mode: the rule computes on Tensors with chainrule's own namespace, so the step
                 is itself recorded (``create_graph``, forward-over-reverse; ``DETACHED``:
                 seen by a ``cr.compile`` tracer only); otherwise on the saved arrays with
                 NumPy.

    It runs once per node of the recorded and targeted sweeps, and where the plain and
    traced sweeps (which write out their common cases) have something to check;
    hence the shortcut for one-argument elementwise primitives: their VJP is ``g · d(v)``
    (``Primitive.derivative``), the same expression as their rule, one call less.
    """
    args = node.args
    if args is None:
        raise RuntimeError(FREED_MESSAGE)
    # A node newer than the newest in-place change cannot have had a saved value changed
    # (read at every node: another thread may change a tensor while this one sweeps).
    if node.seq < LAST_INPLACE[0]:
        check_versions(node)
    prim = node.prim
    parents = node.parents
    if tensor_mode is DETACHED:
        ans = make(node.out) if prim.saves_ans else node.out
        rule_args = rule_inputs(node, tensor_mode, needs or wanted(parents))
    elif tensor_mode:
        ans = make(node.out, node)
        ans._tangent = node.out_tangent
        rule_args = rule_inputs(node, tensor_mode, needs)
    else:
        ans = node.out
        rule_args = args
    n = len(parents)
    if n == 1:
        if needs is not None and not needs[0]:
            return NONE_FLOWS
        derivative = prim.derivative
        if derivative is not None:
            # elementwise: g's shape is x's
            gi = g * derivative(ans if prim.derivative_of_ans else rule_args[0])
            x = args[0]
            if gi.dtype is not x.dtype and gi.dtype != x.dtype:
                gi = gi.astype(x.dtype)
            return (gi,)
        needs = _ONE_NEEDED
    elif needs is None:
        needs = wanted(parents)
    contributions = pull_back(prim, g, ans, rule_args, node.params, needs)
    out = contributions  # copied only if an entry must change (most need not)
    i = -1
    for gi in contributions:  # indexing rather than zip: cheaper, once per node
        i += 1
        if gi is None or not needs[i]:
            continue
        x = args[i]
        if gi.shape != x.shape or (gi.dtype is not x.dtype and gi.dtype != x.dtype):
            if out is contributions:
                out = list(contributions)
            out[i] = fit(gi, x)
    return out


def wanted(parents) -> tuple:
    """Per argument, whether its cotangent is wanted: it leads to something that requires
    grad (it has a parent)."""
    if len(parents) == 2:  # (a comprehension costs a function call)
        return (parents[0] is not None, parents[1] is not None)
    return tuple([p is not None for p in parents])


_ONE_NEEDED = (True,)
NONE_FLOWS = (None,)  # what flows from a node whose one argument wants nothing


def free(node: Node) -> None:
    """Drop what a backward pass read at ``node`` (its saved values): memory back at once."""
    node.args = None
    node.inputs = None
    node.out = None
    if node.out_tangent is not None:
        node.out_tangent = None


def accumulate(cot: dict, owned: set, key, g, tensor_mode: bool) -> None:
    """``cot[key] += g``: a node's (or leaf's) cotangent is the sum of what each of its
    consumers sends. Arrays in ``owned`` were allocated by this sweep, so they are added
    into in place; anything else (a Tensor, a rule's input) gets a new sum."""
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


def accumulate_grad(t: Tensor, g, tensor_mode: bool, owned_array: bool) -> None:
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
