"""Compiled training steps against eager ones: the same parameters after 25 steps.

The step closes over a Module, a loss and an optimizer and calls ``backward()`` and
``optimizer.step()`` inside; Dropout draws from chainrule's generator (same seed, same
masks), BatchNorm updates its running statistics, labels change every batch.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

STEPS = 25


def _mlp():
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(16, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 10))


def _data(kind, rng):
    if kind == "mlp":
        x = rng.standard_normal((STEPS, 16, 8)).astype(np.float32)
        y = rng.integers(0, 3, (STEPS, 16))
        return x, y
    X, y = cr.datasets.load_digits()
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    idx = rng.permutation(len(X))[:STEPS * 16].reshape(STEPS, 16)
    return X[idx], y[idx]


def _train(kind, compiled, optimizer):
    cr.manual_seed(0)
    model = _mlp() if kind == "mlp" else _cnn()
    opt = optimizer(model.parameters())
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    xs, ys = _data(kind, np.random.default_rng(5))
    cr.manual_seed(1)
    losses = []
    for x, y in zip(xs, ys):
        losses.append(float(run(cr.tensor(x), cr.tensor(y)).data))
    model.eval()
    with cr.no_grad():
        evaluated = model(cr.tensor(xs[0])).data
    return model.state_dict(), losses, evaluated, run


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("optimizer", [
    lambda ps: cr.optim.Adam(ps, lr=1e-2),
    lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9),
], ids=["adam", "sgd-momentum"])
def test_compiled_training_equals_eager(kind, optimizer):
    eager_state, eager_losses, eager_eval, _ = _train(kind, False, optimizer)
    state, losses, evaluated, run = _train(kind, True, optimizer)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-6, atol=1e-6)
    assert losses[0] != losses[-1]  # it trained
    for name in eager_state:
        np.testing.assert_allclose(state[name], eager_state[name], rtol=1e-6, atol=1e-6,
                                   err_msg=name)
    np.testing.assert_allclose(evaluated, eager_eval, rtol=1e-5, atol=1e-6)
    assert run.cache_info().misses == 1
    src = run.source
    assert "runs every call" in src and "optimizer.step()" in src
    assert "# chain rule through" in src


def test_a_parameter_changed_outside_is_seen():
    lin = nn.Linear(3, 1)
    f = cr.compile(lambda x: lin(x))
    x = cr.tensor(np.ones((2, 3), np.float32))
    f(x)
    with cr.no_grad():
        lin.weight.data[...] = 2.0
        lin.bias.data[...] = 0.5
    np.testing.assert_allclose(f(x).data, np.full((2, 1), 6.5, np.float32))


def test_train_and_eval_modes_are_guarded():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    f = cr.compile(lambda x: model(x))
    x = cr.tensor(np.ones((3, 4), np.float32))
    f(x)
    model.eval()
    np.testing.assert_allclose(f(x).data, model(x).data)
    assert "module modes" in f.cache_info().retraces[-1]


def test_fit_compile_equals_eager_fit():
    X, y = cr.datasets.make_moons(200, noise=0.2, seed=0)
    X = X.astype(np.float32)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 2))
        opt = cr.optim.Adam(model.parameters(), lr=0.01)
        history = cr.train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3,
                               val_data=(X[:50], y[:50]), batch_size=32, progress=False,
                               compile=compiled, track_gradients=True)
        return model.state_dict(), history

    eager_state, eager_history = run(False)
    state, history = run(True)
    for name in eager_state:
        np.testing.assert_allclose(state[name], eager_state[name], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(history.loss, eager_history.loss, rtol=1e-6)
    np.testing.assert_allclose(history.val_accuracy, eager_history.val_accuracy)


def test_train_cli_compile_trains_the_same_model(capsys):
    pytest.importorskip("sklearn")
    from chainrule import cli

    argv = ["train", "--dataset", "iris", "--epochs", "5", "--batch-size", "16", "--no-progress"]
    assert cli.main(argv) == 0
    eager = capsys.readouterr().out.splitlines()[-1]
    assert cli.main(argv + ["--compile"]) == 0
    compiled = capsys.readouterr().out.splitlines()[-1]
    assert eager.split("(")[0] == compiled.split("(")[0]  # the same test accuracy line
    assert "test accuracy" in compiled


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_gradient_clipping_inside_a_compiled_step(clip):
    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = cr.optim.SGD(model.parameters(), lr=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = cr.mean((model(x) - y) ** 2)
            loss.backward()
            if clip == "norm":
                norm = nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            else:
                nn.utils.clip_grad_value_(model.parameters(), 0.01)
                norm = loss
            opt.step()
            return loss, norm

        f = cr.compile(step) if compiled else step
        r = np.random.default_rng(2)
        out = []
        for _ in range(6):
            x = cr.tensor(r.standard_normal((8, 4)).astype(np.float32) * 3)
            y = cr.tensor(r.standard_normal((8, 1)).astype(np.float32) * 3)
            out.append([float(np.asarray(v.data)) for v in f(x, y)])
        return np.array(out), model.state_dict()

    eager, eager_state = run(False)
    compiled, state = run(True)
    np.testing.assert_allclose(compiled, eager, rtol=1e-6, atol=1e-6)
    for name in eager_state:
        np.testing.assert_allclose(state[name], eager_state[name], rtol=1e-6, atol=1e-6)
