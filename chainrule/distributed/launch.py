"""Starting a job of several processes: find ``mpiexec``, build its command line, and
``chainrule train --ranks N`` / ``--distributed``."""

from __future__ import annotations

import os
import shutil
import sys

__all__ = [
    "find_mpiexec",
    "mpiexec_command",
    "relaunch_train",
    "distributed_train_setup",
    "NO_MPI_MESSAGE",
]

NO_MPI_MESSAGE = (
    "no MPI found: running several processes needs mpi4py and an MPI library with its "
    "'mpiexec' launcher. Install both, in chainrule's clone, with: pip install -e "
    '".[distributed]" '
    "(or: pip install mpi4py mpich); on a cluster, load the cluster's MPI module and "
    "pip install mpi4py"
)


def find_mpiexec() -> str | None:
    """The ``mpiexec`` that belongs to this Python's MPI: the one installed beside the
    interpreter (``pip install mpich`` puts it there) first, then the one on ``PATH``.
    None when mpi4py or ``mpiexec`` is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec")


def mpiexec_command(n: int, args: list[str], module: str | None = "chainrule") -> list[str]:
    """``mpiexec -n N python -m mpi4py [-m module] args...``: ``python -m mpi4py`` makes an
    uncaught exception on one process abort the whole job instead of leaving the others
    waiting. Raises ``RuntimeError`` with install instructions when there is no MPI."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of processes must be a positive integer, got {n!r}")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise RuntimeError(NO_MPI_MESSAGE)
    head = [mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py"]
    return head + (["-m", module] if module else []) + list(args)


def _train_argv(args) -> list[str]:
    """The ``chainrule train`` options of parsed ``args`` as a command line, without
    ``--ranks`` and with ``--distributed``."""
    argv = ["train"]
    for dest, value in vars(args).items():
        if dest in ("command", "run", "ranks", "distributed") or dest.startswith("_"):
            continue
        if value is None or value is False or callable(value):
            continue
        option = "--" + dest.replace("_", "-")
        argv += [option] if value is True else [option, str(value)]
    return argv + ["--distributed"]


def relaunch_train(args) -> int:
    """``chainrule train --ranks N ...``: replace this process by
    ``mpiexec -n N python -m mpi4py -m chainrule train ... --distributed``."""
    n = args.ranks
    if n < 1:
        raise ValueError(f"--ranks must be at least 1, got {n}")
    try:
        cmd = mpiexec_command(n, _train_argv(args))
    except RuntimeError as e:
        raise ImportError(f"--ranks {n}: {e}") from None
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cmd[0], cmd)
    return 0  # not reached


def distributed_train_setup(model, batch_size: int):
    """``chainrule train --distributed``: the model wrapped for data-parallel training and
    the batch size of each process (``batch_size`` split among them; a note on rank 0 when
    it does not divide)."""
    from chainrule.distributed import comm
    from chainrule.distributed.ddp import DistributedDataParallel

    _, size, _ = comm.init()
    per_rank = max(1, batch_size // size)
    if size == 1:
        print(
            "--distributed: this process runs alone (start several with mpiexec -n N python "
            "-m mpi4py -m chainrule train --distributed, or with --ranks N)"
        )
    else:
        note = "" if per_rank * size == batch_size else f" (--batch-size {batch_size} rounded)"
        print(
            f"data-parallel on {size} processes: batch {per_rank} on each, "
            f"{per_rank * size} together{note}"
        )
    return DistributedDataParallel(model), per_rank
