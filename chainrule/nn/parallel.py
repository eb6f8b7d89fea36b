"""``cr.nn.parallel``: PyTorch's home of ``DistributedDataParallel``, which lives in
:mod:`chainrule.distributed` (loaded on first use, so ``cr.nn`` does not depend on it)."""

__all__ = ["DistributedDataParallel"]  # noqa: F822  (loaded by __getattr__)


def __getattr__(name: str):
    if name == "DistributedDataParallel":
        from chainrule.distributed.ddp import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'chainrule.nn.parallel' has no attribute {name!r}")
