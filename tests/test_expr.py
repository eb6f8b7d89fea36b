"""The expression language: parsing, evaluation, SymPy conversion, and every refusal.

Expected values are computed independently here (with ``math`` or by hand), never taken
from the parser's own output.
"""

import math
import time

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.explain.errors import ExprDomainError, ExprError, ExprSyntaxError
from chainrule.explain.evaluate import evaluate, numpy_functions
from chainrule.explain.expr import LIMITS, parse, parse_constant
from chainrule.explain.nodes import FUNCTIONS, BinOp, Call, Const, Name, Neg, Num, walk
from chainrule.explain.symbolic import to_sympy

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def value_of(text, **point):
    prog = parse(text)
    return prog.evaluate(point)[prog.output]


# ------------------------------------------------------------------------------ parsing


def test_skydiver_structure():
    prog = parse(SKYDIVER)
    assert prog.output == "P"
    assert prog.inputs == ("t",)
    assert prog.order == ("g", "h", "P")
    assert prog.definitions["h"].uses == ("g",)
    assert prog.definitions["P"].expr == BinOp(
        "*", Num(101325.0), Call("exp", BinOp("*", Neg(Num(0.0001)), Name("h")))
    )


def test_skydiver_values_match_hand_computation():
    values = parse(SKYDIVER).evaluate({"t": 10.0})
    assert values["g"] == pytest.approx(490.0, rel=1e-14)  # 0.5 * 9.8 * 100
    assert values["h"] == pytest.approx(3510.0, rel=1e-14)
    assert values["P"] == pytest.approx(101325 * math.exp(-0.351), rel=1e-14)
    assert values["P"] == pytest.approx(71331.15386, abs=1e-5)  # the figure


def test_order_of_assignments_does_not_matter():
    a = parse("g = 0.5*9.8*t**2\nh = 4000 - g\nP = 101325*exp(-0.0001*h)")
    b = parse(SKYDIVER)
    assert a.order == b.order and a.output == b.output
    assert {k: str(d) for k, d in a.definitions.items()} == {
        k: str(d) for k, d in b.definitions.items()
    }


def test_bare_expression_gets_a_name():
    prog = parse("x**2*sin(x)")
    assert prog.inputs == ("x",)
    d = prog.definitions[prog.output]
    assert d.implicit and prog.output == "f"
    assert prog.evaluate({"x": 2.0})["f"] == pytest.approx(4 * math.sin(2.0))
    # a name the user already uses is not taken for the result
    assert parse("f*2").output != "f"


def test_bare_expression_with_assignments():
    prog = parse("y = x**2; x*y + sin(x)")
    assert prog.inputs == ("x",)
    assert prog.evaluate({"x": 1.5})[prog.output] == pytest.approx(1.5**3 + math.sin(1.5))


@pytest.mark.parametrize(
    "text, x, expected",
    [
        ("x^2 + 1", 3.0, 10.0),  # ^ is a power and binds tighter than +
        ("2^3^2", 0.0, 512.0),  # right-associative: 2^(3^2)
        ("2**3**2", 0.0, 512.0),
        ("-x**2", 3.0, -9.0),  # -(x**2)
        ("(-x)**2", 3.0, 9.0),
        ("-2^2", 0.0, -4.0),
        ("+x - -x", 2.0, 4.0),
        ("x/2/4", 8.0, 1.0),  # left-associative
        ("x - 1 - 1", 5.0, 3.0),
        ("2*x^-1", 4.0, 0.5),
        ("1e-4*x", 2.0, 2e-4),
        ("1E3 + .5 + 2.", 0.0, 1002.5),
        ("ln(e^x)", 1.7, 1.7),
        ("sin(pi/6)*x", 1.0, 0.5),
        ("sqrt(x)", 16.0, 4.0),
        ("abs(x) + relu(x) + relu(-x)", -2.0, 4.0),
        ("sigmoid(x)", 0.0, 0.5),
        ("sigmoid(x)", math.log(3.0), 0.75),
        ("tanh(x)", 0.5, (math.e - 1) / (math.e + 1)),  # tanh(1/2) = (e - 1)/(e + 1)
        ("asin(x) + acos(x)", 0.3, math.pi / 2),
        ("atan(x)", 1.0, math.pi / 4),
        ("cosh(x)^2 - sinh(x)^2", 1.3, 1.0),
        ("tan(x)", math.pi / 4, 1.0),
        ("exp(x)", 1.0, math.e),
    ],
)
def test_evaluation_against_hand_values(text, x, expected):
    point = {"x": x} if "x" in parse(text).inputs else {}
    assert value_of(text, **point) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_newlines_comments_indentation_and_continuations():
    text = """
        # the skydiver, indented as in a triple-quoted string
        P = 101325*exp(-0.0001*h)   # pressure
        h = 4000 - g
        g = 0.5*9.8*t**2 \\
            + 0
    """
    prog = parse(text)
    assert prog.output == "P" and prog.inputs == ("t",)
    assert prog.evaluate({"t": 10.0})["h"] == pytest.approx(3510.0)


