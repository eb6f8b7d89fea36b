"""The HTML page's typeset formulas say what the text says: MathML in the textbook's order
(the label's), and definitions typeset as the user wrote them."""

import html
import re

import pytest

from chainrule.explain import explain
from chainrule.explain.expr import parse
from chainrule.explain.typeset import mathml_node

pytest.importorskip("sympy")


def _reading(mathml: str) -> str:
    """What MathML reads as, in a line: its text without tags (superscripts as digits)."""
    return html.unescape(re.sub(r"<[^>]+>", "", mathml)).replace("\u00a0", "")


def _flat(text: str) -> str:
    return text.replace(" ", "").replace("²", "2").replace("³", "3")


@pytest.mark.parametrize("text, point", [
    ("L = (y - sigmoid(w*x+b))^2", dict(w=0.5, x=1.5, b=0.1, y=1.0)),
    ("(y - a)^2", dict(y=1.0, a=0.3)),
    ("tanh(x^2 + 1)*x", dict(x=0.5)),
    ("sin(x)*cos(y) - x*y", dict(x=0.5, y=0.2)),
])
def test_each_links_mathml_reads_as_its_textbook_label(text, point):
    e = explain(text, **point)
    typeset = [link for link in e.steps if link.mathml]
    assert typeset
    for link in typeset:
        assert _reading(link.mathml) == _flat(link.formula), link.label


def test_the_neurons_rule_is_typeset_in_the_textbook_order():
    e = explain("L = (y - sigmoid(w*x+b))^2", wrt="w", w=0.5, x=1.5, b=0.1, y=1.0)
    link = next(lk for lk in e.steps if lk.label == "∂u/∂z")
    assert link.formula == "−σ(z)·(1 − σ(z))"
    assert _reading(link.mathml) == "−σ(z)·(1−σ(z))"  # SymPy's own order: −(1 − σ(z))σ(z)


def test_definitions_are_typeset_as_written():
    e = explain("P = 101325·e^(−0.0001·h); h = 4000 − g; g = ½·9.8·t²", wrt="t", t=10.0)
    q = e.quantities
    assert _reading(q["g"].mathml) == "½·9.8·t2"
    assert _reading(q["h"].mathml) == "4000−g"
    assert "<msup><mi>e</mi>" in q["P"].mathml
    page = e.to_html()
    assert 'aria-label="½·9.8·t²"' in page and q["g"].mathml in page


@pytest.mark.parametrize("text, reading", [
    ("f = (x^2 + 1)^3", "(x2+1)3"),
    ("f = -(a + b)*c", "−(a+b)·c"),
    ("f = sigmoid(w*x + b)", "σ(w·x+b)"),
    ("f = max(x, y^2)", "max(x,y2)"),
    ("f = abs(x - 1)", "|x−1|"),
    ("f = a - (b - c)", "a−(b−c)"),
])
def test_trees_typeset_with_the_brackets_they_need(text, reading):
    tree = parse(text).definitions["f"].expr
    assert _reading(mathml_node(tree)) == reading


def test_a_name_is_escaped():
    tree = parse("f = x + 1").definitions["f"].expr
    assert "<mi>x</mi>" in mathml_node(tree)
