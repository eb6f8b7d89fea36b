"""Formulas the way a textbook writes them: ``σ(z)·(1 − σ(z))``, ``1 − tanh²(z)``, ``x²``.

Two kinds of formula are printed: SymPy expressions (each link's derivative, the
definitions of a traced function) and trees of the expression language (definitions as
the user wrote them).  Both print with ``·`` for products, ``−`` for minus, superscript
powers (``x²``), ``√x``, ``e^u``, ``π``, ``σ`` and ``|x|``.  The plain Python form
(``2*x*cos(x**2)``) is kept beside the pretty one for JSON and for copying into code.

SymPy writes the logistic function out as ``1/(1 + exp(−z))``, and differentiates it to
``exp(−z)/(1 + exp(−z))²``.  :func:`textbook` rewrites it as the function ``σ(z)`` whose
derivative SymPy then gives as ``σ(z)·(1 − σ(z))``: the formula a learner knows, and the
same number (the printed expression is the one evaluated and checked at the point).
Likewise ``Max(0, z)`` prints as ``ReLU(z)`` and its derivative ``Heaviside(z)`` as
``(1 if z > 0 else 0)``.

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> s = textbook(1 / (1 + sp.exp(-z)))
>>> pretty(sp.diff(s, z))
'σ(z)·(1 − σ(z))'
>>> pretty(sp.diff(sp.tanh(z), z)), pretty(sp.diff(sp.sqrt(z), z))
('1 − tanh²(z)', '1/(2·√z)')
"""

from __future__ import annotations

import functools
import re

from chainrule.explain.nodes import BinOp, Call, Const, Name, Neg, Node, Num, format_number

__all__ = [
    "factor_like",
    "pretty",
    "python_form",
    "latex",
    "mathml",
    "textbook",
    "pretty_node",
    "superscript",
]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: Function names as a textbook writes them.
_NAMES = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "sigmoid": "σ",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "gelu": "GELU",
    "Phi": "Φ",
    "phi": "φ",
}


def superscript(n: int) -> str:
    """``2`` -> ``"²"``, ``-1`` -> ``"⁻¹"``."""
    return str(n).translate(_SUPERSCRIPT)


def _minus(text: str) -> str:
    # "−" (U+2212) for every minus sign, except in a number's exponent (1e-05).
    return re.sub(r"(?<![0-9.]e)-", "−", text)


def textbook(expr):
    """``expr`` with SymPy's spelled-out forms replaced by the functions a textbook names:
    ``1/(1 + exp(−a))`` by ``σ(a)``, ``log(1 + exp(a))`` by ``softplus(a)``, ``Max(a, b)``
    by ``max(a, b)`` (whose derivative gives the engine's 1/2 at a tie).  The value is
    unchanged."""
    import sympy as sp

    from chainrule.explain.textbook import classes

    named = classes()
    sigmoid = named["sigmoid"]

    def is_logistic(e) -> bool:
        if not (e.is_Pow and e.exp == -1 and e.base.is_Add and len(e.base.args) == 2):
            return False
        one, other = sorted(e.base.args, key=lambda a: not a.is_Number)
        return one == 1 and isinstance(other, sp.exp)

    def to_sigma(e):
        other = next(a for a in e.base.args if isinstance(a, sp.exp))
        return sigmoid(-other.args[0])

    def is_softplus(e) -> bool:  # log(1 + e^a)
        return (isinstance(e, sp.log) and e.args[0].is_Add and len(e.args[0].args) == 2
                and sp.S.One in e.args[0].args
                and any(isinstance(a, sp.exp) for a in e.args[0].args))

    def to_softplus(e):
        return named["softplus"](next(a for a in e.args[0].args if isinstance(a, sp.exp)).args[0])

    def is_extremum(e) -> bool:  # Max(a, b), Min(a, b), but ReLU's Max(0, z) stays
        return isinstance(e, (sp.Max, sp.Min)) and len(e.args) == 2 and sp.S.Zero not in e.args

    def to_extremum(e):
        return named["max" if isinstance(e, sp.Max) else "min"](*e.args)

    try:
        expr = expr.replace(is_logistic, to_sigma)
        expr = expr.replace(is_softplus, to_softplus)
        return expr.replace(is_extremum, to_extremum)
    except Exception:  # noqa: BLE001 - an expression replace() cannot walk: as it is
        return expr