def test_str_prints_back_the_same_tree():
    prog = parse("a = -(x + y)*z; b = (-x)**2 - (y - z) + 2**(-x) / (y/z); c = a^b^2 + b")
    again = parse(str(prog))
    for name, d in prog.definitions.items():
        assert again.definitions[name].expr == d.expr


def test_evaluate_on_arrays():
    prog = parse("y = x**2 + sin(x)")
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(prog.evaluate({"x": x})["y"], x**2 + np.sin(x), rtol=1e-15)


def test_evaluate_with_a_custom_namespace():
    calls = []

    def my_exp(v):
        calls.append(v)
        return np.exp(v)

    fns = dict(numpy_functions(), exp=my_exp)
    prog = parse("exp(x) + 1")
    out = evaluate(prog.definitions[prog.output].expr, {"x": np.array([0.0, 1.0])}, fns)
    np.testing.assert_allclose(out, [2.0, math.e + 1])
    assert len(calls) == 1


def test_parse_constant():
    assert parse_constant("pi/4") == pytest.approx(math.pi / 4)
    assert parse_constant("-1e-3") == -0.001
    assert parse_constant("2^10") == 1024.0
    with pytest.raises(ExprError, match="expected a number"):
        parse_constant("x + 1")


# ------------------------------------------------------------------------------ SymPy


def test_sympy_local_formulas_and_derivative_of_the_skydiver():
    t, h = sympy.Symbol("t", real=True), sympy.Symbol("h", real=True)
    exprs = parse(SKYDIVER).to_sympy()
    dP_dh = sympy.diff(exprs["P"], h)
    assert sympy.sstr(dP_dh, full_prec=False) == "-10.1325*exp(-0.0001*h)"
    assert sympy.sstr(sympy.diff(exprs["g"], t), full_prec=False) == "9.8*t"
    full = parse(SKYDIVER).to_sympy(expand=True)["P"]
    # dP/dt at t = 10 from the issue: 699.0453078 Pa/s
    assert float(sympy.diff(full, t).subs(t, 10)) == pytest.approx(699.0453078, abs=1e-6)


def test_sympy_functions():
    x = sympy.Symbol("x", real=True)

    def sym(text):
        prog = parse(text)
        return prog.to_sympy()[prog.output]

    assert sym("sigmoid(x)") == 1 / (1 + sympy.exp(-x))
    assert sym("relu(x)") == sympy.Max(0, x)
    assert sym("abs(x)") == sympy.Abs(x)
    assert sym("ln(x)") == sympy.log(x)
    assert sym("asin(x) + acos(x) + atan(x)") == sympy.asin(x) + sympy.acos(x) + sympy.atan(x)
    assert sym("pi*e^x") == sympy.pi * sympy.exp(x)
    assert sym("x^2") == x**2 and sym("x^2").exp.is_Integer  # integral numbers stay exact
    assert sympy.diff(sym("abs(x)"), x) == sympy.sign(x)
    s = sym("sigmoid(x)")
    assert sympy.simplify(sympy.diff(s, x) - s * (1 - s)) == 0


def test_sympy_names_are_never_interpreted():
    # "E", "I", "S" and "N" mean things to sympify; here they are plain symbols.
    prog = parse("E + I + S + N + beta")
    expr = prog.to_sympy()[prog.output]
    assert expr.free_symbols == {sympy.Symbol(n, real=True) for n in ("E", "I", "S", "N", "beta")}
    assert to_sympy(Name("x"), {"x": sympy.Integer(3)}) == 3


