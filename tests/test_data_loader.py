"""cr.data.TensorDataset and DataLoader."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset


def _data(n=10):
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n)  # platform int, becomes int64
    return X, y


def test_batches_cover_in_order_without_shuffle():
    X, y = _data(10)
    batches = list(DataLoader(TensorDataset(X, y), batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, cr.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    np.testing.assert_array_equal(xb.data, X[:4].astype(np.float32))
    assert len(DataLoader(TensorDataset(X, y), batch_size=4)) == 3


def test_drop_last():
    X, y = _data(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[1]) for b in loader] == [4, 4]


def test_default_dtype_float64():
    cr.set_default_dtype(cr.float64)
    X, y = _data(4)
    xb, _ = next(iter(DataLoader(TensorDataset(X.astype(np.float32), y), batch_size=2)))
    assert xb.dtype == np.float64


def test_seeded_shuffle_is_a_permutation_new_each_epoch_and_reproducible():
    X, y = _data(50)
    loader = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, seed=3)
    e0 = np.concatenate([b[1].data for b in loader])
    e1 = np.concatenate([b[1].data for b in loader])
    assert sorted(e0.tolist()) == list(range(50)) and not np.array_equal(e0, e1)
    assert not np.array_equal(e0, np.arange(50))
    # pairs stay together
    for xb, yb in loader:
        np.testing.assert_array_equal(xb.data[:, 0], (yb.data * 3).astype(np.float32))
    again = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in again]), e0)
    again.set_epoch(1)  # what a resumed run does
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in again]), e1)


def test_unseeded_shuffle_follows_manual_seed():
    X, y = _data(30)

    def order():
        loader = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True)
        return next(iter(loader))[1].data

    cr.manual_seed(5)
    a = order()
    cr.manual_seed(5)
    np.testing.assert_array_equal(order(), a)


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float64), i % 2

    (xb, yb), (xb2, yb2) = list(DataLoader(Squares(), batch_size=3))
    assert xb.shape == (3, 2) and xb.dtype == np.float32
    assert yb.dtype == np.int64 and yb.tolist() == [0, 1, 0] and yb2.tolist() == [1, 0]


def test_tensor_inputs():
    X = cr.randn(6, 2)
    ds = TensorDataset(X, cr.tensor([0, 1, 0, 1, 0, 1]))
    xb, yb = next(iter(DataLoader(ds, batch_size=6)))
    np.testing.assert_array_equal(xb.data, X.data)


def test_different_lengths_error():
    with pytest.raises(ValueError, match=r"different numbers of samples \[10, 9\]"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))


def test_bad_arguments():
    X, y = _data(4)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(X, y), batch_size=0)
    with pytest.raises(TypeError, match="TensorDataset"):
        DataLoader(5)
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float64(3.0))


def test_samples_of_different_shapes_name_the_shapes_and_the_fix():
    X, y = _data(4)
    # (X, y) itself is a dataset of two items, X of shape (4, 3) and y of shape (4,).
    with pytest.raises(ValueError, match=r"different shapes \(\(4, 3\), \(4,\)\).*TensorDataset"):
        next(iter(DataLoader((X, y), batch_size=2)))
