"""The blog's notation in the expression language, hints that fit the mistake, and the
command line's --at with blanks, -o format inference and --version."""

import math
import subprocess
import sys

import pytest

from chainrule.explain import ExprSyntaxError, explain, parse


@pytest.mark.parametrize(
    "pretty, plain",
    [
        ("2·x × y", "2*x*y"),
        ("4000 − g", "4000 - g"),
        ("t² + t³ + x⁻¹", "t**2 + t**3 + x**-1"),
        ("½·9.8·t²", "(1/2)*9.8*t**2"),
        ("√x + √(x + 1) + √2", "sqrt(x) + sqrt(x + 1) + sqrt(2)"),
        ("π·r²", "pi*r**2"),
        ("σ(w·x + b)", "sigmoid(w*x + b)"),
        ("e^x + e^(−x)", "exp(x) + exp(-x)"),
        ("tanh²(z)", "tanh(z)**2"),
        ("x ÷ 2", "x/2"),
    ],
)
def test_mathematical_notation_reads_as_the_ascii_form(pretty, plain):
    assert str(parse(pretty).definitions["f"].expr) == str(parse(plain).definitions["f"].expr)


def test_the_skydiver_in_the_blogs_notation():
    e = explain("P = 101325·e^(−0.0001·h); h = 4000 − g; g = ½·9.8·t²", wrt="t", t=10)
    expected = 101325 * math.exp(-0.0001 * (4000 - 4.9 * 100)) * 0.0001 * 98
    assert e.derivative == pytest.approx(expected, rel=1e-12)
    assert round(e.derivative, 7) == 699.0453078


def test_function_style_definitions():
    prog = parse("P(h) = 101325·e^(−0.0001·h); h(g) = 4000 − g; g(t) = ½·9.8·t²")
    assert prog.output == "P" and prog.inputs == ("t",)
    e = explain("f(x) = x²·sin(x)", x=2.0)
    assert e.output == "f"
    assert e.derivative == pytest.approx(4 * math.sin(2) + 4 * math.cos(2), rel=1e-13)


@pytest.mark.parametrize(
    "text, hint, col",
    [
        ("sin(30deg)", "angles are in radians", 6),
        ("sin(30°)", "angles are in radians", 7),
        ("2x + 1", "write '2*x', not '2x'", 1),
        ("sin x", "call a function with brackets: sin(...)", 5),
    ],
)
def test_hints_fit_the_mistake(text, hint, col):
    with pytest.raises(ExprSyntaxError) as info:
        parse(text)
    assert hint in str(info.value)
    assert info.value.col == col


def test_the_caret_points_at_the_users_own_column_after_rewrites():
    text = "y = tanh²(z)·½ + foo(z)"
    with pytest.raises(ValueError) as info:
        parse(text)
    assert "unknown function 'foo'" in str(info.value)
    assert text[info.value.col - 1 :].startswith("foo")


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_cli_at_with_blanks_version_and_output_format_from_the_extension(tmp_path):
    done = _run("explain", "x^2", "--at", "x = 3")
    assert done.returncode == 0 and "dy/dx" not in done.stderr
    assert "= 6" in done.stdout
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.startswith("chainrule ")
    for name, start in [("e.json", "{"), ("e.md", "`"), ("e.tex", "\\begin"), ("e.dot", "digraph")]:
        out = tmp_path / name
        done = _run("explain", "sin(x^2)", "--at", "x=1", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert out.read_text().lstrip().startswith(start), name
    out = tmp_path / "e.json"
    done = _run("explain", "sin(x^2)", "--at", "x=1", "-o", str(out), "--format", "text")
    assert out.read_text().startswith("sin(x^2)")
    done = _run("explain", "sin(x^2)", "--at", "x=1", "-o", str(tmp_path / "e.xyz"))
    assert done.returncode == 2 and "say it with --format" in done.stderr
