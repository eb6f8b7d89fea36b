"""``cr.viz.graph``: draw the recorded graph of a tensor, the chain rule on its edges.

Each node is a value: an input, a parameter, constant data, an intermediate result or the
output, told apart by shape and colour. A node shows its name (from ``cr.named``, the
``params`` given, or ``u1, u2, ...``), the operation that made it, its value (a number, or
the shape with min/mean/max) and its gradient ``∂y/∂node``. Each edge shows the local
derivative formula the primitive declares and, where both ends are single numbers, its
value at the point: the chain rule multiplies these along every path.

>>> import chainrule as cr
>>> t = cr.tensor(10.0, requires_grad=True)
>>> y = cr.named(0.5 * 9.8 * t**2, "g")
>>> print(cr.viz.graph(y).dot.splitlines()[0])
digraph chainrule {
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from chainrule.autodiff.backward import run as engine_run
from chainrule.autodiff.backward import step
from chainrule.autodiff.graph import Node
from chainrule.drawing.style import GRAPH_HEADER, describe, fmt, node_attrs, quote
from chainrule.tensor import Tensor
from chainrule.viz.render import Graph

__all__ = ["graph", "MAX_NODES", "COLLAPSE_ABOVE", "LAYER_OPS"]

#: Graphs with more nodes than this are refused unless ``max_nodes=`` is raised.
MAX_NODES = 5000
#: With ``collapse=None``, graphs with more operations than this are collapsed.
COLLAPSE_ABOVE = 80
#: Operations that stay nodes of their own when a graph is collapsed: a layer of a network.
LAYER_OPS = frozenset({"linear", "matmul", "einsum", "unfold", "fold", "solve", "inv", "det"})

# The letters the primitives' formulas use for their arguments, by number of arguments.
_LETTERS = {
    1: {"x": 0, "A": 0},
    2: {"x": 0, "a": 0, "A": 0, "y": 1, "b": 1},
    3: {"x": 0, "w": 1, "b": 2},
}
_TOKEN = re.compile(r"(?<![A-Za-z_])([a-zA-Z])(?![A-Za-z_0-9])")


@dataclass
class _Vertex:
    """One drawn node: a leaf, a constant, or a group of operations (one op uncollapsed)."""

    key: int
    role: str
    label: str
    value: object = None
    grad: object = None
    ops: list[Node] = field(default_factory=list)  # anchor last
    detail: str = ""


def graph(
    y,
    params=None,
    *,
    max_nodes: int = MAX_NODES,
    collapse: bool | None = None,
    gradients: bool = True,
) -> Graph:
    """Draw the computation graph that produced the tensor ``y``.

    ``params`` names parameters: a dict ``{name: Tensor}``, pairs, or a module (its
    ``named_parameters()``). Gradients shown are ``∂y/∂node``: for leaves their ``.grad``
    once ``backward()`` filled it; otherwise, for a single-element ``y`` whose graph is
    still there (before ``backward()``, or after ``backward(retain_graph=True)``), from a
    reverse sweep that accumulates nothing. After a plain ``backward()`` the intermediate
    values are freed, and the picture says so.

    ``collapse`` folds each run of unnamed operations that feed a single consumer into
    that consumer, so a network reads as one node per layer op (``linear``, ``matmul``...);
    by default graphs of more than ``COLLAPSE_ABOVE`` operations are collapsed. A graph of
    more than ``max_nodes`` nodes is refused with ``ValueError``.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"viz.graph: expected a Tensor, got {type(y).__name__}")
    if max_nodes < 1:
        raise ValueError(f"viz.graph: max_nodes must be at least 1, got {max_nodes}")
    names = _param_names(params)
    if y._node is None:
        role = "parameter" if id(y) in names else ("input" if y.requires_grad else "constant")
        label = names.get(id(y)) or y.name or ("x1" if y.requires_grad else "c1")
        v = _Vertex(id(y), role, label, y.data, None if y.grad is None else y.grad.data)
        return _emit([v], [])
    ops = _collect(y._node, max_nodes)
    builder = _Builder(y, ops, names, max_nodes)
    if collapse is None:
        collapse = len(ops) > COLLAPSE_ABOVE
    return builder.build(collapse, gradients)


