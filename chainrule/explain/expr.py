"""The expression language: safe parsing of formulas like ``P = 101325*exp(-0.0001*h)``.

Text is read with Python's ``ast`` parser and then checked against a whitelist; it is never
evaluated as Python (no ``eval``, ``exec`` or ``sympify`` of user text).  What is allowed:

- numbers (``2``, ``0.5``, ``1e-4``), names, the constants ``pi`` and ``e``;
- ``+ - * / **`` and ``^`` (a power, as in mathematics: ``x^2 + 1`` is ``x**2 + 1``),
  unary ``-`` and ``+``, parentheses;
- the one-argument functions ``exp log ln sqrt sin cos tan asin acos atan sinh cosh tanh
  sigmoid relu softplus gelu leaky_relu abs`` (and the others of :data:`FUNCTIONS`), and
  the two-argument ``max(a, b)`` and ``min(a, b)``;
- assignments ``name = expression`` separated by ``;`` or new lines, in any order, and at
  most one bare expression; ``#`` starts a comment.

The *output* is the bare expression, or else the one assigned name that no other
assignment uses.  Names used but never assigned are the *inputs*.

>>> prog = parse("P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2")
>>> prog.output, prog.inputs, prog.order
('P', ('t',), ('g', 'h', 'P'))
>>> str(prog.definitions["h"].expr)
'4000 - g'

Limits, so that no input can exhaust time or memory: at most 10,000 characters, brackets
nested at most 100 deep, at most 500 operators in one statement, expression trees at most
200 levels deep, constant exponents at most 1000 in size, and constants at most 1e300.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from chainrule.explain.errors import ExprError, ExprSyntaxError, split_lines
from chainrule.explain.mathtext import translate
from chainrule.explain.nodes import (
    ALIASES,
    ARITY,
    CONSTANTS,
    FUNCTIONS,
    BinOp,
    Call,
    Const,
    Name,
    Neg,
    Node,
    Num,
    names_in,
)
from chainrule.explain.scalar import check_constants

__all__ = ["parse", "parse_constant", "Program", "Definition", "LIMITS"]

#: The size limits of the language (see the module docstring).
LIMITS = {
    "chars": 10_000,
    "brackets": 100,
    "operators": 500,
    "depth": 200,
    "exponent": 1000,
}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OP_SPELLING = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
_NOT_ALLOWED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples (',') are not allowed; separate statements with ';'",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and' and 'or' are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.NamedExpr: "':=' is not allowed; write 'name = expression' as a statement",
    ast.JoinedStr: "strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Slice: "slices are not allowed",
    ast.AugAssign: "augmented assignment ('+=' ...) is not allowed; write 'name = expression'",
    ast.AnnAssign: "annotations are not allowed; write 'name = expression'",
}


@dataclass(frozen=True)
class Definition:
    """One named quantity: ``name = expr``, where it was written, and the names it uses.

    ``implicit`` is true for the bare expression, which gets a name (``f``) of its own.
    """

    name: str
    expr: Node
    line: int
    col: int
    uses: tuple[str, ...]
    implicit: bool = False

    def __str__(self) -> str:
        return f"{self.name} = {self.expr}"


class Program:
    """A parsed expression: its definitions in dependency order, its inputs and output.

    Attributes:
        source: the text as given.
        definitions: ``{name: Definition}``, each after every definition it uses.
        output: the name of the result (``"f"`` or similar for a bare expression).
        inputs: names used but not defined, in order of first appearance.
    """

    def __init__(self, source: str, definitions: dict[str, Definition], output: str):
        self.source = source
        self.definitions = definitions
        self.output = output
        defined = set(definitions)
        seen: dict[str, None] = {}
        for d in sorted(definitions.values(), key=lambda d: (d.line, d.col)):
            for name in names_in(d.expr):
                if name not in defined:
                    seen.setdefault(name)
        self.inputs: tuple[str, ...] = tuple(seen)

    @property
    def order(self) -> tuple[str, ...]:
        """The defined names, each after the names it uses."""
        return tuple(self.definitions)

    @property
    def names(self) -> tuple[str, ...]:
        """Inputs, then defined names in dependency order."""
        return self.inputs + self.order

    def error(self, cls: type[ExprError], message: str, node_or_def) -> ExprError:
        """An error of class ``cls`` that points at a node or definition of this source."""
        return cls(message, source=self.source, line=node_or_def.line, col=node_or_def.col)

    def evaluate(self, point: Mapping, functions: Mapping | None = None, *, strict=True) -> dict:
        """Values of every input and defined name at ``point``.

        ``functions`` maps the function names to callables (NumPy's by default; see
        :func:`chainrule.explain.evaluate.numpy_functions`).  With ``strict``, a name of
        ``point`` that is not an input is an error (it is most likely a typo).
        """
        from chainrule.explain.evaluate import evaluate_program

        return evaluate_program(self, point, functions, strict=strict)

    def to_sympy(self, expand: bool = False, textbook: bool = False) -> dict:
        """``{name: sympy expression}``: each definition in terms of the names it uses,
        or, with ``expand``, in terms of the inputs only; with ``textbook``, ``σ``,
        ``softplus``, ``max`` ... as functions whose derivatives read as a textbook's."""
        from chainrule.explain.symbolic import program_to_sympy

        return program_to_sympy(self, expand=expand, textbook=textbook)

    def __str__(self) -> str:
        return "; ".join(str(d) for d in self.definitions.values())

    def __repr__(self) -> str:
        return f"Program({str(self)!r}, output={self.output!r}, inputs={self.inputs!r})"


