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


def _numpy_loss(W1, b1, W2, b2, X, y):
    """The 3→4 tanh→2 network's mean cross-entropy, in NumPy (float64): the independent
    implementation the steps are compared with."""
    import numpy as np

    z = np.tanh(X @ W1.T + b1) @ W2.T + b2
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def _network():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    X, y = cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1])
    loss_fn = cr.nn.CrossEntropyLoss()
    return model, X, y, explain(lambda: loss_fn(model(X), y), wrt=model)


def test_a_network_descends_every_parameter_and_leaves_the_model_as_it_was():
    import numpy as np

    model, X, y, e = _network()
    state = {k: v.copy() for k, v in model.state_dict().items()}
    arrays = [id(p.data) for p in model.parameters()]
    d = e.descend(0.5, steps=2)
    # a preview: the model's parameters are the same arrays with the same values
    assert [id(p.data) for p in model.parameters()] == arrays
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    names = ("W1", "b1", "W2", "b2")
    assert d.wrt == names
    start = [state[k].astype(np.float64) for k in ("0.weight", "0.bias", "2.weight", "2.bias")]
    Xn, yn = X.data.astype(np.float64), y.data.astype(int)
    s1 = d.steps[0]
    for n, v in zip(names, start):
        np.testing.assert_allclose(s1.before[n], v, rtol=1e-6)
    # the gradient against central differences of the NumPy loss, a few entries each
    for k, n in enumerate(names):
        for idx in list(np.ndindex(start[k].shape))[:3]:
            plus = [a.copy() for a in start]
            minus = [a.copy() for a in start]
            plus[k][idx] += 1e-5
            minus[k][idx] -= 1e-5
            fd = (_numpy_loss(*plus, Xn, yn) - _numpy_loss(*minus, Xn, yn)) / 2e-5
            assert s1.gradient[n][idx] == pytest.approx(fd, rel=1e-3, abs=1e-6)
    # W ← W − η·∂L/∂W, and the loss before and after from NumPy
    after = [start[k] - 0.5 * np.asarray(s1.gradient[n], dtype=np.float64)
             for k, n in enumerate(names)]
    for k, n in enumerate(names):
        np.testing.assert_allclose(s1.after[n], after[k], rtol=1e-6, atol=1e-7)
    assert s1.loss_before == pytest.approx(_numpy_loss(*start, Xn, yn), rel=1e-6)
    assert s1.loss_after == pytest.approx(_numpy_loss(*after, Xn, yn), rel=1e-5)
    assert d.steps[1].loss_before == s1.loss_after and s1.loss_after < s1.loss_before
    for n in names:
        np.testing.assert_array_equal(d.steps[1].before[n], s1.after[n])


def test_a_network_descent_shows_shapes_and_norms_not_arrays():
    import json

    import numpy as np

    _, _, _, e = _network()
    d = e.descend(0.1)
    text = d.to_text()
    s = d.steps[0]
    norm = np.linalg.norm(s.before["W1"])
    assert f"W1 ← W1 − η·∂L/∂W1: ‖W1‖ {norm:.10g} → " in text and "(4×3)" in text
    assert "L: " in text and "[" not in text
    data = json.loads(d.to_json())["steps"][0]
    assert data["before"]["W1"]["shape"] == [4, 3]
    assert data["before"]["W1"]["norm"] == pytest.approx(norm)
    assert data["gradient"]["b2"]["shape"] == [2]
    assert data["loss_before"] == pytest.approx(s.loss_before)


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


@pytest.mark.parametrize("fmt", ["json", "markdown", "latex", "html"])
def test_cli_descent_in_every_format(fmt, tmp_path):
    import json

    args = ["explain", NEURON, "--wrt", "w", "--at", "w=0.5,x=1.5,b=0.1,y=1",
            "--lr", "0.5", "--steps", "2", "--format", fmt]
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    L0, gw, _ = _loss_and_grads(0.5, 0.1)
    w1 = 0.5 - 0.5 * gw
    L1, gw1, _ = _loss_and_grads(w1, 0.1)
    if fmt == "json":
        data = json.loads(done.stdout)
        step1, step2 = data["descent"]["steps"]
        assert data["descent"]["lr"] == 0.5 and data["links"]
        assert step1["before"] == {"w": 0.5}
        assert step1["gradient"]["w"] == pytest.approx(gw, rel=1e-12)
        assert step1["after"]["w"] == pytest.approx(w1, rel=1e-12)
        assert step1["loss_before"] == pytest.approx(L0, rel=1e-12)
        assert step1["loss_after"] == pytest.approx(L1, rel=1e-12)
        assert step2["gradient"]["w"] == pytest.approx(gw1, rel=1e-12)
        return
    shown = f"{w1:.10g}"
    assert shown in done.stdout and f"{L1:.10g}" in done.stdout
    if fmt == "html":
        # "crx": the page's own styles (tables, fonts) apply to the section too
        assert '<section class="crx crx-descent">' in done.stdout
        assert done.stdout.rstrip().endswith("</html>")
        out = tmp_path / "descent.html"
        assert _run(*args[:-2], "-o", str(out)).returncode == 0
        assert '<section class="crx crx-descent">' in out.read_text(encoding="utf-8")
    if fmt == "latex":
        assert r"w &\leftarrow w - \eta\, \frac{d L}{d w}" in done.stdout


def test_cli_descent_refuses_a_picture_format():
    done = _run("explain", "x^2", "--at", "x=1", "--lr", "0.1", "--format", "dot")
    assert done.returncode == 2
    assert "--lr shows gradient descent in text, markdown, latex, json, html" in done.stderr