def _param_names(params) -> dict[int, str]:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if isinstance(params, dict) else params
    out = {}
    for name, t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"viz.graph: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        out.setdefault(id(t), str(name))
    return out


def _too_many(max_nodes: int) -> ValueError:
    return ValueError(
        f"viz.graph: this graph has more than {max_nodes} nodes, too many to draw readably "
        f"(and Graphviz would take long). Draw a smaller part of the computation, or pass "
        f"max_nodes= a larger number (e.g. max_nodes={max_nodes * 4}) to draw it anyway; "
        "collapse=True folds chains of operations into one node each."
    )


def _collect(root: Node, max_nodes: int) -> list[Node]:
    """The recorded nodes behind ``root``, in creation order (iterative: any depth)."""
    seen = {id(root): root}
    leaves: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        for p in node.parents:
            if type(p) is Node:
                if id(p) not in seen:
                    seen[id(p)] = p
                    stack.append(p)
            elif p is not None:
                leaves.add(id(p))
        if len(seen) + len(leaves) > max_nodes:
            raise _too_many(max_nodes)
    return sorted(seen.values(), key=lambda n: n.seq)


class _Builder:
    def __init__(self, y: Tensor, ops: list[Node], names: dict[int, str], max_nodes: int):
        self.y, self.ops, self.names, self.max_nodes = y, ops, names, max_nodes
        self.root = y._node
        self.freed = any(n.args is None for n in ops)
        self.consumers: Counter[int] = Counter()
        for n in ops:
            for p in {id(p) for p in n.parents if type(p) is Node}:
                self.consumers[p] += 1

    # ----- names ----------------------------------------------------------------------------
    def _labels(self) -> dict[int, str]:
        labels: dict[int, str] = {}
        taken: set[str] = set()

        def give(key: int, wanted: str) -> None:
            name, i = wanted, 2
            while name in taken:
                name, i = f"{wanted}_{i}", i + 1
            labels[key] = name
            taken.add(name)

        for key, name in self.names.items():
            give(key, name)
        for n in self.ops:
            if n.name is not None and id(n) not in labels:
                give(id(n), n.name)
        x = c = u = 0
        for n in self.ops:
            for j, p in enumerate(n.parents):
                if p is None:
                    const = self._constant(n, j)
                    if const is not None and id(const) not in labels:
                        c += 1
                        give(id(const), getattr(const, "name", None) or f"c{c}")
                elif type(p) is not Node and id(p) not in labels:
                    x += 1
                    give(id(p), p.name or f"x{x}")
            if id(n) not in labels:
                if n is self.root:
                    give(id(n), "out")
                else:
                    u += 1
                    give(id(n), f"u{u}")
        return labels

    @staticmethod
    def _constant(node: Node, j: int):
        """The constant argument ``j`` of ``node`` if it is array data worth a node."""
        args = node.args  # None once backward() freed the node
        if args is None or j >= len(args):
            return None
        v = args[j]
        if isinstance(v, Tensor) and v.data.size > 1:
            return v
        if isinstance(v, np.ndarray) and v.size > 1:
            return v
        return None

    def _arg_text(self, node: Node, j: int, labels: dict[int, str]) -> str:
        p = node.parents[j]
        if p is not None:
            return labels[id(p)]
        const = self._constant(node, j)
        if const is not None:
            return labels[id(const)]
        v = node.args[j] if node.args is not None and j < len(node.args) else None
        if isinstance(v, Tensor):
            v = v.data
        if isinstance(v, (int, float, np.number)) or (isinstance(v, np.ndarray) and v.size == 1):
            return fmt(np.reshape(v, ()), 6)
        return "·"

    def _call_text(self, node: Node, labels: dict[int, str]) -> str:
        args = [self._arg_text(node, j, labels) for j in range(len(node.parents))]
        for k, v in sorted(node.params.items()):
            text = repr(v)
            if len(text) <= 16 and isinstance(v, (int, float, str, tuple, bool, type(None))):
                args.append(f"{k}={text}")
        return f"{node.prim.name}({', '.join(args)})"

    # ----- numbers --------------------------------------------------------------------------
    def _gradients(self, enabled: bool) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """``∂y/∂node`` for every node and leaf, when ``y`` is one number and not freed."""
        if not enabled or self.freed or self.y.data.size != 1:
            return {}, {}
        leaves, seen = [], set()
        for n in self.ops:
            for p in n.parents:
                if p is not None and type(p) is not Node and id(p) not in seen:
                    seen.add(id(p))
                    leaves.append(p)
        node_grads: dict[int, np.ndarray] = {}

        def listen(node, g, contributions):
            node_grads[id(node)] = np.array(g)

        results = engine_run([self.y], [None], retain_graph=True, inputs=leaves, listener=listen)
        leaf_grads = {id(t): np.asarray(g) for t, g in zip(leaves, results) if g is not None}
        return node_grads, leaf_grads

    @staticmethod
    def _local_values(node: Node) -> list:
        """``∂out/∂arg_j`` at the point for each argument, where both are single numbers."""
        out, args = node.out, node.args
        if out is None or args is None or np.size(out) != 1 or node.prim.vjp is None:
            return [None] * len(node.parents)
        needs = [p is not None and np.size(a) == 1 for p, a in zip(node.parents, args)]
        if not any(needs):
            return [None] * len(node.parents)
        try:
            with np.errstate(all="ignore"):
                got = step(node, np.ones_like(out), needs)  # the engine's own link
        except Exception:  # noqa: BLE001 - a rule that cannot run here: no number shown
            return [None] * len(node.parents)
        return [
            None if not need or g is None or np.size(g) != 1 else float(np.reshape(g, ()))
            for need, g in zip(needs, got)
        ]

    def _edge_label(self, node: Node, j: int, labels, local) -> str:
        formulas = node.prim.formulas
        formula = formulas[j] if j < len(formulas) else ""
        letters = _LETTERS.get(len(node.parents), {})

        def sub(m: re.Match) -> str:
            tok = m.group(1)
            if tok in letters:
                text = self._arg_text(node, letters[tok], labels)
                return f"({text})" if text.startswith("-") else text
            return tok

        text = _TOKEN.sub(sub, formula) if node.args is not None else formula
        if local is not None:
            shown = fmt(local)
            if text.strip("()") == shown or not text:
                text = shown  # a constant factor: the formula is already the number
            else:
                text = f"{text}\n= {shown}"
        return text

    # ----- assembly -------------------------------------------------------------------------
    def _groups(self, collapse: bool) -> dict[int, Node]:
        """The anchor each op is drawn as: itself, or (collapsed) the consumer it feeds."""
        anchor_of: dict[int, Node] = {}
        only_consumer: dict[int, Node] = {}
        for n in self.ops:
            for p in n.parents:
                if type(p) is Node:
                    only_consumer[id(p)] = n
        for n in reversed(self.ops):  # consumers first, so a chain folds all the way down
            keep = (
                not collapse
                or n is self.root
                or n.name is not None
                or self.consumers[id(n)] != 1
                or n.prim.name in LAYER_OPS
            )
            anchor_of[id(n)] = n if keep else anchor_of[id(only_consumer[id(n)])]
        return anchor_of

    def build(self, collapse: bool, gradients: bool) -> Graph:
        labels = self._labels()
        node_grads, leaf_grads = self._gradients(gradients)
        anchor_of = self._groups(collapse)
        vertices: dict[int, _Vertex] = {}
        edges: list[tuple[int, int, str]] = []
        for n in self.ops:
            anchor = anchor_of[id(n)]
            key = id(anchor)
            if key not in vertices:
                role = "output" if anchor is self.root else "intermediate"
                vertices[key] = _Vertex(key, role, labels[key])
            vertices[key].ops.append(n)
            for src, label in self._sources(n, anchor, vertices, labels, leaf_grads, anchor_of):
                edges.append((src, key, label))
            if len(vertices) > self.max_nodes:
                raise _too_many(self.max_nodes)
        for v in vertices.values():
            if v.ops:
                self._describe(v, labels, node_grads)
        return _emit(list(vertices.values()), edges, self.freed)

    def _sources(self, n: Node, anchor: Node, vertices, labels, leaf_grads, anchor_of):
        """The edges into op ``n`` (drawn in its group ``anchor``): ``(source vertex,
        label)`` for each constant, other vertex and leaf it reads; the vertices of
        constants and leaves are made on first sight."""
        key = id(anchor)
        local = self._local_values(n)
        out = []
        for j, p in enumerate(n.parents):
            if p is None:
                const = self._constant(n, j)
                if const is None:
                    continue
                src = id(const)
                if src not in vertices:
                    data = const.data if isinstance(const, Tensor) else const
                    vertices[src] = _Vertex(src, "constant", labels[src], data)
                out.append((src, ""))
                continue
            if type(p) is Node:
                src = id(anchor_of[id(p)])
                if src == key:
                    continue  # inside a collapsed group
            else:
                src = id(p)
                if src not in vertices:
                    role = "parameter" if src in self.names else "input"
                    g = p.grad.data if p.grad is not None else leaf_grads.get(src)
                    vertices[src] = _Vertex(src, role, labels[src], p.data, g)
            label = self._edge_label(n, j, labels, local[j])
            if n is not anchor and label:
                # The edge enters a collapsed group at an inner op: its local derivative
                # is that op's, not the group's, so say which op.
                label = f"via {n.prim.name}: {label}"
            out.append((src, label))
        return out

    def _describe(self, v: _Vertex, labels, node_grads) -> None:
        """An op vertex's value, gradient and text (its call, or what was folded into it)."""
        anchor = v.ops[-1]
        v.value = self.y.data if anchor is self.root else anchor.out
        retained = anchor.retained() if anchor.retained is not None else None
        if retained is not None and retained.grad is not None:
            v.grad = retained.grad.data
        else:
            v.grad = node_grads.get(id(anchor))
        if len(v.ops) == 1:
            v.detail = self._call_text(anchor, labels)
        else:  # its arguments are folded results, not drawn: the edges show the inputs
            inner = Counter(n.prim.name for n in v.ops[:-1])
            parts = [k if c == 1 else f"{k} ×{c}" for k, c in inner.items()]
            v.detail = f"{anchor.prim.name}(…)\nfolded in: " + ", ".join(parts)