def factor_like(sp, d, definition):
    """``d`` written as ``c·(S)`` where ``S`` is a sum in ``definition`` and ``c`` is
    simpler than ``d``: the derivative of ``(y − a)²`` by ``a`` reads ``−2·(y − a)``, as a
    textbook keeps the bracket, not SymPy's ``2·a − 2·y``.  Otherwise ``d`` unchanged."""
    if not d.is_Add:
        return d
    size = sp.count_ops(d)
    sums = [s for s in sp.preorder_traversal(definition) if s.is_Add]
    for s in sums:
        if s.free_symbols - d.free_symbols:
            continue
        c = sp.cancel(d / s)
        if c.free_symbols <= d.free_symbols and sp.count_ops(c) + sp.count_ops(s) < size:
            if sp.simplify(c * s - d) == 0:
                return sp.Mul(c, s, evaluate=False)
    return d


def _printers():
    from sympy.printing.precedence import PRECEDENCE, precedence
    from sympy.printing.str import StrPrinter

    class Textbook(StrPrinter):
        """SymPy's string printer with textbook notation."""

        def _print_Float(self, expr):
            v = float(expr)
            return format_number(v) if v == int(v) and abs(v) < 1e15 else f"{v:.10g}"

        def _print_Pi(self, expr):
            return "π"

        def _print_Exp1(self, expr):
            return "e"

        def _print_ImaginaryUnit(self, expr):
            return "i"

        def _power(self, base, exp) -> str | None:
            """``base`` to an integer ``exp`` from 2 to 99 as a superscript, or None."""
            if exp.is_Integer and 2 <= int(exp) <= 99:
                return f"{base}{superscript(int(exp))}"
            return None

        def _print_Pow(self, expr, rational=False):
            import sympy as sp

            base, exp = expr.base, expr.exp
            if exp is sp.S.Half:
                inner = self._print(base)
                simple = base.is_Atom and not (base.is_Number and base < 0)
                return f"√{inner}" if simple else f"√({inner})"
            if exp.is_Number and exp < 0:
                return f"1/{self.parenthesize(sp.Pow(base, -exp), PRECEDENCE['Mul'] + 1)}"
            if isinstance(base, sp.Function) and exp.is_Integer and 2 <= int(exp) <= 99:
                # tanh(z)² is written tanh²(z)
                head, _, rest = self._print(base).partition("(")
                if rest:
                    return f"{head}{superscript(int(exp))}({rest}"
            b = self.parenthesize(base, precedence(expr), strict=True)
            if base.is_Number and base < 0:
                b = f"({self._print(base)})"
            sup = self._power(b, exp)
            if sup is not None:
                return sup
            e = self._print(exp)
            if not (exp.is_Symbol or (exp.is_Integer and exp >= 0)):
                e = f"({e})"
            return f"{b}^{e}"

        def _print_Mul(self, expr):
            import sympy as sp

            coeff, rest = expr.as_coeff_Mul()
            factors = sp.Mul.make_args(rest)
            fraction = coeff.is_Rational and not coeff.is_Integer  # x/2, not 1/2·x
            if (
                fraction
                or any(f.is_Pow and f.exp.is_Number and f.exp < 0 for f in factors)
                or (coeff < 0 and coeff != -1)
            ):
                return super()._print_Mul(expr).replace("*", "·")

            # A textbook's order: the number, then plain factors, then bracketed sums
            # (σ(z)·(1 − σ(z)), 6·x·(x² + 1)²).
            def rank(f):
                return 2 if f.is_Add or (f.is_Pow and f.base.is_Add) else 1

            ordered = sorted(factors, key=rank)
            parts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in ordered]
            if abs(coeff) != 1:
                parts.insert(0, self._print(abs(coeff)))
            text = "·".join(parts)
            return f"-{text}" if coeff < 0 else text

        def _print_Add(self, expr, order=None):
            # Terms with a plus sign first, as written by hand: y − a rather than −a + y.
            terms = self._as_ordered_terms(expr, order=order)
            terms = sorted(terms, key=lambda t: t.could_extract_minus_sign())
            out = []
            for i, term in enumerate(terms):
                text = self._print(term)
                if text.startswith("-"):
                    sign, text = "-", text[1:]
                else:
                    sign = "+"
                if precedence(term) < PRECEDENCE["Add"]:
                    text = f"({text})"
                out.append(
                    text
                    if i == 0 and sign == "+"
                    else (f"-{text}" if i == 0 else f" {sign} {text}")
                )
            return "".join(out)

        def _print_exp(self, expr):
            import sympy as sp

            arg = expr.args[0]
            text = self._print(arg)
            if arg.is_Symbol or (arg.is_Number and arg >= 0):
                return f"e^{text}"
            del sp
            return f"e^({text})"

        def _print_Abs(self, expr):
            return f"|{self._print(expr.args[0])}|"

        def _print_Piecewise(self, expr):
            # (1 if a > b else 1/2 if a = b else 0): Python's order, a textbook's cases.
            import sympy as sp

            text = ""
            for value, cond in expr.args:
                v = self._print(value)
                if cond is sp.true:
                    return f"({text}{v})"
                if isinstance(cond, sp.Eq):
                    c = f"{self._print(cond.lhs)} = {self._print(cond.rhs)}"
                else:
                    c = self._print(cond)
                text += f"{v} if {c} else "
            return f"({text}undefined)"

        def _print_Heaviside(self, expr):
            return f"(1 if {self._print(expr.args[0])} > 0 else 0)"

        def _print_Max(self, expr):
            import sympy as sp

            args = expr.args
            if len(args) == 2 and sp.S.Zero in args:
                other = args[0] if args[1] == 0 else args[1]
                return f"ReLU({self._print(other)})"
            return "max(" + ", ".join(self._print(a) for a in args) + ")"

        def _print_Min(self, expr):
            return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_Function(self, expr):
            name = expr.func.__name__
            name = _NAMES.get(name, name)
            return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    return Textbook


