"""A network's backward pass: textbook names and rules, every displayed rule checked.

Expected gradients are computed here by hand in NumPy (backpropagation written out)."""

import html
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import explain


def _net(seed=0):
    cr.manual_seed(seed)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    X, y = cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1])
    return model, X, y


def _by_hand(model, X, y):
    X, y = X.numpy().astype(np.float64), y.numpy()
    W1, b1 = model[0].weight.numpy(), model[0].bias.numpy()
    W2, b2 = model[2].weight.numpy(), model[2].bias.numpy()
    a1 = np.tanh(X @ W1.T + b1)
    z2 = a1 @ W2.T + b2
    p = np.exp(z2 - z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    d_z2 = (p - np.eye(2)[y]) / len(y)
    d_z1 = (d_z2 @ W2) * (1 - a1**2)
    grads = {"W1": d_z1.T @ X, "b1": d_z1.sum(0), "W2": d_z2.T @ a1, "b2": d_z2.sum(0)}
    return loss, grads


def test_the_small_network_reads_as_a_textbook_and_every_rule_is_checked():
    model, X, y = _net()
    e = explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model)
    loss, grads = _by_hand(model, X, y)
    assert e.output == "L" and e.value == pytest.approx(loss, rel=1e-6)
    for name, g in grads.items():
        np.testing.assert_allclose(e.derivatives[name], g, rtol=1e-5, atol=1e-7)
    assert [d for d, _ in e.network.forward] == [
        "z1 = X·W1ᵀ + b1",
        "a1 = tanh(z1)",
        "z2 = a1·W2ᵀ + b2",
        "L = cross_entropy(z2, y)",
    ]
    rules = [r for s in e.backward for r in s.rules if r]
    assert rules == [
        "∂L/∂z2 = (softmax(z2) − onehot(y))/N",
        "∂L/∂a1 = ∂L/∂z2 · W2",
        "∂L/∂W2 = (∂L/∂z2)ᵀ · a1",
        "∂L/∂b2 = Σ_batch ∂L/∂z2",
        "∂L/∂z1 = ∂L/∂a1 ⊙ (1 − tanh²(z1))",
        "∂L/∂W1 = (∂L/∂z1)ᵀ · X",
        "∂L/∂b1 = Σ_batch ∂L/∂z1",
    ]
    # One check per displayed rule, all agreeing with the engine.
    assert [c.what for c in e.checks] == rules and e.agrees
    assert e.network.unchecked == []
    assert e.headline.startswith("∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2 at L = ")
    assert len(repr(e)) < 200 and "7 of 7 rule checks ok" in repr(e)
    text = e.to_text()
    assert text.startswith("Computed ∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2 at L = ")
    assert "W1 = 0.weight (4×3)" in text
    assert "each of the 7 rules shown, evaluated over its step's arrays, agrees" in text
    # The layer summary: norms of the weight gradients and their ratio.
    l1, l2 = e.network.layers
    assert l1.weight_norm == pytest.approx(np.linalg.norm(grads["W1"]), rel=1e-5)
    assert l1.ratio == pytest.approx(
        np.linalg.norm(grads["W1"]) / np.linalg.norm(grads["W2"]), rel=1e-5
    )
    assert l1.flag == "" and l2.ratio is None


def test_mse_is_one_step_with_its_rule():
    cr.manual_seed(1)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))
    X, Y = cr.randn(6, 3), cr.randn(6, 1)
    e = explain(lambda: cr.nn.MSELoss()(model(X), Y), wrt=model)
    assert e.backward[0].rules[0] == "∂L/∂z2 = (2/N)·(z2 − y)"
    assert "∂L/∂z1 = ∂L/∂a1 ⊙ (1 if z1 > 0 else 0)" in e.backward[2].rules
    assert len(e.checks) == 7 and e.agrees


def test_a_wrong_displayed_rule_fails_loudly(monkeypatch):
    from chainrule.ops import nn as ops

    model, X, y = _net()
    monkeypatch.setattr(ops.linear_prim, "formulas", ("g · wᵀ", "gᵀ · x", "Σ_batch g"))
    with pytest.warns(RuntimeWarning, match="disagree"):
        e = explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model)
    bad = [c.what for c in e.checks if not c.ok]
    assert bad == ["∂L/∂a1 = ∂L/∂z2 · W2ᵀ"]
    assert "CHECK FAILED" in e.to_text()
    # A rule that computes, but the wrong number: the weight's gradient not transposed.
    monkeypatch.setattr(ops.linear_prim, "formulas", ("g · w", "gᵀ · x · 2", "Σ_batch g"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model)
    assert sorted(c.what for c in e.checks if not c.ok) == [
        "∂L/∂W1 = (∂L/∂z1)ᵀ · X · 2",
        "∂L/∂W2 = (∂L/∂z2)ᵀ · a1 · 2",
    ]


def test_vanishing_gradients_are_flagged():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    with cr.no_grad():
        model[0].weight *= 1000.0  # tanh saturates: 1 − tanh² is about 0
    X, y = cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1])
    e = explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model)
    assert e.network.layers[0].flag == "vanishing"
    assert "VANISHING gradients" in e.to_text()
    assert e.agrees


def test_json_carries_the_network_view():
    import json

    model, X, y = _net()
    data = json.loads(explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model).to_json())
    assert data["network"]["aliases"]["W1"] == "0.weight"
    assert data["headline"].startswith("∂L/∂W1")
    assert all(c["ok"] for c in data["checks"]) and len(data["checks"]) == 7


def test_the_html_page_of_a_network_shows_each_rule_and_its_check():
    import dataclasses

    model, X, y = _net()
    e = cr.explain(lambda: cr.nn.CrossEntropyLoss()(model(X), y), wrt=model)
    page = e.to_html()
    assert "Computed ∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2 at L = " in page
    assert "Backward pass, step by step" in page
    rules = [r for st in e.backward for r in st.rules if r]
    assert len(rules) == 7
    for rule in rules:
        assert html.escape(rule) in page
    assert page.count("✓ agrees") == 7 and "DISAGREES" not in page
    # a check that failed is shown as failed, beside its rule
    e.checks[2] = dataclasses.replace(e.checks[2], ok=False)
    assert e.to_html().count("✓ agrees") == 6 and "✗ DISAGREES" in e.to_html()
