"""cr.viz.activations, `chainrule activations`, gradient flow (fit(track_gradients=True),
History.plot_gradient_flow, cr.viz.gradient_flow, `chainrule train --grad-flow`), and that
none of chainrule's plots touches matplotlib's global state."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.cli import main
from chainrule.train import fit, layer_gradient_norms

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


# ----- activations -------------------------------------------------------------------------------


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# Independent formulas of each activation, differentiated below by central differences.
_REFERENCE = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "gelu": lambda x: x * np.vectorize(_Phi)(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
}


def test_activation_derivatives_match_finite_differences():
    from chainrule.viz.activation import activation_curves

    xs = np.linspace(-4.0, 4.0, 161) + 0.003  # off the kink of ReLU at 0
    curves = activation_curves(xs=xs)
    assert list(curves) == ["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softplus"]
    h = 1e-5
    for name, f in _REFERENCE.items():
        np.testing.assert_allclose(curves[name]["f"], f(xs), rtol=1e-5, atol=1e-6)
        numeric = (f(xs + h) - f(xs - h)) / (2 * h)
        np.testing.assert_allclose(curves[name]["df"], numeric, rtol=1e-4, atol=1e-5)


def test_derivative_maxima_are_the_textbook_ones():
    from chainrule.viz.activation import activation_curves

    c = activation_curves()
    assert c["sigmoid"]["max"] == pytest.approx(0.25, abs=1e-9)
    assert c["sigmoid"]["argmax"] == pytest.approx(0.0, abs=1e-9)
    assert c["tanh"]["max"] == pytest.approx(1.0, abs=1e-9)
    assert c["relu"]["max"] == 1.0 and c["relu"]["where"] == "x > 0"
    # GELU: d/dx [Φ + xφ] = φ·(2 − x²) = 0 at x = √2.
    assert c["gelu"]["argmax"] == pytest.approx(math.sqrt(2), abs=0.02)
    assert c["gelu"]["max"] == pytest.approx(_Phi(math.sqrt(2)) + math.sqrt(2) * _phi(math.sqrt(2)))
    assert c["softplus"]["max"] == pytest.approx(1 / (1 + math.exp(-5)))


def test_activations_figure_and_names(tmp_path):
    fig = cr.viz.activations(["sigmoid", "ReLU"], path=tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG
    assert len(fig.axes) == 4  # two functions above their two derivatives
    assert "max 0.25" in " ".join(t.get_text() for t in fig.axes[2].texts)
    assert len(cr.viz.activations().axes) == 12
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        cr.viz.activations(["swish"])


def test_activations_command(tmp_path, capsys):
    path = tmp_path / "act.png"
    assert main(["activations"]) == 0
    out = capsys.readouterr().out
    assert "sigmoid" in out and "0.25 at x = 0" in out and "GELU" in out
    assert main(["activations", "sigmoid,relu", "--plot", str(path)]) == 0
    assert "leaky" not in capsys.readouterr().out
    assert path.read_bytes()[:8] == PNG
    assert main(["activations", "relu,elu"]) == 2
    assert "unknown activation 'elu'" in capsys.readouterr().err
    assert main(["activations", "--plot", str(tmp_path / "a.txt")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and ".png, .svg or .pdf" in captured.err


# ----- gradient flow -----------------------------------------------------------------------------


def _deep(activation, depth=8, width=16, seed=0):
    cr.manual_seed(seed)
    layers = [nn.Linear(10, width), activation()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), activation()]
    return nn.Sequential(*layers, nn.Linear(width, 3))


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 10)).astype(np.float32), rng.integers(0, 3, n)


def test_layer_gradient_norms_are_the_weight_gradients_norms():
    X, y = _data()
    model = _deep(nn.Tanh, depth=3)
    with pytest.raises(ValueError, match="loss.backward"):
        layer_gradient_norms(model)
    nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y)).backward()
    norms = layer_gradient_norms(model)
    assert list(norms) == ["0.weight", "2.weight", "4.weight"]  # weights only, input first
    for name, p in model.named_parameters():
        if name in norms:
            assert norms[name] == pytest.approx(math.sqrt(float((p.grad.numpy() ** 2).sum())))


def test_fit_tracks_gradient_norms_per_epoch():
    X, y = _data()
    model, twin = _deep(nn.Sigmoid), _deep(nn.Sigmoid)
    # The first epoch's record, with one batch, is the gradient at the initial weights.
    nn.CrossEntropyLoss()(twin(cr.tensor(X)), cr.tensor(y)).backward()
    expected = layer_gradient_norms(twin)
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        (X, y),
        3,
        batch_size=len(X),
        progress=False,
        track_gradients=True,
    )
    assert list(h.gradients) == list(expected)
    assert all(len(v) == 3 for v in h.gradients.values())
    for name, value in expected.items():
        assert h.gradients[name][0] == pytest.approx(value, rel=1e-5)
    assert "gradients" not in h.keys()  # History.plot draws losses and metrics only


def test_tracked_norms_are_each_epochs_mean_over_its_batches():
    # lr = 0: the weights stay, so every epoch's record is the mean of the same two batches'
    # norms, worked out here by hand, batch by batch (NumPy's norm of each weight gradient).
    X, y = _data()
    model = _deep(nn.Tanh, depth=3)
    per_batch = []
    for rows in (slice(0, 32), slice(32, 64)):
        model.zero_grad()
        nn.CrossEntropyLoss()(model(cr.tensor(X[rows])), cr.tensor(y[rows])).backward()
        weights = [(n, p) for n, p in model.named_parameters() if p.ndim == 2]
        per_batch.append({n: np.linalg.norm(p.grad.data.astype(np.float64)) for n, p in weights})
    model.zero_grad()
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=32, shuffle=False)
    opt = optim.SGD(model.parameters(), lr=0.0)
    h = fit(model, nn.CrossEntropyLoss(), opt, loader, 2, progress=False, track_gradients=True)
    assert list(h.gradients) == list(per_batch[0]) == ["0.weight", "2.weight", "4.weight"]
    for name, norms in h.gradients.items():
        mean = (per_batch[0][name] + per_batch[1][name]) / 2
        assert norms == pytest.approx([mean, mean], rel=1e-6)


def test_sigmoid_gradients_vanish_toward_the_input_and_relus_do_not():
    X, y = _data()
    ratios = {}
    for act in (nn.Sigmoid, nn.ReLU):
        model = _deep(act)
        nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y)).backward()
        norms = list(layer_gradient_norms(model).values())
        ratios[act.__name__] = norms[0] / norms[-1]
    # Each sigmoid layer multiplies the backward signal by at most 1/4 (times a weight).
    assert ratios["Sigmoid"] < 1e-3 < ratios["ReLU"]


def test_plot_gradient_flow(tmp_path):
    X, y = _data()
    model = _deep(nn.ReLU, depth=3)
    opt = optim.Adam(model.parameters())
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), 2, progress=False)
    with pytest.raises(ValueError, match="track_gradients=True"):
        h.plot_gradient_flow()
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), 2, progress=False, track_gradients=True)
    fig = h.plot_gradient_flow(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").read_bytes()[:8] == PNG
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    model(cr.tensor(X)).sum().backward()
    fig = cr.viz.gradient_flow(model, tmp_path / "bars.png")
    assert (tmp_path / "bars.png").read_bytes()[:8] == PNG
    assert len(fig.axes[0].patches) == 3  # one bar per layer


def test_train_command_grad_flow(tmp_path, capsys):
    path = tmp_path / "flow.png"
    argv = [
        "train",
        "--dataset",
        "moons",
        "--epochs",
        "2",
        "--no-progress",
        "--grad-flow",
        str(path),
    ]
    assert main(argv) == 0
    assert "gradient norm" in capsys.readouterr().out
    assert path.read_bytes()[:8] == PNG


# ----- matplotlib's global state ------------------------------------------------------------------


def test_plots_leave_matplotlib_global_state_alone(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.rcParams._get_backend_or_none()
    figures = plt.get_fignums()
    X, y = _data()
    model = _deep(nn.ReLU, depth=2)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        (X, y),
        1,
        progress=False,
        track_gradients=True,
    )
    h.plot(tmp_path / "c.png")
    h.plot()
    h.plot_gradient_flow()
    cr.viz.activations(["tanh"])
    cr.viz.plot_function("sin(x)", "x")
    assert matplotlib.rcParams._get_backend_or_none() == backend
    assert plt.get_fignums() == figures  # nothing registered with pyplot
    assert h.plot()._repr_png_()[:8] == PNG  # Jupyter's display of a figure


def test_fit_prints_one_line_per_epoch(capsys):
    X, y = _data()
    model = _deep(nn.ReLU, depth=2)
    opt = optim.Adam(model.parameters())
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), 3, val_data=(X, y), progress="epochs")
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert f"val_accuracy {h.val_accuracy[-1]:.4f}" in lines[-1]
    assert f"  val_loss {h.val_loss[-1]:.4f}  " in lines[-1] and " lr " not in lines[-1]
    with pytest.raises(ValueError, match="progress must be True, False or 'epochs'"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), 1, progress="bar")
