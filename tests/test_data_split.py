"""cr.data.train_test_split."""

import numpy as np
import pytest

from chainrule.data import train_test_split


def test_partition_and_order():
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(Xte) == 5 and len(Xtr) == 20  # ceil(0.2 * 25)
    np.testing.assert_array_equal(Xtr[:, 0] // 2, ytr)  # rows stay paired with labels
    np.testing.assert_array_equal(Xte[:, 0] // 2, yte)
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(25))


def test_ceil_and_int_sizes():
    X = np.zeros((11, 1))
    assert len(train_test_split(X, test_size=0.25)[1]) == 3  # ceil(2.75)
    assert len(train_test_split(X, test_size=4)[1]) == 4


def test_seeded():
    X, y = np.arange(100.0), np.arange(100)
    a = train_test_split(X, y, seed=5)
    b = train_test_split(X, y, seed=5)
    c = train_test_split(X, y, seed=6)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_stratified_keeps_proportions():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [50, 30, 20])
    rng.shuffle(y)
    X = np.arange(100)
    for seed in range(5):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        assert np.bincount(yte).tolist() == [10, 6, 4]
        assert np.bincount(ytr).tolist() == [40, 24, 16]
        np.testing.assert_array_equal(y[Xte], yte)


def test_stratified_rounding_sums_to_test_size():
    y = np.repeat([0, 1, 2], [7, 7, 7])
    _, _, _, yte = train_test_split(np.arange(21), y, test_size=0.2, seed=0, stratify=True)
    counts = np.bincount(yte, minlength=3)
    assert counts.sum() == 5 and counts.max() - counts.min() <= 1


def test_stratify_by_given_labels():
    groups = np.repeat([0, 1], [80, 20])
    X = np.arange(100)
    _, Xte = train_test_split(X, test_size=0.1, seed=0, stratify=groups)
    assert np.bincount(groups[Xte]).tolist() == [8, 2]


def test_lists_are_split_too():
    Xtr, Xte = train_test_split(list("abcdefghij"), test_size=0.3, seed=1)
    assert isinstance(Xtr, list) and len(Xte) == 3 and sorted(Xtr + Xte) == list("abcdefghij")


def test_bad_input():
    with pytest.raises(ValueError, match=r"different lengths \(10 and 9\)"):
        train_test_split(np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.zeros(10), test_size=1.5)
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.zeros(10), test_size=10)
    with pytest.raises(ValueError, match="only 1 sample"):
        train_test_split(np.zeros(5), np.array([0, 0, 1, 1, 2]), stratify=True)
    with pytest.raises(ValueError, match="needs y"):
        train_test_split(np.zeros(5), stratify=True)
