"""Two-dimensional toy classification problems, generated with NumPy.

Each generator takes ``n`` (number of points), ``noise`` (standard deviation of Gaussian noise
added to every coordinate) and ``seed`` (``None`` for fresh randomness, or an int for the same
points every time), and returns ``(X, y)``: ``X`` float64 of shape ``(n, 2)``, ``y`` int64
labels. The points are shuffled, so any prefix is a fair sample.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_moons", "make_circles", "make_spirals"]


def _check(n: int, noise: float, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{name}: n must be a positive integer, got {n!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")


def _shuffle_and_noise(X, y, noise, rng):
    perm = rng.permutation(len(y))
    X, y = X[perm], y[perm]
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def make_moons(n: int = 100, noise: float = 0.0, seed: int | None = None):
    """Two interleaving half circles.

    The upper moon (label 0) is ``(cos t, sin t)`` for ``t`` in ``[0, pi]``; the lower moon
    (label 1) is ``(1 - cos t, 0.5 - sin t)``: not linearly separable, easy for a small MLP.
    ``n // 2`` points are in moon 0 and the rest in moon 1.

    Example::

        >>> X, y = make_moons(200, noise=0.1, seed=0)
        >>> X.shape, int(y.sum())
        ((200, 2), 100)
    """
    _check(n, noise, "make_moons")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate(
        [
            np.stack([np.cos(t0), np.sin(t0)], axis=1),
            np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffle_and_noise(X, y, noise, rng)


def make_circles(n: int = 100, noise: float = 0.0, seed: int | None = None, factor: float = 0.8):
    """A large circle (label 0, radius 1) around a small one (label 1, radius ``factor``).

    ``n // 2`` points on the outer circle, the rest on the inner, evenly spaced in angle.
    """
    _check(n, noise, "make_circles")
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    a0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    a1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate(
        [
            np.stack([np.cos(a0), np.sin(a0)], axis=1),
            factor * np.stack([np.cos(a1), np.sin(a1)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffle_and_noise(X, y, noise, rng)


def make_spirals(n: int = 300, noise: float = 0.0, seed: int | None = None, n_classes: int = 3):
    """``n_classes`` interleaved spiral arms (the classic CS231n problem).

    Arm ``k`` has points at radius ``r`` in ``[0, 1]`` and angle
    ``theta = 4 r + 2 pi k / n_classes`` -- each arm winds two-thirds of a turn, and the arms
    are rotated copies of each other. Points are split as evenly as possible between arms.
    """
    _check(n, noise, "make_spirals")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be an integer >= 2, got {n_classes!r}")
    rng = np.random.default_rng(seed)
    sizes = [n // n_classes + (k < n % n_classes) for k in range(n_classes)]
    Xs, ys = [], []
    for k, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        theta = 4.0 * r + 2.0 * np.pi * k / n_classes
        Xs.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        ys.append(np.full(m, k, np.int64))
    return _shuffle_and_noise(np.concatenate(Xs), np.concatenate(ys), noise, rng)
