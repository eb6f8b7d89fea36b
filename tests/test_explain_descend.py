"""Gradient descent, shown: ``Explanation.descend`` and ``chainrule explain --lr``.

Expected numbers are computed here by hand for the neuron L = (y − σ(w·x + b))²."""

import math
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.explain import explain

NEURON = "L = (y - sigmoid(w*x+b))^2"
POINT = dict(w=0.5, x=1.5, b=0.1, y=1.0)


def _loss_and_grads(w, b, x=1.5, y=1.0):
    s = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (s - y) * s * (1 - s)  # dL/dz
    return (y - s) ** 2, dz * x, dz


def test_one_step_is_the_issues_example():
    e = explain(NEURON, wrt="w", **POINT)
    d = e.descend(0.5)
    (step,) = d.steps
    loss, dw, _ = _loss_and_grads(0.5, 0.1)
    assert step.gradient["w"] == pytest.approx(dw, rel=1e-13)
    assert round(step.gradient["w"], 9) == -0.188438626
    assert step.after["w"] == pytest.approx(0.5 - 0.5 * dw, rel=1e-14)
    assert round(step.after["w"], 9) == 0.594219313
    assert step.loss_before == pytest.approx(loss, rel=1e-14)
    assert step.loss_after == pytest.approx(_loss_and_grads(0.5 - 0.5 * dw, 0.1)[0], rel=1e-13)
    assert round(step.loss_before, 11) == 0.08966003617
    assert round(step.loss_after, 11) == 0.07325123912
    text = d.to_text()
    assert "w ← w − η·dL/dw = 0.5 − 0.5·(−0.188438626) = 0.594219313" in text
    assert "L: 0.08966003617 → 0.07325123912 (down)" in text


def test_several_steps_move_every_input_in_wrt():
    e = explain(NEURON, wrt="w,b", **POINT)
    d = e.descend(0.5, steps=3)
    w, b = 0.5, 0.1
    for step in d.steps:
        loss, dw, db = _loss_and_grads(w, b)
        assert step.before == pytest.approx({"w": w, "b": b}, rel=1e-13)
        assert step.gradient == pytest.approx({"w": dw, "b": db}, rel=1e-12)
        assert step.loss_before == pytest.approx(loss, rel=1e-13)
        w, b = w - 0.5 * dw, b - 0.5 * db
        assert step.after == pytest.approx({"w": w, "b": b}, rel=1e-13)
    assert d.loss == sorted(d.loss, reverse=True)  # each step lowers the loss here
    assert "step 3:" in d.to_text() and "L after 3 steps:" in d.to_text()


def test_a_python_function_descends_too():
    e = explain(lambda w: (w - 3.0) ** 2, w=1.0)
    d = e.descend(0.25, steps=2)
    # w ← w − 0.25·2(w − 3): 1 → 2 → 2.5
    assert [s.after["w"] for s in d.steps] == [2.0, 2.5]
    assert d.loss == [4.0, 1.0, 0.25]


@pytest.mark.parametrize(
    "lr, steps", [(0, 1), (-0.1, 1), (math.inf, 1), (math.nan, 1), (0.1, 0), (0.1, 1001)]
)
def test_bad_learning_rates_and_step_counts_are_refused(lr, steps):
    e = explain("x^2", x=1.0)
    with pytest.raises(ValueError, match="learning rate|steps must be"):
        e.descend(lr, steps)


def test_a_network_explanation_says_descend_is_for_numbers():
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    X = cr.randn(4, 3)
    e = explain(lambda: (model(X) ** 2).mean(), wrt=model)
    with pytest.raises(ValueError, match="cr.optim.SGD"):
        e.descend(0.1)


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_lr_and_steps():
    done = _run("explain", NEURON, "--wrt", "w", "--at", "w=0.5,x=1.5,b=0.1,y=1", "--lr", "0.5")
    assert done.returncode == 0, done.stderr
    assert "dL/dw = 0.5988657151 · (−0.2097728214) · 1.5" in done.stdout
    assert "= −0.188438626" in done.stdout
    assert "w ← w − η·dL/dw = 0.5 − 0.5·(−0.188438626) = 0.594219313" in done.stdout
    assert "L: 0.08966003617 → 0.07325123912" in done.stdout
    done = _run(
        "explain",
        NEURON,
        "--wrt",
        "w",
        "--at",
        "w=0.5,x=1.5,b=0.1,y=1",
        "--lr",
        "0.5",
        "--steps",
        "3",
    )
    assert done.returncode == 0 and "step 3:" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "-1"], "--lr must be a positive finite number"),
        (["--lr", "0"], "--lr must be a positive finite number"),
        (["--lr", "nan"], "--lr must be a positive finite number"),
        (["--lr", "1", "--steps", "0"], "--steps must be a whole number from 1 to 1000"),
        (["--lr", "1", "--steps", "1001"], "--steps must be a whole number from 1 to 1000"),
        (["--steps", "2"], "--steps needs --lr"),
    ],
)
def test_cli_bad_descent_options_exit_2_with_one_line(args, message):
    done = _run("explain", "x^2", "--at", "x=1", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
