"""The recorded graph, contracted to the quantities a person named.

Tracing a function gives the engine's graph of primitives.  The chain the user sees has
only the *quantities*: the inputs (leaves), the nodes named with ``cr.named`` and the
output.  A *link* ``∂N/∂M`` exists where ``N`` depends on ``M`` without passing through
another quantity; the unnamed primitives between them are folded into the link.

Each link is computed by **replaying** the primitives between ``M`` and ``N`` with the
quantities ``M`` as fresh leaves:

- on Tensors, then asking the engine for the gradient: the link's number;
- on SymPy symbols through each primitive's ``symbolic`` counterpart, then
  differentiating: the link's formula.

So ``∂N/∂M`` holds every other quantity fixed (a partial derivative), and the derivative
of the output is the sum over paths of the product of the links along each path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.autodiff.backward import grad as engine_grad
from chainrule.autodiff.backward import run as engine_run
from chainrule.autodiff.graph import Node, topological_order
from chainrule.explain.errors import ExprDomainError
from chainrule.tensor import Tensor

__all__ = ["Contracted", "contract", "replay_value", "replay_symbolic", "backward_sweep"]


@dataclass
class Contracted:
    """The graph seen through its quantities.

    ``keys`` are the quantities in topological order (inputs first, output last), each the
    ``id`` of a leaf Tensor or of a Node; ``objs`` maps a key to that object; ``labels`` to
    its name; ``preds[k]`` lists the quantities ``k`` reads directly; ``inner[k]`` the
    unnamed nodes between them and ``k``, parents first.
    """

    output: int
    keys: list[int] = field(default_factory=list)
    objs: dict[int, object] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    preds: dict[int, list[int]] = field(default_factory=dict)
    inner: dict[int, list[Node]] = field(default_factory=dict)
    leaves: list[int] = field(default_factory=list)
    order: list[Node] = field(default_factory=list)

    def value(self, key: int) -> np.ndarray:
        obj = self.objs[key]
        return obj.data if isinstance(obj, Tensor) else obj.out


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def contract(out: Tensor, leaf_names: dict[int, str], output_name: str | None) -> Contracted:
    """Contract the graph of ``out`` to its quantities.

    ``leaf_names`` names leaf Tensors by ``id`` (the inputs); other leaves that require
    grad are named by their ``.name`` or ``p1, p2, ...``.
    """
    root = out._node
    order = topological_order([root])
    c = Contracted(output=id(root), order=order)
    taken: set[str] = set(leaf_names.values())
    # Leaves first (inputs in the order given, then others as met), then named nodes.
    _name_leaves(c, order, leaf_names, taken)
    named = {id(n) for n in order if n.name is not None} | {id(root)}
    for node in order:
        if id(node) not in named:
            continue
        label = node.name if node.name is not None else (output_name or "f")
        if node is root and output_name:
            label = output_name
        c.labels[id(node)] = _unique(label, taken)
        taken.add(c.labels[id(node)])
        c.objs[id(node)] = node
        c.keys.append(id(node))
    position = {id(n): i for i, n in enumerate(order)}
    rank = {k: i for i, k in enumerate(c.keys)}
    boundary = set(c.keys)
    for key in c.keys:
        obj = c.objs[key]
        if isinstance(obj, Tensor):
            continue
        preds, inner = _reads(obj, boundary)
        # Parents-first order, as the forward pass ran them.
        c.inner[key] = sorted(inner.values(), key=lambda n: position[id(n)])
        c.preds[key] = sorted(preds, key=rank.__getitem__)
    return c


def _name_leaves(c: Contracted, order, leaf_names: dict[int, str], taken: set) -> None:
    """The leaves as quantities: the inputs by their given names, then the other leaves
    met in ``order`` by their ``.name`` or ``p1, p2, ...``."""
    for key, name in leaf_names.items():
        c.leaves.append(key)
        c.labels[key] = name
    extra = 0
    for node in order:
        for p in node.parents:
            if not isinstance(p, Tensor):
                continue
            if id(p) not in c.labels:
                extra += 1
                c.labels[id(p)] = _unique(p.name or f"p{extra}", taken)
                taken.add(c.labels[id(p)])
                c.leaves.append(id(p))
            c.objs[id(p)] = p
    c.leaves = [k for k in c.leaves if k in c.objs]
    c.keys.extend(c.leaves)


def _reads(node: Node, boundary: set) -> tuple:
    """What the quantity computed at ``node`` reads: the quantities (``boundary``) it
    reaches through unnamed nodes, in the order met, and those unnamed nodes by id."""
    preds: dict[int, None] = {}
    inner: dict[int, Node] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        for p in reversed(n.parents):
            if p is None:
                continue
            if id(p) in boundary:
                preds.setdefault(id(p))
            elif id(p) not in inner:
                inner[id(p)] = p
                stack.append(p)
    return preds, inner


def _args(node: Node, env: dict[int, object]) -> list:
    """Arguments of ``node`` for a replay: replayed values for the quantities and the
    nodes between, constants as the forward pass saw them."""
    out = []
    for j, p in enumerate(node.parents):
        out.append(node.args[j] if p is None else env[id(p)])
    return out


def replay_value(c: Contracted, key: int, cotangent=None) -> dict[int, np.ndarray | None]:
    """``{pred: ∂N/∂pred}`` for the quantity ``N = key``, from the engine.

    The primitives between ``N`` and the quantities it reads are run again with those
    quantities as fresh leaves, and the engine differentiates the result: every other
    quantity is held fixed.  With ``cotangent`` (a non-scalar ``N``), the result is the
    vector-Jacobian product ``cotangent · ∂N/∂pred`` instead.
    """
    preds = c.preds[key]
    if not preds:
        return {}
    env: dict[int, object] = {}
    leaves = []
    for k in preds:
        value = c.value(k)
        leaf = Tensor(np.array(value, dtype=value.dtype if value.dtype.kind == "f" else float))
        leaf.requires_grad = True
        env[k] = leaf
        leaves.append(leaf)
    node = c.objs[key]
    for n in [*c.inner[key], node]:
        env[id(n)] = n.prim(*_args(n, env), **n.params)
    result = env[id(node)]
    if not result.requires_grad:
        return {k: None for k in preds}
    grads = engine_grad(result, leaves, None if cotangent is None else Tensor(cotangent))
    return {k: None if g is None else g.data for k, g in zip(preds, grads)}


def _sympy_constant(value, sp_number):
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return sp_number(float(value))
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fi":
        return sp_number(float(value.reshape(())))
    return None


def replay_symbolic(c: Contracted, key: int, symbols: dict[int, object]):
    """The SymPy expression of quantity ``key`` in terms of ``symbols`` of the quantities it
    reads, from each primitive's ``symbolic`` counterpart; ``None`` where a primitive has
    none or a constant is not a single number."""
    from chainrule.explain.symbolic import number, require_sympy
    from chainrule.explain.textbook import functions

    sp = require_sympy()
    # The functions a textbook names (σ, max, min ...) as in the expression language, so
    # that their rules are the engine's at ties too: cr.maximum(x, 0.0) is max(x, 0), whose
    # derivative at x = 0 is 1/2 like the engine's, not ReLU's Max(0, x) with 0 there.
    named = functions(sp)
    node = c.objs[key]
    env: dict[int, object] = {k: symbols[k] for k in c.preds[key]}
    for n in [*c.inner[key], node]:
        if n.prim.symbolic is None:
            return None
        args = []
        for j, p in enumerate(n.parents):
            if p is None:
                const = _sympy_constant(n.args[j], number)
                if const is None:
                    return None
                args.append(const)
            else:
                args.append(env[id(p)])
        try:
            textbook = named.get(n.prim.expr)
            if textbook is not None and not n.params:
                env[id(n)] = textbook(*args)
            else:
                env[id(n)] = n.prim.symbolic(sp, *args, **n.params)
        except Exception:  # a counterpart that does not take these arguments: no formula
            return None
    return env[id(node)]


@dataclass
class SweepStep:
    """One node of the reverse sweep: what the engine reported to its listener."""

    node: Node
    upstream: np.ndarray
    contributions: list


def backward_sweep(out: Tensor, leaves: list[Tensor]):
    """Run the engine's reverse sweep from ``out`` (seeded with 1), listening to each step.

    Returns ``(gradients of the leaves, steps in the order the engine ran them)``; nothing
    is accumulated into ``.grad`` and the graph is kept for later replays.
    """
    steps: list[SweepStep] = []

    def listen(node, g, contributions):
        steps.append(SweepStep(node, np.asarray(g), list(contributions)))

    grads = engine_run([out], [None], retain_graph=True, inputs=leaves, listener=listen)
    return [None if g is None else np.asarray(g) for g in grads], steps


def check_domain(c: Contracted) -> None:
    """Raise :class:`ExprDomainError` at the first primitive whose output is not finite
    although its inputs are (``log(-1)``), naming the quantity it belongs to."""
    owner = {id(n): c.labels[k] for k in c.inner for n in c.inner[k]}
    owner.update({k: c.labels[k] for k in c.inner})
    for node in c.order:
        with np.errstate(all="ignore"):
            if np.all(np.isfinite(node.out)):
                continue
            finite_in = all(
                np.all(np.isfinite(np.asarray(a, dtype=float)))
                for a in node.args
                if isinstance(a, (np.ndarray, float, int))
            )
        if not finite_in:
            continue
        args = ", ".join(_short(a) for a in node.args)
        where = owner.get(id(node))
        in_q = f", in the computation of '{where}'" if where else ""
        raise ExprDomainError(
            f"{node.prim.name}({args}) is not finite at this point{in_q}; "
            "the point is outside the function's domain"
        )


def _short(a) -> str:
    arr = np.asarray(a)
    if arr.size == 1:
        return f"{float(arr.reshape(())):.6g}"
    return f"<array of shape {arr.shape}>"