@functools.lru_cache(maxsize=1)
def _printer():
    return _printers()()


def pretty(expr) -> str:
    """A SymPy expression in textbook notation (``x²``, ``·``, ``−``, ``√``, ``σ``)."""
    return _minus(_printer().doprint(expr))


@functools.lru_cache(maxsize=1)
def _python_printer():
    import sympy as sp
    from sympy.printing.str import StrPrinter

    class Python(StrPrinter):
        """SymPy's string printer; cases as Python's conditional expression."""

        def _print_Piecewise(self, expr):
            text = ""
            for value, cond in expr.args:
                if cond is sp.true:
                    return f"({text}{self._print(value)})"
                c = self._print(cond)
                if isinstance(cond, sp.Eq):
                    c = f"{self._print(cond.lhs)} == {self._print(cond.rhs)}"
                text += f"{self._print(value)} if {c} else "
            return f"({text}nan)"

    return Python({"full_prec": False})


def python_form(expr) -> str:
    """The plain Python form (``2*x*cos(x**2)``; ``σ`` as ``sigmoid``; cases as
    ``(1 if x > y else 1/2 if x == y else 0)``)."""
    return _python_printer().doprint(expr)


def latex(expr) -> str:
    """LaTeX of a SymPy expression (``\\sigma`` for the logistic function)."""
    import sympy as sp

    return sp.latex(expr, full_prec=False)


