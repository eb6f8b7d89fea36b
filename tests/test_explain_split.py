"""Composites split into their chain, and formulas printed as a textbook writes them.

Expected numbers are computed here by hand (math), never read from chainrule.
"""

import json
import math
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.explain import explain

pytest.importorskip("sympy")


def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def links(e):
    return {link.label: link for link in e.steps}


# ----- the worked examples ------------------------------------------------------------------


@pytest.mark.parametrize("f", ["sin(x^2)", lambda x: cr.sin(x**2)], ids=["string", "function"])
def test_sin_of_x_squared_is_outer_times_inner(f):
    e = explain(f, x=1.0)
    q = e.quantities
    assert list(q) == ["x", "u", "f"]
    assert q["u"].definition == "x²" and q["u"].value == 1.0
    assert q["f"].definition == "sin(u)" and q["f"].value == pytest.approx(math.sin(1.0))
    ln = links(e)
    assert list(ln) == ["df/du", "du/dx"]
    assert ln["df/du"].formula == "cos(u)" and ln["df/du"].value == pytest.approx(math.cos(1.0))
    assert ln["du/dx"].formula == "2·x" and ln["du/dx"].value == 2.0
    assert e.derivative == pytest.approx(2 * math.cos(1.0), rel=1e-14)
    assert round(e.derivative, 9) == 1.080604612
    text = e.to_text()
    assert "df/dx = df/du · du/dx" in text
    assert "df/du = cos(u) = 0.5403023059" in text
    assert e.agrees and len(e.checks) >= 3


def test_a_power_of_a_sum_splits_at_the_power():
    e = explain("(x^2+1)^3", x=2.0)
    assert e.quantities["u"].definition == "x² + 1" and e.quantities["u"].value == 5.0
    ln = links(e)
    assert ln["df/du"].formula == "3·u²" and ln["df/du"].value == 75.0
    assert ln["du/dx"].formula == "2·x" and ln["du/dx"].value == 4.0
    assert e.derivative == 300.0 and e.agrees


@pytest.mark.parametrize(
    "f", ["sigmoid(w*x+b)", lambda w, x, b: cr.sigmoid(w * x + b)], ids=["string", "function"]
)
def test_a_neuron_splits_at_its_pre_activation_z(f):
    e = explain(f, wrt="w", w=0.5, x=1.5, b=0.1)
    z = 0.5 * 1.5 + 0.1
    assert e.quantities["z"].value == pytest.approx(0.85)
    ln = links(e)
    assert ln["df/dz"].formula == "σ(z)·(1 − σ(z))"
    assert ln["df/dz"].python == "(1 - sigmoid(z))*sigmoid(z)"
    assert ln["df/dz"].value == pytest.approx(_sigmoid(z) * (1 - _sigmoid(z)), rel=1e-13)
    assert round(ln["df/dz"].value, 10) == 0.2097728214
    assert ln["∂z/∂w"].formula == "x" and ln["∂z/∂w"].value == 1.5
    assert e.derivative == pytest.approx(1.5 * _sigmoid(z) * (1 - _sigmoid(z)), rel=1e-13)
    # The issue prints 0.3146592321; the exact value is 0.314659232040 (shown 0.314659232).
    assert e.derivative == pytest.approx(0.3146592321, abs=1e-10)
    assert e.agrees


def test_the_gaussian_splits_only_where_an_input_is_inside():
    e = explain("exp(-x^2/2)/sqrt(2*pi)", x=1.0)
    assert list(e.quantities) == ["x", "u", "f"]  # sqrt(2π) is a constant: not split
    assert e.quantities["u"].value == -0.5
    assert e.derivative == pytest.approx(-math.exp(-0.5) / math.sqrt(2 * math.pi), rel=1e-13)
    assert e.agrees


def test_nested_functions_are_named_from_the_outside_in():
    e = explain("sin(cos(x^2))", x=0.7)
    q = e.quantities
    assert [q[n].definition for n in ("v", "u", "f")] == ["x²", "cos(v)", "sin(u)"]
    expected = math.cos(math.cos(0.49)) * -math.sin(0.49) * 1.4
    assert e.derivative == pytest.approx(expected, rel=1e-13)
    assert "df/dx = df/du · du/dv · dv/dx" in e.to_text()


def test_inner_names_avoid_names_in_use_and_equal_arguments_share_one():
    e = explain("sin(u*v) + cos(u*v)", u=0.3, v=2.0)
    assert list(e.quantities) == ["u", "v", "w", "f"]
    assert e.quantities["w"].definition == "u·v"
    w = 0.6
    assert e.derivatives["u"] == pytest.approx((math.cos(w) - math.sin(w)) * 2.0, rel=1e-13)


