"""cr.datasets: the bundled real datasets and the NumPy generators."""

import builtins

import numpy as np
import pytest

from chainrule import datasets

REAL = {
    "load_digits": ((1797, 64), 10),
    "load_iris": ((150, 4), 3),
    "load_breast_cancer": ((569, 30), 2),
    "load_wine": ((178, 13), 3),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_classification_shapes(name):
    pytest.importorskip("sklearn")
    X, y = getattr(datasets, name)()
    shape, k = REAL[name]
    assert X.shape == shape and X.dtype == np.float64
    assert y.shape == (shape[0],) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(k))


def test_diabetes_is_regression():
    pytest.importorskip("sklearn")
    X, y = datasets.load_diabetes()
    assert X.shape == (442, 10) and y.dtype == np.float64 and y.shape == (442,)
    assert 25 <= y.min() and y.max() <= 346


def test_missing_sklearn_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda name: fake_import(name))
    with pytest.raises(ImportError, match=r'pip install -e "\.\[datasets\]"'):
        datasets.load_iris()


def test_moons_geometry():
    X, y = datasets.make_moons(200, noise=0.0, seed=0)
    assert X.shape == (200, 2) and X.dtype == np.float64 and y.dtype == np.int64
    assert np.sum(y == 0) == 100 and np.sum(y == 1) == 100
    # Noise-free: moon 0 lies on the unit circle's upper half, moon 1 on its shifted mirror.
    a, b = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(a[:, 0], a[:, 1]), 1.0)
    assert np.all(a[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(b[:, 0] - 1.0, b[:, 1] - 0.5), 1.0)
    assert np.all(b[:, 1] <= 0.5 + 1e-12)


def test_circles_geometry():
    X, y = datasets.make_circles(101, noise=0.0, seed=1, factor=0.5)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.5)
    assert np.sum(y == 0) == 50 and np.sum(y == 1) == 51


def test_spirals_geometry():
    X, y = datasets.make_spirals(301, noise=0.0, seed=2, n_classes=3)
    assert sorted(np.bincount(y).tolist()) == [100, 100, 101]
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() <= 1 + 1e-12
    # theta = 4 r + 2 pi k / 3 on each arm (mod 2 pi), away from the origin.
    keep = r > 0.05
    theta = np.arctan2(X[keep, 1], X[keep, 0])
    expected = 4 * r[keep] + 2 * np.pi * y[keep] / 3
    diff = np.angle(np.exp(1j * (theta - expected)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)


@pytest.mark.parametrize(
    "make", [datasets.make_moons, datasets.make_circles, datasets.make_spirals]
)
def test_generators_seeded_and_noisy(make):
    X1, y1 = make(120, noise=0.1, seed=3)
    X2, y2 = make(120, noise=0.1, seed=3)
    X3, _ = make(120, noise=0.1, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    X0, y0 = make(120, noise=0.0, seed=3)
    np.testing.assert_array_equal(y0, y1)  # same shuffle, only noise added
    assert 0.05 < np.std(X1 - X0) < 0.15
    assert len(np.unique(y1[:20])) > 1  # shuffled, not sorted by label


@pytest.mark.parametrize(
    "make", [datasets.make_moons, datasets.make_circles, datasets.make_spirals]
)
def test_generators_bad_input(make):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make(0)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-1.0)
