"""``cr.distributed``: data-parallel training on several processes or machines, over MPI.

Launch one process per core (or per machine) with MPI::

    mpiexec -n 4 python -m mpi4py train.py

and in the script wrap the model and shard the data::

    cr.distributed.init()
    model = cr.distributed.DistributedDataParallel(model)
    sampler = cr.data.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = cr.data.DataLoader(dataset, batch_size=16, sampler=sampler)

Every process computes the gradient of its shard; ``backward()`` averages the gradients
across processes (MPI ``Allreduce`` through mpi4py), so every process takes the same step.
Without MPI, or with one process, everything here runs as a single process would.
Needs the optional extra (mpi4py and an MPI): ``pip install -e ".[distributed]"`` in a clone
of chainrule.
"""

from chainrule.distributed.comm import (
    all_reduce,
    barrier,
    broadcast,
    init,
    is_main,
    local_rank,
    rank,
    save,
    world_size,
)
from chainrule.distributed.ddp import DistributedDataParallel

__all__ = [
    "init",
    "rank",
    "world_size",
    "local_rank",
    "is_main",
    "barrier",
    "all_reduce",
    "broadcast",
    "save",
    "DistributedDataParallel",
]