# ----------------------------------------------------------------------------- the parser


class _Source:
    """The text given to ``ast``, and the way back from its positions to the user's text.

    Two rewrites happen before parsing: mathematical notation becomes the parser's ASCII
    (:func:`chainrule.explain.mathtext.translate`: ``^`` is ``**``, ``·`` is ``*``, ``t²``
    is ``t**2``, ...), and leading blanks are removed from each line (so that indented
    triple-quoted strings work).  ``colmap`` undoes both.
    """

    def __init__(self, text: str):
        self.text = text
        lines, self.colmap = [], []
        for raw in split_lines(text):
            stripped = raw.lstrip(" \t\r\f")
            start = len(raw) - len(stripped)
            python, cols = translate(stripped)
            cmap = [start + c for c in cols]
            cmap.append(len(raw))
            lines.append(python)
            self.colmap.append(cmap)
        self.lines = lines
        self.python = "\n".join(lines)

    def position(self, lineno: int | None, char_col: int | None) -> tuple[int | None, int | None]:
        """1-based (line, column) in the user's text for a 0-based char column of ``python``."""
        if lineno is None or not 1 <= lineno <= len(self.lines):
            return lineno, None
        if char_col is None:
            return lineno, None
        cmap = self.colmap[lineno - 1]
        return lineno, cmap[max(0, min(char_col, len(cmap) - 1))] + 1

    def node_position(self, node: ast.AST) -> tuple[int, int]:
        lineno = getattr(node, "lineno", 1)
        # ast columns count UTF-8 bytes; the user counts characters.
        line = self.lines[lineno - 1].encode("utf-8")
        char_col = len(line[: getattr(node, "col_offset", 0)].decode("utf-8", errors="replace"))
        return self.position(lineno, char_col)


def _hint(message: str, src: _Source, line: int | None, col: int | None) -> str:
    """The parser's message with a hint that fits the mistake."""
    text = src.text.splitlines()[line - 1] if line and line <= len(src.text.splitlines()) else ""
    if re.search(r"\d\s*(deg|°)", text):
        return message + " (angles are in radians: write 30*pi/180 for 30°)"
    if "invalid decimal literal" in message:
        return message + " (write '2*x', not '2x')"
    called = "|".join(sorted(FUNCTIONS + tuple(ALIASES), key=len, reverse=True))
    m = re.search(rf"\b({called})\s+([A-Za-z0-9_(])", text)
    if m:
        return message + f" (call a function with brackets: {m.group(1)}(...), not '{m.group(0)}')"
    return message


