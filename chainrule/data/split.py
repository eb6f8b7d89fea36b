"""``train_test_split``: a seeded random split, optionally stratified by class."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["train_test_split"]


def _length(a, name: str) -> int:
    shape = getattr(a, "shape", None)
    if shape is None:
        a = np.asarray(a)
        shape = a.shape
    if len(shape) == 0:
        raise ValueError(f"train_test_split: {name} must have at least one dimension, got a scalar")
    return int(shape[0])


def _take(a, idx: np.ndarray):
    if isinstance(a, list | tuple):
        return [a[i] for i in idx]
    return a[idx]


def _n_test(test_size, n: int) -> int:
    if isinstance(test_size, bool):
        raise ValueError(f"train_test_split: test_size must be a float or int, got {test_size!r}")
    if isinstance(test_size, int | np.integer):
        if not 1 <= test_size < n:
            raise ValueError(
                f"train_test_split: test_size={test_size} must be between 1 and {n - 1} "
                f"for {n} samples"
            )
        return int(test_size)
    test_size = float(test_size)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"train_test_split: a float test_size must be in (0, 1), got {test_size}")
    # scikit-learn rounds the test set up.
    n_test = math.ceil(test_size * n)
    if not 1 <= n_test < n:
        raise ValueError(
            f"train_test_split: test_size={test_size} leaves an empty train or test set "
            f"with {n} samples"
        )
    return n_test


def _stratified_test_counts(counts: np.ndarray, n_test: int, rng) -> np.ndarray:
    """Test-set size per class, proportional to class size, summing to ``n_test``.

    Each class gets ``floor(n_test * count / n)``; the seats left over go to the classes with
    the largest remainders (ties broken at random), the largest-remainder (Hamilton) method.
    """
    exact = n_test * counts / counts.sum()
    base = np.floor(exact).astype(np.int64)
    left = n_test - int(base.sum())
    if left:
        remainder = exact - base
        order = np.lexsort((rng.random(len(counts)), -remainder))
        base[order[:left]] += 1
    return np.minimum(base, counts)


def train_test_split(
    X,
    y=None,
    test_size: float | int = 0.2,
    seed: int | None = 0,
    stratify: bool | np.ndarray = False,
):
    """Split ``X`` (and ``y``) at random into a training and a test part.

    Args:
        X: array-like (or Tensor) of shape ``(n, ...)``.
        y: optional array-like of length ``n``.
        test_size: the fraction of samples in the test set (``ceil(test_size * n)`` of them),
            or their number if an int.
        seed: the split is a function of the seed: the same seed, the same split.
        stratify: ``True`` keeps each class's share of ``y`` the same in both parts (to
            within one sample); or pass the labels to stratify by.

    Returns:
        ``(X_train, X_test, y_train, y_test)`` -- scikit-learn's order -- or
        ``(X_train, X_test)`` when ``y`` is None. Each part has the type of its input.

    Example::

        >>> import numpy as np
        >>> X, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
        >>> Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=True)
        >>> Xtr.shape, sorted(yte.tolist())
        ((8, 2), [0, 1])
    """
    n = _length(X, "X")
    if y is not None and _length(y, "y") != n:
        raise ValueError(
            f"train_test_split: X and y have different lengths ({n} and {_length(y, 'y')})"
        )
    n_test = _n_test(test_size, n)
    rng = np.random.default_rng(seed)

    if stratify is False or stratify is None:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        if stratify is True:
            if y is None:
                raise ValueError("train_test_split: stratify=True needs y")
            labels = np.asarray(getattr(y, "data", y))
        else:
            labels = np.asarray(getattr(stratify, "data", stratify))
            if labels.shape[:1] != (n,):
                raise ValueError(
                    f"train_test_split: stratify labels have length {labels.shape[:1]}, X has {n}"
                )
        if labels.ndim != 1:
            raise ValueError(
                f"train_test_split: stratify needs one label per sample, got shape {labels.shape}"
            )
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        if counts.min() < 2:
            bad = classes[np.argmin(counts)]
            raise ValueError(
                f"train_test_split: class {bad!r} has only 1 sample; stratification needs "
                "at least 2 per class"
            )
        per_class = _stratified_test_counts(counts, n_test, rng)
        test_parts, train_parts = [], []
        for c in range(len(classes)):
            members = rng.permutation(np.flatnonzero(inverse == c))
            test_parts.append(members[: per_class[c]])
            train_parts.append(members[per_class[c] :])
        # Shuffle across classes too, so neither part is sorted by label.
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))

    out = [_take(X, train_idx), _take(X, test_idx)]
    if y is not None:
        out += [_take(y, train_idx), _take(y, test_idx)]
    return tuple(out)
