"""Splitting a composite into its chain: ``sin(x²)`` becomes ``u = x²``, ``f = sin(u)``.

The chain rule is the story of an outer function applied to an inner quantity:
``d/dx sin(u) = cos(u) · du/dx``.  A learner who types ``sin(x^2)`` should see that story,
not one folded link ``2x·cos(x²)``.  So, before explaining, every *function application*
and every *power* whose argument is not a bare quantity (an input, or a name already
given) gets its argument named: ``u``, ``v``, ``w``, ... (names already in use are skipped;
the argument of an activation — ``σ``, ``tanh``, ``ReLU`` ... — is a pre-activation and is
called ``z`` when that name is free, as every neural-network text does).  Sums, products
and quotients are not split: they stay one link, shown as partial derivatives.

Modes (``cr.explain(..., split=...)``):

- ``"auto"`` (the default): split when the user named nothing in between — a single
  expression, or a Python function without ``cr.named`` quantities.  Where the user named
  quantities, their names are the links (the skydiver keeps ``dP/dh · dh/dg · dg/dt``).
- ``True``: split inside every definition, named ones included.
- ``False``: never split.

Two readers use it: :func:`split_program` rewrites an expression of the language (the
new definitions keep the positions of the text they came from, so errors still point at
the user's own column), and :func:`split_graph` names nodes of a traced graph.
"""

from __future__ import annotations

from chainrule.explain.nodes import (
    ALIASES,
    CONSTANTS,
    FUNCTIONS,
    BinOp,
    Call,
    Name,
    Neg,
    Node,
    walk,
)

__all__ = ["split_program", "split_graph", "check_split", "inner_names"]

#: Functions whose argument is a pre-activation, called ``z`` when that name is free.
ACTIVATIONS = frozenset(
    {"sigmoid", "tanh", "relu", "softplus", "leaky_relu", "gelu", "softmax", "log_softmax"}
)
#: Engine operations that are arithmetic, not function applications: never split around.
_ARITHMETIC = frozenset({"add", "subtract", "multiply", "divide", "negative", "copy", "astype"})


def check_split(split) -> object:
    """``split`` as given, refused (``ValueError``) unless it is ``"auto"``, True or False."""
    if split is True or split is False or split == "auto":
        return split
    raise ValueError(f"explain: split must be 'auto', True or False, got {split!r}")


def inner_names(taken) -> object:
    """An endless supply of names for inner quantities, skipping ``taken``:
    ``u, v, w``, then ``u1, u2, ...``."""
    taken = set(taken)

    def supply(prefer: str | None = None):
        if prefer is not None and prefer not in taken:
            taken.add(prefer)
            return prefer
        for name in ("u", "v", "w"):
            if name not in taken:
                taken.add(name)
                return name
        i = 1
        while f"u{i}" in taken:
            i += 1
        taken.add(f"u{i}")
        return f"u{i}"

    return supply


# ----- expressions of the language ----------------------------------------------------------


def _has_name(node: Node) -> bool:
    return any(isinstance(n, Name) for n in walk(node))


def _splittable(node: Node) -> bool:
    """An argument worth a name: it reads some quantity and is not itself a bare one."""
    return not isinstance(node, Name) and _has_name(node)


def split_program(program, split="auto"):
    """``program`` with the arguments of its functions and powers named (see the module
    docstring); the same program when there is nothing to split or ``split`` says not to."""
    from chainrule.explain.expr import Definition, Program

    check_split(split)
    if split is False:
        return program
    defs = program.definitions
    if split == "auto" and len(defs) > 1:
        return program  # the user named the quantities: theirs are the links
    taken = set(program.inputs) | set(defs) | set(CONSTANTS) | set(FUNCTIONS) | set(ALIASES)
    new_name = inner_names(taken)
    names: dict[Node, str] = {}  # equal arguments share one name
    out: dict[str, Definition] = {}

    def rewrite(node: Node) -> Node:
        # Recursion is bounded: parse() refuses trees deeper than its depth limit.
        if isinstance(node, Call):
            prefer = "z" if node.func in ACTIVATIONS else None
            first, *more = (
                Name(define(arg, prefer), line=arg.line, col=arg.col) if _splittable(arg) else arg
                for arg in node.args
            )
            return Call(node.func, first, tuple(more), line=node.line, col=node.col)
        if isinstance(node, BinOp):
            left, right = node.left, node.right
            if node.op == "**":
                left = (
                    Name(define(left), line=left.line, col=left.col) if _splittable(left) else left
                )
                right = (
                    Name(define(right), line=right.line, col=right.col)
                    if _splittable(right)
                    else right
                )
                return BinOp("**", left, right, line=node.line, col=node.col)
            return BinOp(node.op, rewrite(left), rewrite(right), line=node.line, col=node.col)
        if isinstance(node, Neg):
            return Neg(rewrite(node.operand), line=node.line, col=node.col)
        return node

    pending: list[tuple[str, Node]] = []

    def define(arg: Node, prefer: str | None = None) -> str:
        if arg in names:
            return names[arg]
        name = names[arg] = new_name(prefer)
        pending.append((name, arg))
        return name

    for name, d in defs.items():
        expr = rewrite(d.expr)
        # Inner quantities first (each rewritten in turn: its own arguments get names too),
        # deepest last in the list, so they are defined before their readers.
        inner: list[Definition] = []
        while pending:
            inner_name, arg = pending.pop(0)
            body = rewrite(arg)
            inner.append(Definition(inner_name, body, arg.line, arg.col, _uses(body), True))
        for idef in reversed(inner):
            out[idef.name] = idef
        out[name] = Definition(d.name, expr, d.line, d.col, _uses(expr), d.implicit)
    if len(out) == len(defs):
        return program
    return Program(program.source, _ordered(out), program.output)


def _uses(node: Node) -> tuple[str, ...]:
    from chainrule.explain.nodes import names_in

    return names_in(node)


def _ordered(defs: dict) -> dict:
    """Definitions in an order where each follows the ones it uses (stable)."""
    done: dict = {}
    pending = dict(defs)
    while pending:
        for name, d in list(pending.items()):
            if all(u in done or u not in defs for u in d.uses):
                done[name] = d
                del pending[name]
    return done


# ----- traced graphs ------------------------------------------------------------------------


def split_graph(out, inputs: dict, split="auto") -> None:
    """Name the arguments of function applications and powers in the graph of ``out``
    (a Tensor from a fresh trace: its nodes are the explainer's own), in place.

    Under ``"auto"`` nothing is named when the function named some quantity itself.
    """
    from chainrule.autodiff.graph import topological_order

    check_split(split)
    if split is False or out._node is None:
        return
    order = topological_order([out._node])
    named = [n for n in order if n.name is not None and n is not out._node]
    if split == "auto" and named:
        return
    taken = {n.name for n in order if n.name is not None} | set(inputs)
    taken |= {t.name for t in inputs.values() if getattr(t, "name", None)}
    new_name = inner_names(taken)
    # Outermost first, so the names read u, v, w from the output inwards.
    for node in reversed(order):
        prim = node.prim.name
        if prim in _ARITHMETIC or node.prim.derivative is None and prim != "power":
            continue
        for j, parent in enumerate(node.parents):
            if parent is None or not hasattr(parent, "prim") or parent.name is not None:
                continue  # a constant, a leaf, or named already
            if prim != "power" and j > 0:
                continue
            parent.name = new_name("z" if prim in ACTIVATIONS else None)