def _fail(cls, message, src: _Source, line=None, col=None):
    return cls(message, source=src.text, line=line, col=col)


def _prescan(src: _Source) -> None:
    """Refuse deep nesting and huge statements before ``ast.parse``, which can itself run
    out of stack (``RecursionError``/``MemoryError``) on such input."""
    depth, operators = 0, 0
    for lineno, line in enumerate(src.lines, start=1):
        in_comment = False
        for i, ch in enumerate(line):
            if in_comment:
                break
            if ch == "#":
                in_comment = True
            elif ch in "([{":
                depth += 1
                if depth > LIMITS["brackets"]:
                    line_, col = src.position(lineno, i)
                    raise _fail(
                        ExprSyntaxError,
                        f"brackets nested deeper than {LIMITS['brackets']} levels",
                        src,
                        line_,
                        col,
                    )
            elif ch in ")]}":
                depth = max(0, depth - 1)
            elif ch == ";":
                operators = 0
            elif ch in "+-*/^~%@&|<>!":
                operators += 1
                if operators > LIMITS["operators"]:
                    line_, col = src.position(lineno, i)
                    raise _fail(
                        ExprSyntaxError,
                        f"more than {LIMITS['operators']} operators in one statement;"
                        " split it into named parts",
                        src,
                        line_,
                        col,
                    )
        if depth == 0 and not line.rstrip().endswith("\\"):
            operators = 0


def _ast_depth(tree: ast.AST) -> tuple[int, ast.AST]:
    """Depth of an ``ast`` tree (no recursion) and its deepest node."""
    best, deepest = 0, tree
    stack = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        if d > best:
            best, deepest = d, node
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return best, deepest


def parse(text: str, output: str | None = None) -> Program:
    """Parse ``text`` of the expression language into a :class:`Program`.

    ``output`` names the result when several assigned names are not used by any other.
    Raises :class:`ExprError` (a ``ValueError``) with the position for anything that is
    not in the language, and for circular or repeated definitions.
    """
    if not isinstance(text, str):
        raise ExprError(f"an expression must be a string, not {type(text).__name__}")
    if len(text) > LIMITS["chars"]:
        raise ExprSyntaxError(
            f"expression too long: {len(text)} characters (at most {LIMITS['chars']})"
        )
    src = _Source(text)
    if not src.python.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in src.lines
    ):
        raise ExprSyntaxError("empty expression", source=text, line=1, col=1)
    _prescan(src)
    try:
        tree = ast.parse(src.python, mode="exec")
    except SyntaxError as err:
        line, col = src.position(err.lineno, (err.offset or 1) - 1)
        message = _hint(err.msg or "invalid syntax", src, line, col)
        raise _fail(ExprSyntaxError, message, src, line, col) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as err:
        raise _fail(
            ExprSyntaxError,
            f"cannot parse: {err}" if str(err) else "expression too complex",
            src,
            1,
            1,
        ) from None
    depth, deepest = _ast_depth(tree)
    # Module > statement > value: two levels of the ast are not the expression's own.
    if depth - 2 > LIMITS["depth"]:
        line, col = src.node_position(deepest)
        raise _fail(
            ExprSyntaxError,
            f"expression nested deeper than {LIMITS['depth']} levels; name some parts",
            src,
            line,
            col,
        )
    return _build_program(tree, src, output)


def parse_constant(text: str) -> float:
    """The value of a constant expression such as ``"pi/4"`` or ``"-1e-3"`` (no names)."""
    prog = parse(text)
    if prog.inputs or len(prog.definitions) != 1:
        raise ExprError(f"expected a number, got {text!r}")
    from chainrule.explain.evaluate import constant_value

    value = constant_value(prog.definitions[prog.output].expr, prog)
    assert value is not None
    return value


# ------------------------------------------------------------- from ast to the language tree


