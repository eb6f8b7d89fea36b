"""The language's functions as a textbook writes their derivatives: max(a, b) and min(a, b)
with the engine's rule at a tie, and the one-link case of every activation.

Expected values come from SymPy's derivative of each function spelled out (log(1 + e^x),
x·(1 + erf(x/√2))/2, ...) or from arithmetic by hand, never from chainrule.
"""

import json
import math
import subprocess
import sys

import pytest

from chainrule.explain import differentiate, explain
from chainrule.explain.errors import ExprSyntaxError
from chainrule.explain.expr import parse

sp = pytest.importorskip("sympy")


def links(e):
    return {link.label: link for link in e.steps}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "chainrule", *args],
                          capture_output=True, text=True, timeout=120)


# ----- max and min ----------------------------------------------------------------------------


def test_max_of_two_is_split_and_each_link_has_its_rule():
    e = explain("max(x^2, y)", x=1.5, y=2.0)  # x² = 2.25 wins
    assert e.quantities["u"].definition == "x²"
    assert e.quantities["f"].definition == "max(u, y)"
    ln = links(e)
    assert ln["∂f/∂u"].formula == "(1 if u > y else 1/2 if u = y else 0)"
    assert ln["∂f/∂y"].formula == "(1 if y > u else 1/2 if u = y else 0)"
    assert ln["∂f/∂u"].value == 1.0 and ln["∂f/∂y"].value == 0.0
    assert e.derivatives["x"] == pytest.approx(2 * 1.5) and e.derivatives["y"] == 0.0
    assert e.checks and all(c.ok for c in e.checks)


@pytest.mark.parametrize("func", ["max", "min"])
def test_a_tie_gives_each_side_half_and_the_printed_rule_says_so(func):
    # The engine splits the gradient at a tie, as PyTorch does (torch.maximum(x, x) sends
    # 1/2 to each argument): the displayed rule has that case and is checked there.
    e = explain(f"{func}(x, y)", x=2.0, y=2.0)
    ln = links(e)
    for name in ("x", "y"):
        assert e.derivatives[name] == 0.5
        assert "1/2 if x = y" in ln[f"∂f/∂{name}"].formula
        assert ln[f"∂f/∂{name}"].symbolic_value == 0.5
    assert e.checks and all(c.ok for c in e.checks)


@pytest.mark.parametrize("point,expected", [(0.0, 0.5), (1.5, 1.0), (-1.0, 0.0)])
def test_maximum_in_a_python_function_has_the_engines_rule_at_the_tie(point, expected):
    # cr.maximum(x, 0.0) is max(x, 0), not ReLU: at x = 0 each side gets half the gradient
    # (as torch.maximum), and the rule shown must say so and pass its check there.
    import chainrule as cr

    e = explain(lambda x: cr.maximum(x, 0.0), x=point)
    assert e.derivatives["x"] == expected
    (link,) = links(e).values()
    assert "1/2 if x = 0" in link.formula
    assert link.symbolic_value == expected
    assert e.checks and all(c.ok for c in e.checks)


def test_min_picks_the_smaller_and_sends_it_the_gradient():
    e = explain("min(x, 3*y)", x=1.0, y=2.0)  # x = 1 < 6
    assert e.value == 1.0
    assert e.derivatives["x"] == 1.0 and e.derivatives["y"] == 0.0
    ln = links(e)
    assert ln["∂f/∂x"].formula.startswith("(1 if x < ")
    assert all(c.ok for c in e.checks)
    # min(3y, x) with 3y the smaller: d/dy = 3
    e = explain("min(x, 3*y)", x=10.0, y=2.0)
    assert e.derivatives["x"] == 0.0 and e.derivatives["y"] == 3.0


def test_max_and_min_against_sympy_at_random_points():
    rng = __import__("numpy").random.default_rng(3)
    x, y = sp.symbols("x y", real=True)
    exact = sp.Max(sp.sin(x) * y, sp.Min(x**2, y))
    for a, b in rng.normal(size=(5, 2)):
        e = explain("max(sin(x)*y, min(x^2, y))", x=float(a), y=float(b))
        for s in (x, y):
            want = float(sp.diff(exact, s).subs({x: float(a), y: float(b)}).evalf())
            assert e.derivatives[str(s)] == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert all(c.ok for c in e.checks)


