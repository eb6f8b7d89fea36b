"""Presentation MathML of the expression language's trees: a definition typeset as the
user wrote it (``g = ½·9.8·t²``, ``P = 101325·e^(−0.0001·h)``), for the HTML page.

The tree is the parser's (:mod:`chainrule.explain.nodes`), never user text, and every name
and number is escaped; the layout follows :func:`chainrule.explain.pretty.pretty_node`
(the same brackets, ``σ``, ``√``, ``|x|``, ``e^u``, ``x²``, ``½``) with fractions as
``<mfrac>``.

>>> from chainrule.explain.expr import parse
>>> mathml_node(parse("sqrt(x)/2").definitions["f"].expr)
'<mfrac><msqrt><mi>x</mi></msqrt><mn>2</mn></mfrac>'
"""

from __future__ import annotations

from html import escape

from chainrule.explain.nodes import BinOp, Call, Const, Name, Neg, Node, Num, format_number
from chainrule.explain.pretty import _NAMES, _PREC, _prec, _vulgar

__all__ = ["mathml_node"]


def _mi(text: str) -> str:
    return f"<mi>{escape(text)}</mi>"


def _mn(value: float) -> str:
    text = format_number(abs(value))
    inner = f"<mn>{escape(text)}</mn>"
    return f"<mrow><mo>−</mo>{inner}</mrow>" if value < 0 else inner


def _paren(inner: str) -> str:
    return f"<mrow><mo>(</mo>{inner}<mo>)</mo></mrow>"


def _tprec(node: Node) -> int:
    """Binding strength once typeset: a fraction (``<mfrac>``) needs no brackets."""
    if isinstance(node, BinOp) and node.op == "/":
        return _PREC["atom"]
    return _prec(node)


def mathml_node(node: Node) -> str:
    """The tree ``node`` as presentation MathML (without the ``<math>`` element)."""
    # Recursion is bounded: parse() refuses trees deeper than its depth limit.
    if isinstance(node, Num):
        return _mn(node.value)
    if isinstance(node, Const):
        return _mi("π" if node.name == "pi" else "e")
    if isinstance(node, Name):
        return _mi(node.id)
    if isinstance(node, Neg):
        inner = mathml_node(node.operand)
        if _tprec(node.operand) < _PREC["**"]:
            inner = _paren(inner)
        return f"<mrow><mo>−</mo>{inner}</mrow>"
    if isinstance(node, Call):
        args = [mathml_node(a) for a in node.args]
        if node.func == "sqrt":
            return f"<msqrt>{args[0]}</msqrt>"
        if node.func == "abs":
            return f"<mrow><mo>|</mo>{args[0]}<mo>|</mo></mrow>"
        if node.func == "exp":
            return f"<msup>{_mi('e')}<mrow>{args[0]}</mrow></msup>"
        inner = "<mo>,</mo>".join(args)
        return f"<mrow>{_mi(_NAMES.get(node.func, node.func))}{_paren(inner)}</mrow>"
    assert isinstance(node, BinOp)
    fraction = _vulgar(node)
    if fraction is not None:
        return f"<mn>{fraction}</mn>"
    left, right = mathml_node(node.left), mathml_node(node.right)
    if node.op == "/":
        return f"<mfrac>{left}{right}</mfrac>"
    p = _PREC[node.op]
    lp, rp = _tprec(node.left), _tprec(node.right)
    if node.op == "**":
        if lp <= p or isinstance(node.left, BinOp) and not _vulgar(node.left):
            left = _paren(left)  # (x + 1)², (a/b)²
        return f"<msup><mrow>{left}</mrow><mrow>{right}</mrow></msup>"
    if lp < p:
        left = _paren(left)
    if rp < p or (rp == p and node.op != "+"):
        right = _paren(right)
    op = {"+": "+", "-": "−", "*": "·"}[node.op]
    return f"<mrow>{left}<mo>{op}</mo>{right}</mrow>"