@functools.lru_cache(maxsize=1)
def _mathml_printer():
    import sympy as sp
    from sympy.printing.mathml import MathMLPresentationPrinter
    from sympy.printing.precedence import PRECEDENCE

    class TextbookMathML(MathMLPresentationPrinter):
        """SymPy's presentation MathML in the textbook's order, as :func:`pretty` writes
        the same formula: terms with a plus sign first (y − a), in a product the number,
        then plain factors, then bracketed sums (σ(z)·(1 − σ(z))); tanh²(z); cases."""

        def _mo(self, text):
            mo = self.dom.createElement("mo")
            mo.appendChild(self.dom.createTextNode(text))
            return mo

        def _print_Add(self, expr, order=None):
            terms = sorted(self._as_ordered_terms(expr, order=order),
                           key=lambda t: t.could_extract_minus_sign())
            mrow = self.dom.createElement("mrow")
            for i, term in enumerate(terms):
                negative = term.could_extract_minus_sign()
                if i or negative:
                    mrow.appendChild(self._mo("-" if negative else "+"))
                shown = -term if negative else term
                mrow.appendChild(self.parenthesize(shown, PRECEDENCE["Add"], strict=True)
                                 if shown.is_Add else self._print(shown))
            return mrow

        def _print_Mul(self, expr):
            coeff, rest = expr.as_coeff_Mul()
            factors = sp.Mul.make_args(rest)
            if (coeff.is_Rational and not coeff.is_Integer) or any(
                    f.is_Pow and f.exp.is_Number and f.exp < 0 for f in factors):
                return super()._print_Mul(expr)  # a fraction: SymPy's mfrac
            ordered = sorted(factors, key=lambda f: 2 if f.is_Add or (
                f.is_Pow and f.base.is_Add) else 1)
            mrow = self.dom.createElement("mrow")
            if coeff < 0:
                mrow.appendChild(self._mo("-"))
            parts = ([self._print(abs(coeff))] if abs(coeff) != 1 else []) + [
                self.parenthesize(f, PRECEDENCE["Mul"]) for f in ordered]
            for i, part in enumerate(parts):
                if i:
                    mrow.appendChild(self._mo("·"))
                mrow.appendChild(part)
            return mrow

        def _print_Pow(self, expr):
            base, exp = expr.base, expr.exp
            if isinstance(base, sp.Function) and exp.is_Integer and 2 <= int(exp) <= 99:
                # tanh(z)² is written tanh²(z)
                mrow = self.dom.createElement("mrow")
                sup = self.dom.createElement("msup")
                name = self.dom.createElement("mi")
                name.appendChild(self.dom.createTextNode(base.func.__name__))
                sup.appendChild(name)
                sup.appendChild(self._print(exp))
                mrow.appendChild(sup)
                mrow.appendChild(self._mo("("))
                for i, a in enumerate(base.args):
                    if i:
                        mrow.appendChild(self._mo(","))
                    mrow.appendChild(self._print(a))
                mrow.appendChild(self._mo(")"))
                return mrow
            return super()._print_Pow(expr)

        def _print_Piecewise(self, expr):
            # { 1 if a > b; 1/2 if a = b; 0 otherwise: a brace and a table of cases
            mrow = self.dom.createElement("mrow")
            brace = self._mo("{")
            brace.setAttribute("stretchy", "true")
            mrow.appendChild(brace)
            table = self.dom.createElement("mtable")
            table.setAttribute("columnalign", "left left")
            for value, cond in expr.args:
                tr = self.dom.createElement("mtr")
                td = self.dom.createElement("mtd")
                td.appendChild(self._print(value))
                tr.appendChild(td)
                td = self.dom.createElement("mtd")
                words = self.dom.createElement("mtext")
                words.appendChild(self.dom.createTextNode(
                    "\u00a0otherwise" if cond is sp.true else "\u00a0if\u00a0"))
                td.appendChild(words)
                if cond is not sp.true:
                    td.appendChild(self._print(cond))
                tr.appendChild(td)
                table.appendChild(tr)
            mrow.appendChild(table)
            return mrow

        def _print_Heaviside(self, expr):
            # ReLU′: the engine's 0 at 0
            return self._print(sp.Piecewise((1, expr.args[0] > 0), (0, True)))

        def _print_Max(self, expr):
            if len(expr.args) == 2 and sp.S.Zero in expr.args:
                other = expr.args[0] if expr.args[1] == 0 else expr.args[1]
                return self._print(sp.Function("relu")(other))
            return super()._print_Max(expr)

    return TextbookMathML({"order": None})


def mathml(expr) -> str:
    """Presentation MathML of a SymPy expression, for a browser to typeset offline, in the
    textbook's order (as :func:`pretty` prints it)."""
    text = _mathml_printer().doprint(expr)
    return _mathml_names(text)


def _mathml_names(text: str) -> str:
    # SymPy names the function class; a reader knows it as σ, Φ, GELU ...
    for name, shown in _NAMES.items():
        text = text.replace(f"<mi>{name}</mi>", f"<mi>{shown}</mi>")
    # a minus sign, not a hyphen (also of a negative number)
    return text.replace("<mo>-</mo>", "<mo>−</mo>").replace("<mn>-", "<mo>−</mo><mn>")


