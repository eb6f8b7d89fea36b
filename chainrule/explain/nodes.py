"""The tree of the expression language: a handful of small, immutable node classes.

The parser (:mod:`chainrule.explain.expr`) builds these from Python's ``ast`` after a
whitelist check; nothing here ever runs user text.  ``str(node)`` prints the expression
back with only the parentheses it needs, so that ``parse(str(tree))`` gives the same tree.

Nodes compare by structure; their positions (``line``, ``col``, 1-based) are carried for
error messages and do not take part in equality.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from chainrule.ops import expression_functions

__all__ = [
    "Node",
    "Num",
    "Const",
    "Name",
    "BinOp",
    "Neg",
    "Call",
    "FUNCTIONS",
    "ARITY",
    "ALIASES",
    "CONSTANTS",
    "walk",
    "names_in",
]

#: The functions of the language, by their canonical name: the primitives that declare an
#: expression-language name (``expr=``), in declaration order.
FUNCTIONS: tuple[str, ...] = tuple(expression_functions())

#: How many arguments each function takes: one, or two for ``max(a, b)`` and
#: ``min(a, b)`` (the arguments of the primitive's SymPy form, after ``sp``).
ARITY: dict[str, int] = {
    name: len(inspect.signature(p.symbolic).parameters) - 1
    for name, p in expression_functions().items()
}

#: Other spellings accepted for a function.
ALIASES: dict[str, str] = {"ln": "log"}

#: The constants of the language and their values.
CONSTANTS: dict[str, float] = {"pi": 3.141592653589793, "e": 2.718281828459045}

# Binding strength, used to print with the fewest parentheses.
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4, "atom": 5}


@dataclass(frozen=True, kw_only=True)
class Node:
    """Base class of the tree; ``line`` and ``col`` say where the node starts (1-based)."""

    line: int = field(default=0, compare=False, repr=False)
    col: int = field(default=0, compare=False, repr=False)

    @property
    def children(self) -> tuple[Node, ...]:
        return ()

    def _prec(self) -> int:
        return _PREC["atom"]

    def __str__(self) -> str:
        return _to_text(self)


@dataclass(frozen=True)
class Num(Node):
    """A number literal (always kept as a float)."""

    value: float


@dataclass(frozen=True)
class Const(Node):
    """A named mathematical constant: ``pi`` or ``e``."""

    name: str

    @property
    def value(self) -> float:
        return CONSTANTS[self.name]


@dataclass(frozen=True)
class Name(Node):
    """A quantity: an input of the expression or a name given by an assignment."""

    id: str


@dataclass(frozen=True)
class BinOp(Node):
    """``left op right`` with ``op`` one of ``+ - * / **``."""

    op: str
    left: Node
    right: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def _prec(self) -> int:
        return _PREC[self.op]


@dataclass(frozen=True)
class Neg(Node):
    """Unary minus: ``-operand``."""

    operand: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def _prec(self) -> int:
        return _PREC["neg"]


@dataclass(frozen=True)
class Call(Node):
    """A call of one of :data:`FUNCTIONS` (canonical name): ``arg`` is its first argument,
    ``more`` the others (``max(a, b)`` has ``more == (b,)``)."""

    func: str
    arg: Node
    more: tuple[Node, ...] = ()

    @property
    def args(self) -> tuple[Node, ...]:
        return (self.arg, *self.more)

    @property
    def children(self) -> tuple[Node, ...]:
        return self.args


def walk(node: Node):
    """Yield every node of the tree, parents before children, left to right (no recursion)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def names_in(node: Node) -> tuple[str, ...]:
    """The distinct names a tree uses, in order of first appearance."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Name):
            seen.setdefault(n.id)
    return tuple(seen)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float (integers without ``.0``)."""
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _to_text(node: Node) -> str:
    if isinstance(node, Num):
        return format_number(node.value)
    if isinstance(node, Const):
        return node.name
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_to_text(a) for a in node.args)})"
    if isinstance(node, Neg):
        inner, operand = _to_text(node.operand), node.operand
        # "-(a*b)" and "-a*b" are different trees; only atoms and powers go bare.
        bare = operand._prec() >= _PREC["**"]
        if isinstance(operand, Num) and operand.value < 0:
            bare = False
        return f"-{inner}" if bare else f"-({inner})"
    if isinstance(node, BinOp):
        p = node._prec()
        left, right = _to_text(node.left), _to_text(node.right)
        lp, rp = node.left._prec(), node.right._prec()
        if isinstance(node.left, Num) and node.left.value < 0:
            lp = _PREC["neg"]
        if isinstance(node.right, Num) and node.right.value < 0:
            rp = _PREC["neg"]
        # ** is right-associative and binds tighter than a unary minus on its left.
        if lp < p or (node.op == "**" and lp <= p):
            left = f"({left})"
        if rp < p or (rp == p and node.op != "**"):
            right = f"({right})"
        if p == 1:
            return f"{left} {node.op} {right}"
        return f"{left}{node.op}{right}"
    raise TypeError(f"not an expression node: {node!r}")
