"""Plots: a function with its derivatives, decision regions, training summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("matplotlib", reason="matplotlib is an optional extra")

from chainrule.viz.plots import (  # noqa: E402
    function_values,
    plot_decision_regions,
    plot_function,
    plot_training,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_function_values_are_the_derivatives():
    xs = np.linspace(-3, 3, 13)
    _, wrt, (f, d1, d2) = function_values("x**2*sin(x)", order=2, xs=xs)
    assert wrt == "x"
    np.testing.assert_allclose(f, xs**2 * np.sin(xs), rtol=1e-12)
    np.testing.assert_allclose(d1, 2 * xs * np.sin(xs) + xs**2 * np.cos(xs), rtol=1e-12)
    expected = 2 * np.sin(xs) + 4 * xs * np.cos(xs) - xs**2 * np.sin(xs)
    np.testing.assert_allclose(d2, expected, rtol=1e-10, atol=1e-12)


def test_skydiver_curve_passes_through_the_explained_value():
    sky = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"
    _, _, (p, dp) = function_values(sky, "t", xs=np.array([0.0, 10.0]))
    assert p[1] == pytest.approx(71331.15386, rel=1e-9)
    assert dp[1] == pytest.approx(699.0453078, rel=1e-9)
    assert dp[0] == 0.0


def test_other_inputs_from_the_point_and_gaps_outside_the_domain():
    _, _, (f, d) = function_values("a*log(x)", "x", xs=np.array([-1.0, 1.0, 2.0]), point={"a": 3})
    assert np.isnan(f[0]) and np.isnan(d[0])  # no derivative where f is undefined
    np.testing.assert_allclose(d[1:], [3.0, 1.5])
    with pytest.raises(ValueError, match="no value for 'a'"):
        function_values("a*log(x)", "x", xs=np.ones(2))
    with pytest.raises(ValueError, match="say which input"):
        function_values("a*x", xs=np.ones(2))
    _, _, (c, dc) = function_values("x - x + 2", "x", xs=np.ones(3))
    np.testing.assert_array_equal(dc, 0.0)


def test_plot_function_writes_png_and_svg(tmp_path):
    fig = plot_function(
        "x**2*sin(x)", "x", tmp_path / "f.png", order=2, range=(-3, 3), point={"x": 1.0}
    )
    assert len(fig.axes) == 3  # f, f', f''
    assert "d²f/dx²" in fig.axes[2].get_title(loc="left")
    data = (tmp_path / "f.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    plot_function("x**2*sin(x)", "x", tmp_path / "f.svg")
    root = ET.parse(tmp_path / "f.svg").getroot()
    assert root.tag.endswith("svg")
    # Deterministic bytes: no dates or versions in the file.
    plot_function("x**2*sin(x)", "x", tmp_path / "g.svg")
    assert (tmp_path / "f.svg").read_bytes() == (tmp_path / "g.svg").read_bytes()


def test_plot_function_bad_input(tmp_path):
    with pytest.raises(ValueError, match="range must be"):
        plot_function("x**2", "x", range=(2, 1))
    with pytest.raises(ValueError, match="use a .png, .svg or .pdf"):
        plot_function("x**2", "x", tmp_path / "f.bmp")
    with pytest.raises(OSError, match="plot: cannot write"):
        plot_function("x**2", "x", tmp_path / "missing" / "f.png")
    assert list(tmp_path.iterdir()) == []


def _linear_model(x):
    """Class 1 where x0 + x1 > 0: a stand-in classifier returning two scores."""
    s = x[:, :1] + x[:, 1:]
    return cr.concatenate([-s, s], axis=1)


def test_decision_regions_colour_by_predicted_class(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X.sum(1) > 0).astype(int)
    fig = plot_decision_regions(_linear_model, X, y, tmp_path / "r.png", resolution=50)
    assert (tmp_path / "r.png").read_bytes().startswith(PNG)
    ax = fig.axes[0]
    assert ax.get_title() == "decision regions"
    with pytest.raises(ValueError, match=r"X of shape \(n, 2\)"):
        plot_decision_regions(_linear_model, np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="5 points but 4 labels"):
        plot_decision_regions(_linear_model, np.ones((5, 2)), np.ones(4))


def test_decision_regions_and_curves_of_a_trained_moons_model(tmp_path):
    X, y = cr.datasets.make_moons(300, noise=0.2, seed=0)
    X = X.astype(np.float32)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.03)
    history = cr.train.fit(
        model,
        cr.nn.CrossEntropyLoss(),
        opt,
        (X[:240], y[:240]),
        15,
        val_data=(X[240:], y[240:]),
        batch_size=60,
        progress=False,
    )
    model.train()
    fig = plot_training(
        history, model, X[:240], y[:240], tmp_path / "moons.png", X_test=X[240:], y_test=y[240:]
    )
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy", "decision regions"]
    assert model.training  # put back in training mode after predicting the grid
    data = (tmp_path / "moons.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