# ------------------------------------------------------------------------------ refusals

ERRORS = [
    # (text, error class, words in the message, line, column)
    ("1 +", ExprSyntaxError, "invalid syntax", 1, 4),
    ("x = (1 + 2", ExprSyntaxError, "never closed", 1, 5),
    ("2x", ExprSyntaxError, "2*x", 1, 1),
    ("y = 1\nz = y +* 2", ExprSyntaxError, "invalid syntax", 2, 8),
    ("foo(x)", ExprError, "unknown function 'foo'", 1, 1),
    ("y = x + sine(x)", ExprError, "did you mean 'sin'", 1, 9),
    ("y = exp", ExprError, "'exp' is a function", 1, 5),
    ("pi(2)", ExprError, "'pi' is a constant", 1, 1),
    ("x.real", ExprError, "attribute access", 1, 1),
    ("(1).__class__", ExprError, "attribute access", 1, 1),
    ("x[0]", ExprError, "indexing", 1, 1),
    ("x(2)", ExprError, "unknown function 'x'", 1, 1),
    ("exp(x)(2)", ExprError, "only the functions", 1, 1),
    ("__import__('os')", ExprError, "unknown function '__import__'", 1, 1),
    ("'hello'", ExprError, "strings", 1, 1),
    ("f'{x}'", ExprError, "strings", 1, 1),
    ("x + b'1'", ExprError, "strings", 1, 5),
    ("lambda: 1", ExprError, "lambda", 1, 1),
    ("[x for x in y]", ExprError, "comprehensions", 1, 1),
    ("sum(x for x in y)", ExprError, "unknown function", 1, 1),
    ("exp(x for x in y)", ExprError, "comprehensions", 1, 4),
    ("log(x, base=2)", ExprError, "keyword arguments", 1, 13),
    ("log(x, 2)", ExprError, "exactly one argument (2 given)", 1, 1),
    ("sin()", ExprError, "exactly one argument (0 given)", 1, 1),
    ("exp(*x)", ExprError, "unpacking", 1, 5),
    ("x < y", ExprError, "comparisons", 1, 1),
    ("x and y", ExprError, "'and' and 'or'", 1, 1),
    ("not x", ExprError, "'not'", 1, 1),
    ("~x", ExprError, "'~'", 1, 1),
    ("x % 2", ExprError, "operator '%'", 1, 1),
    ("x // 2", ExprError, "operator '//'", 1, 1),
    ("x if y else z", ExprError, "conditional", 1, 1),
    ("(y := 2)", ExprError, "':='", 1, 2),
    ("x, y", ExprError, "tuples", 1, 1),
    ("{1: 2}", ExprError, "dicts", 1, 1),
    ("True + x", ExprError, "'True' is not allowed", 1, 1),
    ("None", ExprError, "'None' is not allowed", 1, 1),
    ("2j", ExprError, "complex", 1, 1),
    ("1e400", ExprError, "number too large", 1, 1),
    ("import os", ExprError, "'import' statements", 1, 1),
    ("def f(): pass", ExprError, "statements", 1, 1),
    ("x += 1", ExprError, "augmented assignment", 1, 1),
    ("x ^= 1", ExprError, "augmented assignment", 1, 1),
    ("x: int = 1", ExprError, "annotations", 1, 1),
    ("a = b = x", ExprError, "chained assignment", 1, 5),
    ("a, b = x, y", ExprError, "single name", 1, 1),
    ("x.y = 1", ExprError, "single name", 1, 1),
    ("pi = 3", ExprError, "constant 'pi'", 1, 1),
    ("exp = x", ExprError, "it is a function", 1, 1),
    ("a = b + 1; b = c; c = a", ExprError, "circular definition: a -> b -> c -> a", 1, 1),
    ("y = 2*y", ExprError, "'y' is defined in terms of itself", 1, 1),
    ("y = x; y = 2*x", ExprError, "'y' is defined twice (first at line 1, column 1)", 1, 8),
    ("a = x\nb = x", ExprError, "cannot tell which quantity is the result: a, b", 2, 1),
    ("a = x; x + 1", ExprError, "'a' is defined but never used", 1, 1),
    ("x; y", ExprError, "more than one expression without a name", 1, 4),
    ("", ExprSyntaxError, "empty", 1, 1),
    ("  # only a comment", ExprSyntaxError, "empty", 1, 1),
    ("9**9**9**9", ExprError, "exponent 3.8742e+08 is too large", 1, 7),
    ("10**100000", ExprError, "exponent 100000 is too large", 1, 5),
    ("x^(10^5)", ExprError, "exponent 100000 is too large", 1, 4),
    ("(x + 1)**5000", ExprError, "exponent 5000 is too large", 1, 10),
    ("10.0**400", ExprError, "too large (about 10^400)", 1, 1),
    ("exp(exp(exp(10)))", ExprError, "too large", 1, 5),
    ("y = 1/(2 - 2)", ExprDomainError, "division by zero", 1, 5),
    ("log(-1) + x", ExprDomainError, "log(-1) is undefined", 1, 1),
    ("sqrt(0 - 4)", ExprDomainError, "sqrt(-4) is undefined", 1, 1),
    ("(-8)^(1/3)", ExprDomainError, "not a real number", 1, 1),
    ("acos(2)", ExprDomainError, "acos(2) is undefined", 1, 1),
    ("0^-1", ExprDomainError, "zero to a negative power", 1, 1),
    ("x\n  + ", ExprSyntaxError, "invalid syntax", 2, 5),
]


