"""The reverse sweep that ``cr.compile`` records: ``backward()`` inside a trace.

Inside a trace (``STATE.plain_tracer``, no ``create_graph``), the rules run on Tensors
joined to no graph (``DETACHED``): each operation of a rule takes the engine's fast path
and is reported to the tracer, which writes it down as an instruction of the compiled
program; after each node the listener (the tracer's) groups the node's instructions
under the chain-rule link they compute. Nothing here differs in meaning from the general
sweep (``backward._sweep`` with :func:`~chainrule.autodiff.link.step`): the same nodes in
the same order, the same rules on the same operands, the same sums in the same order, so
the same program. tests/test_compile_backward.py compares the two (the same ``.source``).
"""

from __future__ import annotations

import heapq

import numpy as np

from chainrule.autodiff.graph import LAST_INPLACE, Node
from chainrule.autodiff.link import (
    DETACHED,
    NONE_FLOWS,
    accumulate,
    accumulate_grad,
    fit,
    step,
    wanted,
)
from chainrule.autodiff.tensor_core import Tensor, make


def sweep_traced(roots: list[Node], cot: dict, retain_graph: bool, listener) -> None:
    """The traced backward pass: ``cot`` (node or leaf -> cotangent, Tensors) from the
    seeds at ``roots`` to the leaves, reporting each node to ``listener``.

    A trace of a long chain is a sweep of hundreds of thousands of nodes, whose own work
    (finding the next node, choosing the rule's operands, summing) cost more than the
    recorded operations; so, like ``backward._sweep_arrays``, this loop carries the
    cotangent along a chain in a local variable (the heap and ``cot`` only where the graph
    branches; see there why that visits the nodes in the general sweep's order) and
    writes out :func:`step` for the common cases that have nothing to check: a
    one-argument elementwise node (``g · derivative(v)``) and a two-argument node with a
    rule per argument and no parameters (``x * y``, ``x + 1.0``). Every other node calls
    :func:`step`. The two loops stay apart because a shared one would cost the plain
    sweep (every bytecode of it is measured on W2): this one works on Tensors, builds the
    operands the rules read (``rule_inputs``) and calls the listener at each node.
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
        g = pop(node) if carried is None else carried
        if node.retained is not None:
            t = node.retained()
            if t is not None:
                accumulate_grad(t, g, DETACHED, owned_array=False)
        contributions = _contributions(node, g, last_inplace[0])
        parents = node.parents
        following = None  # the next node along the chain, if any
        carried = None
        i = -1
        for parent in parents:
            i += 1
            if parent is None:
                continue
            gi = contributions[i]
            if gi is None:
                continue
            if parent is following:  # the same node twice (y * y)
                carried = carried + gi
            elif following is None and not heap and type(parent) is Node:
                following = parent  # nothing is queued, so it holds no cotangent yet
                carried = gi
            else:
                if type(parent) is Node and parent not in cot:
                    heappush(heap, (-parent.seq, parent))
                accumulate(cot, None, parent, gi, DETACHED)
        listener(node, g, contributions)
        if not retain_graph:  # link.free, written out (a call per node)
            node.args = None
            node.inputs = None
            node.out = None
            if node.out_tangent is not None:
                node.out_tangent = None
        if following is None:
            node = heappop(heap)[1] if heap else None
        elif heap:  # another parent was queued after it: the heap orders them
            cot[following] = carried
            carried = None
            heappush(heap, (-following.seq, following))
            node = heappop(heap)[1]
        else:
            node = following


def _contributions(node: Node, g, last_inplace: int):
    """``step(node, g, wanted(parents), DETACHED)``, its common cases written out.

    Where nothing was changed in place since the node was made (``seq`` above
    ``last_inplace``) and its saved values are there: a one-argument elementwise node
    (:func:`_elementwise`), a node of two arguments with a rule each and no parameters
    (:func:`_two_rules`); every other node calls :func:`step`."""
    args = node.args
    if args is None or node.seq <= last_inplace:
        return step(node, g, wanted(node.parents), DETACHED)
    prim = node.prim
    parents = node.parents
    if len(parents) == 1 and prim.derivative is not None:
        return _elementwise(node, g, prim, args[0]) if parents[0] is not None else NONE_FLOWS
    if len(parents) == 2 and type(prim.vjp) is tuple and not node.params:
        return _two_rules(node, g, prim, args, parents)
    return step(node, g, wanted(parents), DETACHED)


def _elementwise(node: Node, g, prim, x):
    """``g · derivative(v)``, ``v`` the node's output or its argument ``x`` (as a Tensor
    when the derivative reads it), cast to ``x``'s dtype."""
    if prim.derivative_of_ans:
        v = make(node.out) if prim.saves_ans else node.out
    else:
        reads = prim.reads
        read = prim.saves_args if reads is None else 0 in reads[0]
        v = make(x) if read and type(x) is np.ndarray else x
    gi = g * prim.derivative(v)
    dtype = gi.dtype
    if dtype is not x.dtype and dtype != x.dtype:
        gi = gi.astype(x.dtype)
    return (gi,)


def _two_rules(node: Node, g, prim, args, parents):
    """The rules of the arguments that have a parent, on the arrays they read made Tensors
    (``link.reads``), each result fitted to its argument (``link.fit``) once both have
    run, as ``step`` does."""
    a, b = args
    pa, pb = parents
    reads = prim.reads
    if reads is None:
        read_a = read_b = prim.saves_args
    else:
        read_a = pa is not None and 0 in reads[0] or pb is not None and 0 in reads[1]
        read_b = pa is not None and 1 in reads[0] or pb is not None and 1 in reads[1]
    ra = make(a) if read_a and type(a) is np.ndarray else a
    rb = make(b) if read_b and type(b) is np.ndarray else b
    ans = make(node.out) if prim.saves_ans else node.out
    vjp = prim.vjp
    ga = vjp[0](g, ans, ra, rb) if pa is not None else None
    gb = vjp[1](g, ans, ra, rb) if pb is not None else None
    # (A Tensor's shape and dtype are properties, a call each: its array is read instead.)
    if ga is not None:
        d = ga.data if type(ga) is Tensor else ga
        if d.shape != a.shape or d.dtype is not a.dtype and d.dtype != a.dtype:
            ga = fit(ga, a)
    if gb is not None:
        d = gb.data if type(gb) is Tensor else gb
        if d.shape != b.shape or d.dtype is not b.dtype and d.dtype != b.dtype:
            gb = fit(gb, b)
    return (ga, gb)