class _Converter:
    def __init__(self, src: _Source):
        self.src = src

    def fail(self, node: ast.AST, message: str, cls=ExprError) -> ExprError:
        line, col = self.src.node_position(node)
        return _fail(cls, message, self.src, line, col)

    def pos(self, node: ast.AST) -> dict:
        line, col = self.src.node_position(node)
        return {"line": line, "col": col}

    def expr(self, node: ast.AST) -> Node:
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                spelled = _OP_SPELLING.get(type(node.op), type(node.op).__name__)
                raise self.fail(node, f"operator '{spelled}' is not allowed; use + - * / ** ^")
            left, right = self.expr(node.left), self.expr(node.right)
            if op == "**" and isinstance(left, Const) and left.name == "e":
                return Call("exp", right, **self.pos(node))  # e^x is exp(x)
            return BinOp(op, left, right, **self.pos(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Neg(self.expr(node.operand), **self.pos(node))
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            what = "'not'" if isinstance(node.op, ast.Not) else "'~'"
            raise self.fail(node, f"{what} is not allowed")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, _not_allowed(node))

    def constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(node, f"'{value}' is not allowed; only numbers")
        if isinstance(value, (str, bytes)):
            raise self.fail(node, "strings are not allowed")
        if isinstance(value, complex):
            raise self.fail(node, "complex numbers are not supported")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) > 1e300:
            raise self.fail(node, "number too large (at most 1e300)")
        return Num(number, **self.pos(node))

    def name(self, node: ast.Name) -> Node:
        if node.id in CONSTANTS:
            return Const(node.id, **self.pos(node))
        if node.id in FUNCTIONS or node.id in ALIASES:
            raise self.fail(node, f"'{node.id}' is a function: call it, as in {node.id}(x)")
        return Name(node.id, **self.pos(node))

    def call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only the functions " + ", ".join(FUNCTIONS) + " can be called")
        func = ALIASES.get(node.func.id, node.func.id)
        if func not in FUNCTIONS:
            hint = difflib.get_close_matches(node.func.id, FUNCTIONS + tuple(ALIASES), n=1)
            also = f"; did you mean '{hint[0]}'?" if hint else ""
            if node.func.id in CONSTANTS:
                raise self.fail(node, f"'{node.func.id}' is a constant, not a function")
            raise self.fail(
                node,
                f"unknown function '{node.func.id}'{also} (known: {', '.join(FUNCTIONS)}, ln)",
            )
        if node.keywords:
            raise self.fail(node.keywords[0].value, "keyword arguments are not allowed")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, _not_allowed(arg))
        arity = ARITY[func]
        if len(node.args) != arity:
            words = {1: "one argument", 2: "two arguments"}.get(arity, f"{arity} arguments")
            usage = "a, b" if arity == 2 else "x"
            raise self.fail(
                node,
                f"{node.func.id} takes exactly {words} ({len(node.args)} given), "
                f"as in {node.func.id}({usage})",
                ExprSyntaxError,
            )
        first, *more = (self.expr(a) for a in node.args)
        return Call(func, first, tuple(more), **self.pos(node))


def _not_allowed(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return "strings are not allowed"
    for cls, message in _NOT_ALLOWED.items():
        if isinstance(node, cls):
            return message
    return f"{type(node).__name__} is not allowed in an expression"


def _build_program(tree: ast.Module, src: _Source, output: str | None) -> Program:
    conv = _Converter(src)
    written: list[Definition] = []
    bare: list[tuple[Node, ast.AST]] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr):
            bare.append((conv.expr(stmt.value), stmt))
        elif isinstance(stmt, ast.Assign):
            written.append(_assignment(stmt, conv))
        else:
            message = _NOT_ALLOWED.get(type(stmt)) or (
                "only 'name = expression' and expressions are allowed, not "
                f"'{type(stmt).__name__.lower()}' statements"
            )
            raise conv.fail(stmt, message)
    defs: dict[str, Definition] = {}
    for d in written:
        if d.name in defs:
            first = defs[d.name]
            raise _fail(
                ExprError,
                f"'{d.name}' is defined twice (first at line {first.line}, column {first.col})",
                src,
                d.line,
                d.col,
            )
        defs[d.name] = d
    if len(bare) > 1:
        node, stmt = bare[1]
        raise conv.fail(
            stmt, "more than one expression without a name; give them names, as in 'y = ...'"
        )
    if bare:
        node, stmt = bare[0]
        used = {n for d in written for n in d.uses} | set(names_in(node)) | set(defs)
        name = next(
            n
            for n in ("f", "y", "z", "out", "result")
            + tuple(f"f{i}" for i in range(1, len(used) + 2))
            if n not in used
        )
        line, col = src.node_position(stmt)
        defs[name] = Definition(name, node, line, col, names_in(node), implicit=True)
    ordered = _topological(defs, src)
    out = _find_output(ordered, src, output, explicit=bool(bare))
    check_constants([d.expr for d in ordered.values()], src.text, LIMITS["exponent"])
    return Program(src.text, ordered, out)