@pytest.mark.parametrize("text, cls, words, line, col", ERRORS)
def test_each_refusal_names_the_problem_and_its_position(text, cls, words, line, col):
    with pytest.raises(cls) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert words in err.message, err.message
    assert (err.line, err.col) == (line, col), str(err)
    assert "\n" not in str(err)
    assert str(err).endswith(f"(line {line}, column {col})")


def test_syntax_errors_are_also_syntax_errors_with_a_caret():
    with pytest.raises(SyntaxError) as info:
        parse("y = 3 * * x")
    err = info.value
    assert isinstance(err, ExprSyntaxError) and isinstance(err, ValueError)
    assert (err.lineno, err.offset) == (err.line, err.col) == (1, 9)
    src, caret = err.caret().split("\n")
    assert src.strip() == "y = 3 * * x"
    assert caret.index("^") == src.index("* x")


def test_caret_follows_the_users_text_through_rewrites():
    # "^" becomes "**" and indentation is removed before parsing: columns must not shift.
    with pytest.raises(ExprError) as info:
        parse("    a = x^2 + x^3 + foo(x)")
    assert info.value.col == 1 + "    a = x^2 + x^3 + foo(x)".index("foo")
    with pytest.raises(ExprError) as info:
        parse("θ = 1; y = θ + ψ.real")
    assert info.value.col == 1 + "θ = 1; y = θ + ψ.real".index("ψ")