def _emit(vertices: list[_Vertex], edges, freed: bool = False) -> Graph:
    """The DOT text: vertices numbered in creation order, so the text is deterministic."""
    ids = {v.key: f"n{i}" for i, v in enumerate(vertices)}
    lines = ["digraph chainrule {", GRAPH_HEADER.rstrip("\n")]
    nodes = []
    for v in vertices:
        parts = [v.label if not v.detail else f"{v.label} = {v.detail}"]
        if v.value is not None:
            parts.append(f"value {describe(v.value)}")
        elif v.ops:
            parts.append("value freed by backward()")
        if v.grad is not None:
            parts.append(f"grad {describe(v.grad)}")
        label = "\n".join(parts)
        lines.append(f"  {ids[v.key]} [{node_attrs(v.role, label, {'id': ids[v.key]})}];")
        nodes.append((ids[v.key], v.role, label))
    out_edges = []
    for src, dst, label in edges:
        attr = f" [label={quote(label)}]" if label else ""
        lines.append(f"  {ids[src]} -> {ids[dst]}{attr};")
        out_edges.append((ids[src], ids[dst], label))
    note = "grad = ∂(output)/∂(node); edges: local derivative ∂(head)/∂(tail)"
    if freed:
        note += "\nbackward() freed the intermediate values: call backward(retain_graph=True)"
        note += " (or draw before backward) to see them"
    lines.append(f"  label={quote(note)}; labelloc=b; labeljust=l; fontsize=9;")
    lines.append("}")
    return Graph("\n".join(lines) + "\n", nodes, out_edges)
