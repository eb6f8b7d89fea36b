"""Datasets and the ``DataLoader`` that cuts them into (optionally shuffled) mini-batches.

A dataset is anything with ``__len__`` and ``__getitem__(i)`` returning a sample (an array, a
number, or a tuple of them), as in PyTorch. :class:`TensorDataset` wraps arrays that share
their first dimension; the loader slices those directly (one fancy index per batch and array)
instead of stacking samples one by one.

Batches are chainrule Tensors. Floating-point data becomes the default dtype
(``cr.get_default_dtype()``, float32 unless changed) and integers become int64, so labels are
ready for ``CrossEntropyLoss`` and features for ``Linear`` without a cast in the training loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.tensor import get_default_dtype, make

__all__ = ["Dataset", "TensorDataset", "DataLoader"]


class Dataset:
    """Base class for map-style datasets: subclass it and define ``__len__`` and
    ``__getitem__``."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError


def _as_array(a: Any) -> np.ndarray:
    data = getattr(a, "data", None)
    if isinstance(data, np.ndarray):  # a chainrule Tensor
        return data
    return np.asarray(a)


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of several arrays (or Tensors) of the same length.

    ``TensorDataset(X, y)[i] == (X[i], y[i])``.

    Example::

        >>> import numpy as np
        >>> ds = TensorDataset(np.zeros((5, 3)), np.arange(5))
        >>> len(ds), ds[2][1]
        (5, np.int64(2))
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(
                    f"TensorDataset: array {i} is a scalar; arrays need a first (sample) dimension"
                )
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(
                f"TensorDataset: the arrays have different numbers of samples {lengths} "
                f"(shapes {shapes}); every array needs the same first dimension"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple:
        return tuple(a[index] for a in self.arrays)


def _target_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind == "f":
        return np.dtype(get_default_dtype())
    if dtype.kind in "iu":
        return np.dtype(np.int64)
    return dtype


def _to_tensor(a: np.ndarray):
    a = np.asarray(a)
    # `make` wraps without the copy `cr.tensor` would make: the batch is already a new array.
    return make(np.array(a, dtype=_target_dtype(a.dtype)))


def _collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, field by field for tuples/lists/dicts."""
    first = samples[0]
    if isinstance(first, tuple | list):
        return tuple(_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _collate([s[k] for s in samples]) for k in first}
    arrays = [_as_array(s) for s in samples]
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = ", ".join(str(sh) for sh in dict.fromkeys(a.shape for a in arrays))
        raise ValueError(
            f"DataLoader: cannot batch samples of different shapes ({shapes}); every item of "
            "the dataset needs the same shape (for arrays X, y: DataLoader(TensorDataset(X, y)))"
        ) from None


def _convert(batch: Any) -> Any:
    if isinstance(batch, tuple):
        return tuple(_convert(b) for b in batch)
    if isinstance(batch, dict):
        return {k: _convert(v) for k, v in batch.items()}
    return _to_tensor(batch)


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    Args:
        dataset: a :class:`TensorDataset` or any object with ``__len__`` and ``__getitem__``.
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: visit the samples in a new random order each epoch (each ``iter()``).
        drop_last: drop the last, incomplete batch.
        sampler: the sample indices to visit, in order, each epoch (an iterable with
            ``__len__``, e.g. :class:`~chainrule.data.DistributedSampler`); replaces
            ``shuffle`` (the sampler decides the order). :meth:`set_epoch` is passed on to
            it.
        seed: makes shuffling reproducible: epoch ``e`` uses the permutation drawn from
            ``numpy.random.default_rng((seed, e))``, so it does not depend on how many epochs
            ran before in this process (a resumed run sees the same orders; see
            :meth:`set_epoch`). With ``seed=None`` the order comes from chainrule's global
            generator (``cr.manual_seed``).

    ``len(loader)`` is the number of batches per epoch.

    Example::

        >>> import numpy as np
        >>> loader = DataLoader(TensorDataset(np.ones((10, 2)), np.arange(10)), batch_size=4)
        >>> [tuple(xb.shape) for xb, yb in loader]
        [(4, 2), (4, 2), (2, 2)]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        *,
        sampler: Any = None,
    ) -> None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size < 1
        ):
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}"
            )
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: dataset of type {type(dataset).__name__} needs __len__ and "
                "__getitem__ (wrap arrays in cr.data.TensorDataset(X, y))"
            )
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: pass shuffle=True or a sampler, not both (the sampler decides "
                "the order; DistributedSampler(dataset, shuffle=True) shuffles)"
            )
        if sampler is not None and not (
            hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")
        ):
            raise TypeError(
                f"DataLoader: sampler must be an iterable of indices with __len__, got "
                f"{type(sampler).__name__}"
            )
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` use epoch ``epoch``'s shuffling order."""
        self.epoch = int(epoch)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return np.fromiter(self.sampler, dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self.seed is not None:
            rng = np.random.default_rng((int(self.seed), self.epoch))
        else:
            rng = np.random.default_rng(_global_seed())
        return rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        self.epoch += 1
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            if fast:
                # The dataset's current arrays, converted batch by batch (a cached converted
                # copy would go stale when the arrays are changed in place).
                yield tuple(
                    make(np.asarray(a[idx], dtype=_target_dtype(a.dtype)))
                    for a in self.dataset.arrays
                )
            else:
                yield _convert(_collate([self.dataset[int(i)] for i in idx]))


def _global_seed() -> int:
    """A seed drawn from chainrule's global random generator, so that ``cr.manual_seed``
    makes unseeded shuffling reproducible."""
    from chainrule.numpy_api import random_generator

    return int(random_generator().integers(2**63))