def test_named_quantities_are_the_links_unless_split_is_true():
    sky = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"
    assert [link.label for link in explain(sky, wrt="t", t=10).steps] == [
        "dP/dh",
        "dh/dg",
        "dg/dt",
    ]
    e = explain(sky, wrt="t", t=10, split=True)
    assert [link.label for link in e.steps] == ["dP/du", "du/dh", "dh/dg", "dg/dt"]
    assert e.quantities["u"].definition == "−0.0001·h"
    assert e.derivative == pytest.approx(699.0453078, abs=5e-8) and e.agrees

    def pressure(t):
        g = cr.named(0.5 * 9.8 * t**2, "g")
        h = cr.named(4000 - g, "h")
        return cr.named(101325 * cr.exp(-0.0001 * h), "P")

    assert [link.label for link in explain(pressure, t=10.0).steps] == [
        "dP/dh",
        "dh/dg",
        "dg/dt",
    ]
    assert len(explain(pressure, t=10.0, split=True).steps) == 4


def test_split_false_keeps_one_link():
    e = explain("sin(x^2)", x=1.0, split=False)
    assert [link.label for link in e.steps] == ["df/dx"]
    assert e.steps[0].formula == "2·x·cos(x²)" and e.steps[0].python == "2*x*cos(x**2)"
    with pytest.raises(ValueError, match="split must be 'auto', True or False"):
        explain("sin(x^2)", x=1.0, split="yes")


# ----- textbook formulas --------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, formula, derivative",
    [
        ("tanh(w*x)", "1 − tanh²(z)", lambda v: 1 - math.tanh(v) ** 2),
        ("sqrt(w*x)", "1/(2·√u)", lambda v: 0.5 / math.sqrt(v)),
        ("log(w*x)", "1/u", lambda v: 1 / v),
        ("cos(w*x)", "−sin(u)", lambda v: -math.sin(v)),
        ("exp(w*x)", "e^u", math.exp),
        ("relu(w*x)", "(1 if z > 0 else 0)", lambda v: 1.0 if v > 0 else 0.0),
    ],
)
def test_each_function_s_derivative_is_the_textbook_s(expr, formula, derivative):
    e = explain(expr, wrt="w", w=0.4, x=1.5)
    outer = e.steps[0]
    assert outer.formula == formula
    assert outer.value == pytest.approx(derivative(0.6), rel=1e-13)
    assert e.agrees


def test_a_squared_error_keeps_its_bracket():
    e = explain("L = (y - a)^2; a = sigmoid(w*x+b)", wrt="w", w=0.5, x=1.5, b=0.1, y=1.0)
    assert links(e)["∂L/∂a"].formula == "−2·(y − a)"
    a = _sigmoid(0.85)
    assert links(e)["∂L/∂a"].value == pytest.approx(-2 * (1 - a), rel=1e-13)


def test_json_keeps_the_python_form_beside_the_pretty_one():
    data = json.loads(explain("sin(x^2)", x=1.0).to_json())
    link = next(k for k in data["links"] if k["label"] == "du/dx")
    assert link["formula"] == "2·x" and link["python"] == "2*x" and link["latex"] == "2 x"
    u = next(q for q in data["quantities"] if q["name"] == "u")
    assert u["definition"] == "x²" and u["python"] == "x**2"


def test_markdown_and_latex_stay_latex():
    e = explain("sigmoid(w*x+b)", wrt="w", w=0.5, x=1.5, b=0.1)
    assert r"\sigma\left(z\right)" in e.to_latex()
    assert r"\sigma\left(z\right)" in e.to_markdown()
    assert "·" not in e.to_latex()


# ----- command line -------------------------------------------------------------------------


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_split_and_no_split():
    done = _run("explain", "sin(x^2)", "--at", "x=1")
    assert done.returncode == 0
    assert "u = x²" in done.stdout and "df/dx = df/du · du/dx" in done.stdout
    done = _run("explain", "sin(x^2)", "--at", "x=1", "--no-split")
    assert "df/dx = 2·x·cos(x²) = 1.080604612" in done.stdout and "u = " not in done.stdout
    done = _run(
        "explain",
        "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2",
        "--at",
        "t=10",
        "--split",
    )
    assert "dP/dt = dP/du · du/dh · dh/dg · dg/dt" in done.stdout


def test_html_typesets_each_link_formula_offline_with_mathml():
    page = explain("sigmoid(w*x+b)", wrt="w", w=0.5, x=1.5, b=0.1).to_html()
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" aria-label="σ(z)·(1 − σ(z))">' in page
    assert "<mi>σ</mi>" in page
    assert "<script src" not in page and "<link" not in page  # nothing fetched