def _assignment(stmt: ast.Assign, conv: _Converter) -> Definition:
    if len(stmt.targets) != 1:
        raise conv.fail(stmt.targets[1], "chained assignment ('a = b = ...') is not allowed")
    target = stmt.targets[0]
    if not isinstance(target, ast.Name):
        raise conv.fail(target, "can only assign to a single name, as in 'y = x**2'")
    if target.id in CONSTANTS:
        raise conv.fail(target, f"cannot assign to the constant '{target.id}'")
    if target.id in FUNCTIONS or target.id in ALIASES:
        raise conv.fail(target, f"cannot assign to '{target.id}': it is a function")
    value = conv.expr(stmt.value)
    line, col = conv.src.node_position(target)
    return Definition(target.id, value, line, col, names_in(value))


def _topological(defs: dict[str, Definition], src: _Source) -> dict[str, Definition]:
    """Definitions reordered so each follows those it uses (Kahn; stable in source order)."""
    pending = {name: {u for u in d.uses if u in defs} for name, d in defs.items()}
    ordered: dict[str, Definition] = {}
    while pending:
        ready = [name for name, needs in pending.items() if not needs]
        if not ready:
            raise _cycle_error(pending, defs, src)
        for name in ready:
            ordered[name] = defs[name]
            del pending[name]
        for needs in pending.values():
            needs.difference_update(ready)
    # Kahn by levels can put a name before one it does not need but that came first in the
    # text; that is still a valid order.
    return ordered


def _cycle_error(pending: dict[str, set], defs: dict[str, Definition], src: _Source) -> ExprError:
    # Walk from the first stuck name along unresolved uses until a name repeats.
    start = min(pending, key=lambda n: (defs[n].line, defs[n].col))
    path, seen = [start], {start: 0}
    while True:
        nxt = min(pending[path[-1]], key=lambda n: (defs[n].line, defs[n].col))
        if nxt in seen:
            cycle = path[seen[nxt] :] + [nxt]
            break
        seen[nxt] = len(path)
        path.append(nxt)
    d = defs[cycle[0]]
    if len(cycle) == 2:
        message = f"circular definition: '{d.name}' is defined in terms of itself"
    else:
        message = "circular definition: " + " -> ".join(cycle) + " (each uses the next)"
    return _fail(ExprError, message, src, d.line, d.col)


def _find_output(
    defs: dict[str, Definition], src: _Source, output: str | None, explicit: bool
) -> str:
    used = {u for d in defs.values() for u in d.uses}
    sinks = [name for name in defs if name not in used]
    if explicit:
        sinks_named = [n for n in sinks if not defs[n].implicit]
        if sinks_named:
            d = defs[sinks_named[0]]
            raise _fail(ExprError, f"'{d.name}' is defined but never used", src, d.line, d.col)
        return next(n for n in defs if defs[n].implicit)
    if output is not None:
        if output not in defs:
            raise ExprError(f"output '{output}' is not defined (defined: {', '.join(defs)})")
        return output
    if len(sinks) > 1:
        d = defs[sinks[1]]
        raise _fail(
            ExprError,
            "cannot tell which quantity is the result: "
            + ", ".join(sinks)
            + " are not used by any other; remove the extra ones or name the output",
            src,
            d.line,
            d.col,
        )
    return sinks[0]