# ----- trees of the expression language -------------------------------------------------------

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4, "atom": 5}


def _prec(node: Node) -> int:
    if isinstance(node, BinOp):
        return _PREC["atom"] if _vulgar(node) else _PREC[node.op]
    if isinstance(node, Neg):
        return _PREC["neg"]
    if isinstance(node, Num) and node.value < 0:
        return _PREC["neg"]
    return _PREC["atom"]


def pretty_node(node: Node) -> str:
    """A tree of the expression language in textbook notation, as the user wrote it
    (``0.5·9.8·t²``, ``101325·e^(−0.0001·h)``, ``σ(w·x + b)``)."""
    return _minus(_node_text(node))


#: Fractions written as one character, as the blog notation writes them (``½·9.8·t²``).
_VULGAR = {(1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾"}


def _vulgar(node: BinOp) -> str | None:
    """``½`` for the tree of ``1/2`` (as the language reads ``½``), else None."""
    if node.op != "/" or not (isinstance(node.left, Num) and isinstance(node.right, Num)):
        return None
    return _VULGAR.get((node.left.value, node.right.value))


def _node_text(node: Node) -> str:
    # Recursion is bounded: parse() refuses trees deeper than its depth limit. The helpers
    # get their operands' text already written, so each level of the tree is one frame.
    if isinstance(node, Num):
        return format_number(node.value)
    if isinstance(node, Const):
        return "π" if node.name == "pi" else node.name
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Call) and node.more:
        return f"{_NAMES.get(node.func, node.func)}({', '.join(map(_node_text, node.args))})"
    if isinstance(node, Call):
        return _call_text(node, _node_text(node.arg))
    if isinstance(node, Neg):
        inner = _node_text(node.operand)
        bare = _prec(node.operand) >= _PREC["**"]
        return f"-{inner}" if bare else f"-({inner})"
    assert isinstance(node, BinOp)
    fraction = _vulgar(node)
    if fraction is not None:
        return fraction
    return _binop_text(node, _node_text(node.left), _node_text(node.right))


def _simple_arg(arg: Node) -> bool:
    """An argument written without brackets after ``√`` or as an exponent of ``e``."""
    return isinstance(arg, (Name, Const)) or (isinstance(arg, Num) and arg.value >= 0)


def _call_text(node: Call, arg: str) -> str:
    """A one-argument call, ``arg`` being its argument's text: ``√x``, ``|x|``, ``e^x``,
    ``sin(x)``."""
    if node.func == "sqrt":
        return f"√{arg}" if _simple_arg(node.arg) else f"√({arg})"
    if node.func == "abs":
        return f"|{arg}|"
    if node.func == "exp":
        return f"e^{arg}" if _simple_arg(node.arg) else f"e^({arg})"
    return f"{_NAMES.get(node.func, node.func)}({arg})"


def _binop_text(node: BinOp, left: str, right: str) -> str:
    """A binary operation from its operands' texts, bracketing them by precedence."""
    p = _PREC[node.op]
    lp, rp = _prec(node.left), _prec(node.right)
    if lp < p or (node.op == "**" and lp <= p):
        left = f"({left})"
    if node.op == "**":
        return _power_text(node, left, right, rp)
    if rp < p or (rp == p and node.op != "+"):
        right = f"({right})"
    if p == 1:
        return f"{left} {node.op} {right}"
    return f"{left}·{right}" if node.op == "*" else f"{left}/{right}"


def _power_text(node: BinOp, left: str, right: str, rp: int) -> str:
    """``left`` to the power ``right``: a small whole exponent as a superscript (after the
    function's name for a call, ``sin²(x)``), else ``left^right``."""
    r = node.right
    if isinstance(r, Num) and r.value == int(r.value) and 2 <= r.value <= 99:
        if isinstance(node.left, Call) and node.left.func not in ("sqrt", "abs", "exp"):
            head, _, rest = left.partition("(")
            return f"{head}{superscript(int(r.value))}({rest}"
        return f"{left}{superscript(int(r.value))}"
    if rp < _PREC["atom"] or not isinstance(r, (Name, Num, Const)):
        right = f"({right})"
    return f"{left}^{right}"
