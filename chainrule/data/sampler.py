"""``DistributedSampler``: each process of a data-parallel job reads its own shard.

With ``N`` processes and a dataset of ``n`` samples, an epoch's order (a permutation drawn
from ``numpy.random.default_rng((seed, epoch))``, or ``0..n-1`` without shuffling) is cut
into ``N`` interleaved shards: process ``r`` reads positions ``r, r + N, r + 2N, ...``.
When ``N`` does not divide ``n``, PyTorch's rule applies: the order is padded with its own
first samples up to ``N * ceil(n / N)`` (so every process gets the same number of
batches), or, with ``drop_last=True``, cut to ``N * floor(n / N)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of this process's shard of ``dataset``, for ``DataLoader(sampler=...)``.

    Args:
        dataset: anything with ``__len__``.
        shuffle: a new order each epoch, the same on every process (call
            :meth:`set_epoch` before each epoch, as in PyTorch; ``cr.train.fit`` does).
        seed: the shuffling seed; must be the same on every process.
        drop_last: drop the tail that does not divide evenly instead of padding.
        num_replicas, rank: the number of processes and this one's rank (default: from
            ``cr.distributed``).

    Example::

        >>> s = DistributedSampler(range(10), shuffle=False, num_replicas=3, rank=1)
        >>> list(s)   # positions 1, 4, 7 of 0..9 padded with 0, 1 to 12
        [1, 4, 7, 0]
    """

    def __init__(
        self,
        dataset: Any,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        *,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if num_replicas is None or rank is None:
            from chainrule.distributed import comm

            num_replicas = comm.world_size() if num_replicas is None else num_replicas
            rank = comm.rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(
                f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}"
            )
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: rank must be in 0..{num_replicas - 1}, got {rank!r}"
            )
        if not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DistributedSampler: the dataset ({type(dataset).__name__}) needs __len__"
            )
        n = len(dataset)
        if drop_last and n < num_replicas:
            raise ValueError(
                f"DistributedSampler: {n} samples cannot give each of {num_replicas} processes "
                "one with drop_last=True; use drop_last=False (padding) or fewer processes"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (the same on every process) from the next ``iter()``."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This process's sample indices for the current epoch, as an array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad with the order's own first samples (repeated if need be)
            order = np.concatenate([order] * (self.total_size // max(n, 1) + 1))[: self.total_size]
        else:
            order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(rank={self.rank} of {self.num_replicas}, "
            f"{self.num_samples} samples, shuffle={self.shuffle}, seed={self.seed}, "
            f"drop_last={self.drop_last}, epoch={self.epoch})"
        )
