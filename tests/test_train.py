"""cr.train.fit / evaluate / History, checkpoints, and the non-finite-loss guard."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import METRICS, evaluate, fit, predict


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0, 3], [3, 0], [-3, -3]])
    return centers[y] + rng.standard_normal((n, 2)) * 0.5, y


def _model(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3))


def test_fit_learns_and_records_history():
    X, y = _blobs()
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        (X, y),
        epochs=5,
        val_data=(X[:30], y[:30]),
        scheduler=sched,
        progress=False,
    )
    assert len(h) == 5 and h.epochs == [0, 1, 2, 3, 4]
    assert set(h.keys()) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert h.loss[-1] < h.loss[0] and h["val_accuracy"][-1] > 0.95
    assert h.lr == [0.1, 0.1, 0.05, 0.05, 0.025]
    # val_loss is the mean loss over the validation set, computed independently here
    logits = predict(model, X[:30]).astype(np.float64)
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert h.val_loss[-1] == pytest.approx(-lp[np.arange(30), y[:30]].mean(), rel=1e-4)
    assert model.training  # evaluation restored training mode
    assert "History(5 epochs" in repr(h)


def test_fit_matches_a_hand_written_loop():
    X, y = _blobs(64)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=3)
    a = _model(1)
    fit(
        a,
        nn.CrossEntropyLoss(),
        optim.Adam(a.parameters(), lr=0.01),
        loader,
        3,
        metrics=None,
        progress=False,
    )
    b = _model(1)
    opt = optim.Adam(b.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    manual = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=3)
    for _ in range(3):
        for xb, yb in manual:
            loss = loss_fn(b(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_checkpoint_resume_is_bit_identical(tmp_path):
    X, y = _blobs(100)

    def setup():
        m = _model(2)
        o = optim.Adam(m.parameters(), lr=0.01)
        s = optim.lr_scheduler.ExponentialLR(o, gamma=0.9)
        return m, o, s

    m1, o1, s1 = setup()
    fit(m1, nn.CrossEntropyLoss(), o1, (X, y), 6, scheduler=s1, progress=False, seed=7)

    m2, o2, s2 = setup()
    fit(m2, nn.CrossEntropyLoss(), o2, (X, y), 3, scheduler=s2, progress=False, seed=7)
    cr.save(
        {
            "model": m2.state_dict(),
            "optimizer": o2.state_dict(),
            "scheduler": s2.state_dict(),
            "epoch": 3,
        },
        tmp_path / "ckpt.npz",
    )

    m3, o3, s3 = setup()
    ck = cr.load(tmp_path / "ckpt.npz")
    m3.load_state_dict(ck["model"])
    o3.load_state_dict(ck["optimizer"])
    s3.load_state_dict(ck["scheduler"])
    fit(
        m3,
        nn.CrossEntropyLoss(),
        o3,
        (X, y),
        6,
        scheduler=s3,
        progress=False,
        seed=7,
        start_epoch=ck["epoch"],
    )
    for p, q in zip(m1.parameters(), m3.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_non_finite_loss_stops_and_keeps_last_good_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2)) * 100
    y = X @ np.array([[1.0], [2.0]])
    cr.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=1.0)  # diverges: |w| grows ~1e4-fold a step
    seen = []

    def loss_fn(out, target):
        loss = nn.MSELoss()(out, target)
        if np.isfinite(loss.item()):
            seen.append([p.data.copy() for p in model.parameters()])
        return loss

    with pytest.raises(
        FloatingPointError,
        match=r"became (inf|nan) at epoch 1, batch \d+; "
        r"training stopped",
    ) as info:
        fit(model, loss_fn, opt, (X, y), 50, batch_size=8, progress=False, metrics=None)
    # the model holds the last weights whose loss was finite
    for p, good in zip(model.parameters(), seen[-1], strict=True):
        np.testing.assert_array_equal(p.data, good)
    assert hasattr(info.value, "history")


def test_evaluate_metrics_against_numpy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(50)
    cr.manual_seed(0)
    model = nn.Linear(3, 1)
    res = evaluate(model, nn.MSELoss(), (X, y[:, None]), metrics=("mse", "mae", "r2"))
    pred = X @ model.weight.data.T.astype(np.float64) + model.bias.data
    pred = pred[:, 0]
    assert res["mse"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-5)
    assert res["loss"] == pytest.approx(res["mse"], rel=1e-5)
    assert res["mae"] == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-5)
    assert res["r2"] == pytest.approx(
        1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-5
    )
    assert METRICS["accuracy"](np.array([[0.1, 0.9], [2.0, 1.0]]), np.array([1, 1])) == 0.5
    assert METRICS["accuracy"](np.array([[0.3], [-2.0]]), np.array([1, 1])) == 0.5


def test_accuracy_with_one_hot_targets_and_refusing_regression_targets():
    out = np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    one_hot = np.eye(3)[[1, 1, 2]]  # argmax of out is [1, 0, 2]: two of three right
    assert METRICS["accuracy"](out, one_hot) == pytest.approx(2 / 3)
    soft = np.array([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
    assert METRICS["accuracy"](out, soft) == pytest.approx(2 / 3)
    assert METRICS["accuracy"](np.array([[0.3], [-2.0]]), np.array([[1.0], [0.0]])) == 1.0
    with pytest.raises(ValueError, match="not class labels.*metrics="):
        METRICS["accuracy"](np.array([[0.3], [-2.0]]), np.array([0.25, 1.5]))
    with pytest.raises(ValueError, match=r"targets have shape \(2, 3\)"):
        METRICS["accuracy"](np.zeros((2, 4)), np.zeros((2, 3)))


def test_history_plot(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = _blobs(40)
    model = _model()
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.01),
        (X, y),
        2,
        val_data=(X, y),
        progress=False,
    )
    path = tmp_path / "curves.png"
    fig = h.plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2  # loss and accuracy


def test_progress_bar_is_quiet_off_a_terminal(capsys):
    X, y = _blobs(40)
    model = _model()
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), (X, y), 1, progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_bad_input():
    X, y = _blobs(20)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), -1)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), 1, metrics=("f1",))
    with pytest.raises(TypeError, match="train_data"):
        fit(model, nn.CrossEntropyLoss(), opt, X, 1)
    with pytest.raises(ValueError, match="different numbers of samples"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y[:-1]), 1)


def test_progress_bar_on_a_terminal_shows_loss_and_metrics(monkeypatch):
    pytest.importorskip("tqdm")
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    X, y = _blobs(40)
    model = _model()
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        (X, y),
        2,
        val_data=(X, y),
        progress=True,
    )
    shown = term.getvalue()
    assert "epoch=2/2" in shown and "loss=" in shown
    # the epoch's figures to four decimals, as the epoch line shows them; not lr nor time
    assert f"val_accuracy={h.val_accuracy[-1]:.4f}" in shown
    assert f"val_loss={h.val_loss[-1]:.4f}" in shown
    assert "lr=" not in shown and "time=" not in shown
