"""What ``cr.train.fit`` does differently when its model is a ``DistributedDataParallel``
running on several processes.

* Arrays ``(X, y)`` are sharded: training data through a :class:`DistributedSampler`
  (shuffled per epoch with the same seed everywhere, padded as PyTorch's), validation data
  in ``N`` interleaved pieces without padding (``X[r::N]``), so every validation sample
  counts once. ``batch_size`` is per process, as in PyTorch: the global batch is
  ``N * batch_size``.
* The loss check is collective: when one process's loss is not finite, every process stops
  at the same batch (otherwise the others would wait for it forever).
* Each epoch's loss and metrics are averaged over the processes, weighted by how many
  samples each saw: ``sum_r n_r m_r / sum_r n_r``. That is the exact value for the loss,
  accuracy, MSE and MAE; for R² (and custom metrics) it is the mean of the per-process
  values.
* Only rank 0 shows a progress bar.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.distributed import comm
from chainrule.distributed.ddp import DistributedDataParallel

__all__ = ["DataParallelFit", "data_parallel"]


def data_parallel(model: Any) -> DataParallelFit | None:
    """A :class:`DataParallelFit` when ``model`` is a ``DistributedDataParallel`` on
    several processes, else None (``fit`` runs as usual)."""
    if isinstance(model, DistributedDataParallel) and comm.world_size() > 1:
        return DataParallelFit()
    return None


def _is_arrays(data: Any) -> bool:
    return isinstance(data, tuple | list) and len(data) == 2 and not hasattr(data, "dataset")


class DataParallelFit:
    """The collective steps of a data-parallel ``fit`` (see the module's docstring)."""

    def __init__(self) -> None:
        self.rank = comm.rank()
        self.size = comm.world_size()
        self.is_main = self.rank == 0

    def shard(self, data: Any, batch_size: int, train: bool, seed: int | None) -> Any:
        """This process's share of ``(X, y)`` as a DataLoader; anything else (a DataLoader
        the caller built, e.g. with a DistributedSampler) is returned unchanged."""
        if not _is_arrays(data):
            return data
        from chainrule.data import DataLoader, DistributedSampler, TensorDataset

        dataset = TensorDataset(*data)
        if not train:
            idx = np.arange(self.rank, len(dataset), self.size)
            return DataLoader(TensorDataset(*(a[idx] for a in dataset.arrays)), batch_size)
        if seed is None:  # one seed for all: rank 0's draw
            seed = comm.broadcast_object(int(np.random.default_rng().integers(2**31)))
        sampler = DistributedSampler(dataset, shuffle=True, seed=seed)
        return DataLoader(dataset, batch_size, sampler=sampler)

    def loss_value(self, value: float) -> float:
        """``value``, or the first kind of non-finite loss any process has (nan, inf, -inf),
        so every process stops at the same batch."""
        code = 0 if math.isfinite(value) else (1 if math.isnan(value) else 2 + (value < 0))
        worst = comm.all_reduce(code, op="max")
        return value if worst == 0 else (math.nan, math.inf, -math.inf)[worst - 1]

    def average(self, values: dict[str, float], count: int) -> dict[str, float]:
        """Every process's ``values`` (computed on ``count`` samples), averaged weighted by
        the counts: one Allreduce."""
        keys = list(values)
        row = np.array([count] + [values[k] * count for k in keys], dtype=np.float64)
        total = comm.all_reduce(row)
        n = max(total[0], 1.0)
        return {k: float(v / n) for k, v in zip(keys, total[1:], strict=True)}
