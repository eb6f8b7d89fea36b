"""The command line: explain, diff, demo, the train hook, and one-line errors with status 2."""

import json
import subprocess
import sys
import types

import pytest

from chainrule.cli import main

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_explain_text(capsys):
    status, out, err = run(capsys, "explain", SKYDIVER, "--wrt", "t", "--at", "t=10")
    assert status == 0 and err == ""
    assert "dP/dt = dP/dh · dh/dg · dg/dt" in out
    assert "= 699.0453078" in out


@pytest.mark.parametrize(
    "fmt, marker",
    [
        ("markdown", r"\frac{dP}{dt}"),
        ("latex", r"\begin{align*}"),
        ("dot", "digraph chainrule"),
    ],
)
def test_explain_formats(capsys, fmt, marker):
    status, out, _ = run(capsys, "explain", SKYDIVER, "--at", "t=10", "--format", fmt)
    assert status == 0 and marker in out


def test_explain_json_and_points(capsys):
    status, out, _ = run(capsys, "explain", "z = x*y + sin(x); y = x**2", "--at", "x=3/2")
    assert status == 0 and "z ← y ← x" in out
    status, out, _ = run(capsys, "explain", "f = a*b", "--at", "a=2,b=pi", "--format", "json")
    data = json.loads(out)
    assert data["derivatives"]["a"] == pytest.approx(3.141592653589793)
    assert data["derivatives"]["b"] == pytest.approx(2.0)
    status, out, _ = run(
        capsys, "explain", "f = a*b", "--at", "a=2", "--at", "b=3", "--wrt", "b", "--format", "json"
    )
    assert json.loads(out)["derivatives"] == {"b": 2.0}


def test_diff(capsys):
    status, out, _ = run(capsys, "diff", "x**2*sin(x)", "--wrt", "x", "--order", "2", "--at", "x=0")
    assert status == 0
    assert out.splitlines() == [
        "d^2f/dx^2 = 4·x·cos(x) + 2·sin(x) − x²·sin(x)",
        "at x = 0: d^2f/dx^2 = 0",
    ]
    status, out, _ = run(capsys, "diff", "y = x^3", "--format", "latex")
    assert status == 0 and out.strip() == r"\frac{dy}{dx} = 3 x^{2}"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["explain", "P = foo(h)", "--at", "h=1"], "unknown function 'foo'"),
        (["explain", "y = x.real", "--at", "x=1"], "attribute access"),
        (["explain", "y = x[0]", "--at", "x=1"], "indexing"),
        (["explain", "y = __import__('os')", "--at", "x=1"], "unknown function"),
        (["explain", "y = 'text'", "--at", "x=1"], "strings"),
        (["explain", "y = log(x)"], "no value for 'x'"),
        (["explain", "y = log(x)", "--at", "x=-1"], "log(-1) is undefined"),
        (["explain", "y = log(x)", "--at", "z=1"], "'z' is not a name"),
        (["explain", "y = log(x)", "--at", "x"], "--at expects name=value"),
        (["explain", "y = log(x)", "--at", "x=os"], "expected a number"),
        (["explain", "y = 9**9**9**9*x", "--at", "x=1"], "exponent"),
        (["explain", "a = b; b = a"], "circular definition"),
        (["explain", "y = x", "--at", "x=1", "--wrt", "q"], "not an input"),
        (["explain", "x" * 10001], "too long"),
        (["diff", "x", "--order", "0"], "order"),
        (["diff", "x*y"], "say which input"),
        (["nonsense"], "invalid choice"),
        ([], "a command is needed: explain, diff, demo"),
        (["explain"], "expression"),
        (["explain", "y = x", "--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(capsys, argv, words):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("chainrule") and "error:" in lines[0] and words in lines[0]
    assert "Traceback" not in err


def test_syntax_error_shows_a_caret(capsys):
    status, _, err = run(capsys, "explain", "P = 3 * * h", "--at", "h=1")
    assert status == 2
    line, source, caret = err.rstrip("\n").split("\n")
    assert line == "chainrule explain: error: invalid syntax (line 1, column 9)"
    assert source.strip() == "P = 3 * * h"
    assert caret.index("^") == source.index("* h")


def test_demo_without_training(capsys):
    status, out, _ = run(capsys, "demo", "--no-train")
    assert status == 0
    assert "699.0453078" in out and "chainrule train" in out


def test_train_subcommand_is_wired_when_present(monkeypatch, capsys):
    calls = []

    def add_parser(subparsers):
        p = subparsers.add_parser("train", help="train a network")
        p.add_argument("--epochs", type=int, default=1)

    fake = types.ModuleType("chainrule.train_cli")
    fake.add_parser = add_parser
    fake.run = lambda args: calls.append(args.epochs) or 0
    monkeypatch.setitem(sys.modules, "chainrule.train_cli", fake)
    import chainrule

    monkeypatch.setattr(chainrule, "train_cli", fake, raising=False)
    status, _, _ = run(capsys, "train", "--epochs", "3")
    assert status == 0 and calls == [3]
    status, out, _ = run(capsys, "demo")
    assert status == 0 and calls == [3, 5] and "699.0453078" in out


def test_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "y = x**2", "--at", "x=3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "dy/dx = 2·x = 6" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "y = x +", "--at", "x=3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_diff_infinite_at_the_point_is_inf_without_numpy_warnings(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # d/dx sqrt(x) = 1/(2 sqrt(x)) divides by zero at 0
        status, out, err = run(capsys, "diff", "sqrt(x)", "--wrt", "x", "--at", "x=0")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[1] == "at x = 0: df/dx = inf"
    assert lines[2].startswith("note: Not finite at this point") and "not checked" in lines[2]


def test_diff_where_the_chain_rule_gives_inf_times_0_is_a_note_not_a_failure(capsys):
    # d/dx sqrt(x**2) at 0: the chain rule's 1/(2 sqrt(u)) · 2x = inf · 0 = nan (PyTorch
    # gives nan too); the simplified formula sign(x) gives 0. Not differentiable there.
    status, out, err = run(capsys, "diff", "sqrt(x^2)", "--wrt", "x", "--at", "x=0")
    assert status == 0 and "CHECK FAILED" not in err
    assert "at x = 0: df/dx = nan" in out and "not differentiable here" in out


def test_an_expression_starting_with_minus_gets_a_hint(capsys):
    status, _, err = run(capsys, "diff", "-x**2", "--at", "x=3")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "leading space" in err and "'--'" in err
    status, out, _ = run(capsys, "diff", "--at", "x=3", "--", "-x**2")
    assert status == 0 and out.splitlines()[-1] == "at x = 3: df/dx = -6"