@pytest.mark.parametrize("func, taken", [("max", ">"), ("min", "<")])
def test_max_and_min_in_every_format(func, taken):
    e = explain(f"{func}(x^2, y)", x=1.5, y=2.0)
    data = json.loads(e.to_json())
    pythons = [s["python"] for s in data["links"]]
    assert f"(1 if u {taken} y else 1/2 if u == y else 0)" in pythons
    assert f"(1 if y {taken} u else 1/2 if u == y else 0)" in pythons
    assert rf"\{func}\left(u, y\right)" in e.to_latex()
    assert rf"\{func}" in e.to_markdown()
    html = e.to_html()
    assert "<math" in html and func in html


def test_diff_of_softplus_twice_reads_as_the_textbooks_sigmoid_rule():
    # softplus′ = σ, so softplus″ = σ′ = σ·(1 − σ): the textbook's form, not −σ·(σ − 1)
    r = differentiate("softplus(x)", point={"x": 0.7}, order=2)
    assert r.pretty == "σ(x)·(1 − σ(x))"
    s = 1 / (1 + math.exp(-0.7))
    assert r.value == pytest.approx(s * (1 - s), rel=1e-12)


def test_diff_of_max_takes_the_winning_branch():
    r = differentiate("max(x, 3*x^2)", point={"x": 0.5})  # 3x² = 0.75 > 0.5: 6x = 3
    assert r.value == pytest.approx(3.0) and r.symbolic_value == pytest.approx(3.0)
    assert "1/2 if x = 3·x²" in r.pretty


@pytest.mark.parametrize("text, col", [("1 + max(x)", 5), ("min(x, 2, 3)", 1), ("sin(x, y)", 1)])
def test_a_wrong_number_of_arguments_points_at_the_call(text, col):
    with pytest.raises(ExprSyntaxError) as info:
        parse(text)
    name = text[col - 1:].split("(")[0]
    want = "one argument" if name == "sin" else "two arguments"
    assert f"{name} takes exactly {want}" in info.value.message
    assert info.value.col == col


def test_the_cli_shows_a_caret_under_a_wrong_call():
    r = run_cli("explain", "1 + max(x)", "--at", "x=1")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert "max takes exactly two arguments (1 given)" in lines[0]
    assert lines[1:3] == ["  1 + max(x)", "      ^"]


def test_max_is_parsed_not_evaluated():
    # a call whose arguments are not the language is refused, as for one-argument functions
    with pytest.raises(ValueError):
        parse("max(x, __import__('os'))")


# ----- one function of a bare input: the textbook's derivative ------------------------------

_X = sp.Symbol("x", real=True)
_SPELLED = {
    "sigmoid": 1 / (1 + sp.exp(-_X)),
    "tanh": sp.tanh(_X),
    "relu": sp.Piecewise((_X, _X > 0), (0, True)),
    "softplus": sp.log(1 + sp.exp(_X)),
    "gelu": _X * (1 + sp.erf(_X / sp.sqrt(2))) / 2,
    "leaky_relu": sp.Piecewise((_X, _X > 0), (_X / 100, True)),
    "sqrt": sp.sqrt(_X),
    "log": sp.log(_X),
    "exp": sp.exp(_X),
    "abs": sp.Abs(_X),
    "sin": sp.sin(_X),
    "cos": sp.cos(_X),
}
_TEXTBOOK = {
    "sigmoid": "σ(x)·(1 − σ(x))",
    "tanh": "1 − tanh²(x)",
    "relu": "(1 if x > 0 else 0)",
    "softplus": "σ(x)",
    "gelu": "x·φ(x) + Φ(x)",
    "leaky_relu": "(1 if x > 0 else 0.01)",
    "sqrt": "1/(2·√x)",
    "log": "1/x",
    "exp": "e^x",
    "abs": "sign(x)",
    "sin": "cos(x)",
    "cos": "−sin(x)",
}


