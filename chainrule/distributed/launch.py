"""Starting a job of several processes: find ``mpiexec`` and build its command line."""

from __future__ import annotations

import os
import shutil
import sys

__all__ = ["find_mpiexec", "mpiexec_command", "NO_MPI_MESSAGE"]

NO_MPI_MESSAGE = (
    "no MPI found: running several processes needs mpi4py and an MPI library with its "
    "'mpiexec' launcher. Install both with: pip install 'chainrule[distributed]' "
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
