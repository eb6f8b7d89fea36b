"""Run under ``mpiexec -n 2``: one rank fails in the way named by ``sys.argv[1]``.

raise     rank 1 raises while rank 0 waits in a collective
kill      rank 1 is killed by SIGKILL while rank 0 waits in a collective
mismatch  the ranks build models of different shapes and wrap them
"""

import os
import signal
import sys

import numpy as np

import chainrule as cr

rank, size, _ = cr.distributed.init()
mode = sys.argv[1]
cr.distributed.barrier()
if mode == "raise":
    if rank == 1:
        raise ValueError("rank one failed on purpose")
    cr.distributed.all_reduce(np.ones(3))  # waits for rank 1, which never comes
elif mode == "kill":
    if rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    cr.distributed.all_reduce(np.ones(3))
elif mode == "mismatch":
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3 + rank))
    try:
        cr.distributed.DistributedDataParallel(model)
    except RuntimeError as e:
        # one write per line: a pipe keeps writes this short whole when ranks interleave
        sys.stderr.write(f"rank {rank} raised: {e}\n")
        sys.stderr.flush()
        cr.distributed.barrier()
        sys.exit(3)
    print(f"rank {rank}: no error", flush=True)