@pytest.mark.parametrize("func", list(_TEXTBOOK))
@pytest.mark.parametrize("point", [0.7, -1.3])
def test_one_function_of_an_input_shows_the_textbook_rule_checked(func, point):
    if func in ("sqrt", "log") and point < 0:
        point = -point
    e = explain(f"{func}(x)", x=point)
    (link,) = e.steps
    assert link.formula == _TEXTBOOK[func]
    want = float(sp.diff(_SPELLED[func], _X).subs(_X, point).evalf())
    # the printed formula, evaluated at the point, is SymPy's derivative there ...
    assert link.symbolic_value == pytest.approx(want, rel=1e-12, abs=1e-15)
    # ... and the engine's, and that comparison is one of e.checks
    assert link.value == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert any(c.what == link.label and c.ok for c in e.checks)


@pytest.mark.parametrize("func", ["sigmoid", "softplus", "gelu", "leaky_relu"])
def test_diff_prints_the_same_textbook_rule(func):
    r = differentiate(f"{func}(x)", point={"x": 0.3})
    assert r.pretty == _TEXTBOOK[func]
    want = float(sp.diff(_SPELLED[func], _X).subs(_X, 0.3).evalf())
    assert r.symbolic_value == pytest.approx(want, rel=1e-12)


def test_chainrule_diff_sigmoid_on_the_command_line():
    r = run_cli("diff", "sigmoid(x)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "df/dx = σ(x)·(1 − σ(x))"


def test_softplus_on_the_command_line_reads_sigma():
    r = run_cli("explain", "softplus(x)", "--at", "x=1")
    assert r.returncode == 0, r.stderr
    want = 1 / (1 + math.exp(-1))
    assert f"df/dx = σ(x) = {want:.10g}" in r.stdout


# ----- display: the blog's ½, --at in the CLI's hint, the transform's own name ---------------

_SKYDIVER = {
    "blog": "P = 101325·e^(−0.0001·h); h = 4000 − g; g = ½·9.8·t²",
    "ascii": "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2",
}


def test_the_blog_skydiver_reads_as_written_and_is_checked_as_the_ascii_one():
    blog, ascii_ = (explain(_SKYDIVER[k], wrt="t", t=10.0) for k in ("blog", "ascii"))
    assert blog.quantities["g"].definition == "½·9.8·t²"
    assert ascii_.quantities["g"].definition == "0.5·9.8·t²"
    # dP/dt = 101325·e^(−0.0001·h)·(−0.0001)·(−9.8·t), h = 4000 − 4.9·t², by hand
    h = 4000 - 4.9 * 100
    want = 101325 * math.exp(-0.0001 * h) * 0.0001 * 9.8 * 10
    for e in (blog, ascii_):
        assert e.derivative == pytest.approx(want, rel=1e-12)
        assert all(c.ok for c in e.checks)
    assert [c.what for c in blog.checks] == [c.what for c in ascii_.checks]
    assert "dP/dt (symbolic)" in [c.what for c in blog.checks]


def test_a_missing_value_on_the_command_line_names_the_option():
    r = run_cli("explain", "sin(x)")
    assert r.returncode == 2
    assert "give one with --at x=1" in r.stderr and "as in x=1" not in r.stderr
    # the library still speaks of its keyword argument
    with pytest.raises(ValueError, match="as in x=1"):
        explain("sin(x)")


def test_transform_errors_name_the_function_called():
    import chainrule as cr

    with pytest.raises(TypeError, match=r"^grad: .*must return a scalar"):
        cr.grad(lambda x: x)(cr.ones(3))
    with pytest.raises(TypeError, match=r"^value_and_grad: "):
        cr.value_and_grad(lambda x: x)(cr.ones(3))
    with pytest.raises(ValueError, match=r"^grad: argnums=3"):
        cr.grad(lambda x: x, argnums=3)(1.0)