def test_limits_are_checked_before_parsing_and_quickly():
    n = LIMITS["chars"]
    nasty = [
        "x" * (n + 1),
        "(" * 101 + "x" + ")" * 101,
        "-" * (n - 1) + "x",
        "~" * (n - 1) + "x",
        "x" + "**x" * (n // 3 - 1),
        "1" + "+1" * (n // 2 - 1),
        "f(" * 3000 + "x",
        "9" * 4000,
        "1" * 5000,
        "[" * 2000,
        "(" * 100 + "x" + ")" * 100 + "+" + "2" * 9000,
    ]
    start = time.perf_counter()
    for text in nasty:
        assert len(text) <= n + 1
        with pytest.raises(ExprError):
            parse(text)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(ExprSyntaxError, match="too long: 10001 characters"):
        parse("x" * (n + 1))
    with pytest.raises(ExprSyntaxError, match="brackets nested deeper than 100") as info:
        parse("(" * 101 + "x" + ")" * 101)
    assert info.value.col == 101
    parse("(" * 100 + "x" + ")" * 100)  # exactly at the limit is fine
    with pytest.raises(ExprSyntaxError, match="nested deeper than 200 levels"):
        parse("x" + "+x" * 201)
    parse("x" + "+x" * 150)


# ------------------------------------------------------------------------------ at a point


def test_point_errors():
    prog = parse(SKYDIVER)
    with pytest.raises(ExprError, match="no value for 't' at the point") as info:
        prog.evaluate({})
    assert (info.value.line, info.value.col) == (1, 1 + SKYDIVER.index("t**2"))
    with pytest.raises(ExprError, match="'s' is not a name in the expression"):
        prog.evaluate({"t": 1.0, "s": 2.0})
    with pytest.raises(ExprError, match="'h' is defined by the expression"):
        prog.evaluate({"t": 1.0, "h": 2.0})


@pytest.mark.parametrize(
    "text, point, words, col",
    [
        ("y = log(x - 2); z = y + 1", 1.0, "log(-1) is undefined: log is defined for x > 0", 5),
        ("y = 1/x; z = y*2", 0.0, "division by zero: 1/0", 5),
        ("y = sqrt(x)", -4.0, "sqrt(-4) is undefined", 5),
        ("y = x**0.5", -4.0, "not a real number", 5),
        ("y = asin(x)", 1.5, "asin(1.5) is undefined", 5),
        ("y = exp(x)", 1000.0, "exp(1000) is too large", 5),
    ],
)
def test_domain_errors_at_the_point_name_the_link(text, point, words, col):
    prog = parse(text)
    for x in (point, np.float64(point), np.array([point, point])):
        with pytest.raises(ExprDomainError) as info:
            prog.evaluate({"x": x})
        assert words in info.value.message
        assert "the definition of 'y'" in info.value.message
        assert info.value.col == col


def test_domain_check_can_be_turned_off():
    prog = parse("log(x)")
    with np.errstate(all="ignore"):
        out = evaluate(
            prog.definitions[prog.output].expr, {"x": np.array([-1.0])}, None, check_domain=False
        )
    assert np.isnan(out[0])


# ------------------------------------------------------------------------------ fuzzing

_ALPHABET = "0123456789.eE+-*/^()xyzt_,;=\n\t #'\"[]{}:<>!%@&|~\\abcdefgilnoprsu"


@settings(
    max_examples=400, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=_ALPHABET, max_size=120)))
def test_random_text_raises_only_expr_errors(text):
    try:
        prog = parse(text)
    except ExprError as err:
        assert "\n" not in str(err)
        return
    point = {name: 0.7 for name in prog.inputs}
    try:
        prog.evaluate(point)
    except ExprError:
        pass


def _trees():
    leaves = st.one_of(
        st.sampled_from([Name("x"), Name("y"), Const("pi"), Const("e")]),
        st.floats(0, 20, allow_nan=False).map(lambda v: Num(round(v, 3))),
    )

    def extend(children):
        return st.one_of(
            st.builds(BinOp, st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
            st.builds(Neg, children),
            st.builds(Call, st.sampled_from(FUNCTIONS), children),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_trees())
def test_printed_trees_parse_back_and_agree_with_sympy(tree):
    text = str(tree)
    try:
        prog = parse(text)
    except ExprError:
        return  # constants out of range or domain: refused, which is allowed
    assert prog.definitions[prog.output].expr == tree
    point = {"x": 0.3, "y": 1.7}
    point = {k: v for k, v in point.items() if k in prog.inputs}
    try:
        value = float(prog.evaluate(point)[prog.output])
        parts = [abs(float(evaluate(sub, point))) for sub in walk(tree)]
    except ExprError:
        return
    if max(parts) > 1e4:
        return  # rounding of large intermediates, amplified (cos(0.3 + 7**12)): no test
    # pi and e as the floats the evaluator uses, so that sin(pi) is 1.2e-16 in both
    floats = {sympy.pi: sympy.Float(math.pi, 30), sympy.E: sympy.Float(math.e, 30)}
    symbolic = prog.to_sympy()[prog.output].subs(floats)
    subs = {sympy.Symbol(k, real=True): sympy.Float(v, 30) for k, v in point.items()}
    # Max/Abs at the point and exp of large values evaluate fine in SymPy's floats.
    try:
        expected = complex(symbolic.evalf(30, subs=subs))
    except (TypeError, ValueError):
        return  # SymPy cannot compare Max(0, 0e-166): the oracle, not the parser, gave up
    if math.isfinite(value) and abs(value) < 1e12 and abs(expected.imag) < 1e-9:
        # Loose enough for float64 rounding amplified by conditioning (sin(pi**17)).
        assert value == pytest.approx(expected.real, rel=1e-6, abs=1e-9)
