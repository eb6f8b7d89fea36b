"""The communicator: which process am I, how many are we, and the collective operations.

Processes are started by an MPI launcher (``mpiexec -n 4 python -m mpi4py script.py``, or
``srun`` on a cluster) and talk through MPI via mpi4py. A script that was not launched
that way -- or one without mpi4py installed -- gets a communicator of one process on which
every collective is the identity, so the same script runs alone unchanged.

Collectives (every process must call them, in the same order):

* ``all_reduce(a, "sum")`` gives every process ``a_0 + a_1 + ... + a_{N-1}``; ``"mean"``
  divides that by ``N``; ``"max"``/``"min"`` take the elementwise extreme.
* ``broadcast(a, root)`` gives every process the root's ``a``.
* ``barrier()`` returns once every process has reached it.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any

import numpy as np

__all__ = [
    "init",
    "rank",
    "world_size",
    "local_rank",
    "is_main",
    "is_initialized",
    "barrier",
    "all_reduce",
    "broadcast",
    "save",
    "mpi_available",
]

# Environment variables that MPI launchers set in the processes they start (MPICH/Hydra
# and Slurm's PMI, PMIx, Open MPI, MVAPICH). Without one of them (and without mpi4py.MPI
# already imported, as ``python -m mpi4py`` does) the script runs alone and MPI is not
# initialised at all: importing it would cost time and, on some systems, a warning.
_LAUNCHER_VARIABLES = (
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "MV2_COMM_WORLD_SIZE",
)


class _Alone:
    """The communicator of a process that runs alone: every collective is the identity."""

    rank = 0
    size = 1
    local_rank = 0
    mpi = None


class _World:
    """MPI's world communicator, through mpi4py."""

    def __init__(self, MPI) -> None:
        self.mpi = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        # Processes that share this machine's memory: the local rank is the position here.
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = node.Get_rank()
        node.Free()


_STATE: dict[str, Any] = {"world": None}


def mpi_available() -> bool:
    """Whether mpi4py (and an MPI library under it) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _launched_by_mpi() -> bool:
    return "mpi4py.MPI" in sys.modules or any(v in os.environ for v in _LAUNCHER_VARIABLES)


def _abort_on_uncaught(world: _World) -> None:
    """Make an uncaught exception on any process end the whole job.

    Otherwise the other processes wait forever in their next collective. ``python -m mpi4py``
    does the same; this covers scripts started with plain ``python``.
    """

    def hook(kind, value, tb):
        try:
            # One write (not a line at a time), then a moment for the launcher to forward
            # it: MPI_Abort ends every process at once, and output still on its way to
            # mpiexec was seen cut off after its first line.
            text = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(f"[rank {world.rank} of {world.size}] {text}")
            sys.stderr.flush()
            time.sleep(0.2)
        finally:
            world.comm.Abort(1)

    sys.excepthook = hook


def init() -> tuple[int, int, int]:
    """Join the job this process was launched in; returns ``(rank, world_size, local_rank)``.

    Idempotent: later calls return the same. Without an MPI launcher or without mpi4py, the
    process runs alone: ``(0, 1, 0)``. When several processes run, an uncaught exception on
    any of them aborts the whole job (with that process's traceback on stderr) instead of
    leaving the others waiting.

    Example::

        >>> import chainrule as cr
        >>> cr.distributed.init()   # run alone
        (0, 1, 0)
    """
    world = _STATE["world"]
    if world is None:
        world = _Alone()
        if _launched_by_mpi():
            try:
                from mpi4py import MPI
            except ImportError:
                if any(v in os.environ for v in _LAUNCHER_VARIABLES):
                    size = os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE", "?")
                    if size not in ("1", "?"):
                        raise RuntimeError(
                            f"cr.distributed: this process was started by an MPI launcher "
                            f"({size} processes) but mpi4py is not installed, so the "
                            "processes cannot talk; install it: pip install -e "
                            '".[distributed]" in chainrule\'s clone (or pip install mpi4py mpich)'
                        ) from None
            else:
                world = _World(MPI)
                if world.size > 1:
                    _abort_on_uncaught(world)
        _STATE["world"] = world
    return world.rank, world.size, world.local_rank


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _STATE["world"] is not None


def _world():
    world = _STATE["world"]
    if world is None:
        init()
        world = _STATE["world"]
    return world


def rank() -> int:
    """This process's number, ``0 .. world_size() - 1`` (0 when running alone)."""
    return _world().rank


def world_size() -> int:
    """How many processes run the job (1 when running alone)."""
    return _world().size


def local_rank() -> int:
    """This process's number among those on the same machine."""
    return _world().local_rank


def is_main() -> bool:
    """True on rank 0, the process that prints, plots and writes files."""
    return _world().rank == 0


def barrier() -> None:
    """Wait until every process has called ``barrier()``."""
    world = _world()
    if world.size > 1:
        world.comm.Barrier()


def _as_array(a: Any) -> np.ndarray:
    data = getattr(a, "data", None)
    if isinstance(data, np.ndarray):  # a chainrule Tensor
        return data
    return np.asarray(a)


_OPS = ("sum", "mean", "max", "min")


def all_reduce(a: Any, op: str = "sum") -> Any:
    """Combine ``a`` elementwise over all processes; every process gets the result.

    ``op``: ``"sum"`` (``sum_r a_r``), ``"mean"`` (``(1/N) sum_r a_r``, floating point),
    ``"max"`` or ``"min"``. ``a`` is an array, a Tensor (its values) or a Python number, with
    the same shape and dtype on every process. Returns a new NumPy array (a Python number
    for a number); ``a`` is not changed.

    Example::

        >>> cr.distributed.all_reduce(np.array([1.0, 2.0]), op="mean")   # alone: unchanged
        array([1., 2.])
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {_OPS}, got {op!r}")
    scalar = isinstance(a, int | float | np.number) and not isinstance(a, bool)
    arr = _as_array(a)
    if op == "mean" and arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    out = np.array(arr, copy=True, order="C")
    world = _world()
    if world.size > 1:
        MPI = world.mpi
        mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
        world.comm.Allreduce(MPI.IN_PLACE, out, op=mpi_op)
        if op == "mean":
            out /= world.size
    if scalar:
        return out.item()
    return out


def broadcast(a: Any, root: int = 0) -> np.ndarray:
    """Every process gets process ``root``'s array ``a`` (shape and dtype included: the
    other processes' ``a`` is not read, and may be None). Returns a new NumPy array."""
    world = _world()
    if not isinstance(root, int) or not 0 <= root < world.size:
        raise ValueError(f"broadcast: root must be a rank in 0..{world.size - 1}, got {root!r}")
    if world.size == 1:
        return np.array(_as_array(a), copy=True)
    mine = np.ascontiguousarray(_as_array(a)) if world.rank == root else None
    shape, dtype = world.comm.bcast(
        (mine.shape, mine.dtype.str) if mine is not None else None, root=root
    )
    out = mine.copy() if mine is not None else np.empty(shape, dtype=np.dtype(dtype))
    if out.size:
        world.comm.Bcast(out, root=root)
    return out


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """Every process gets process ``root``'s Python object (small things: settings,
    messages)."""
    world = _world()
    if world.size == 1:
        return obj
    return world.comm.bcast(obj, root=root)


def all_gather_object(obj: Any) -> list:
    """A list of every process's ``obj``, in rank order, on every process."""
    world = _world()
    if world.size == 1:
        return [obj]
    return world.comm.allgather(obj)


def save(obj: Any, path) -> None:
    """``cr.save(obj, path)`` by rank 0 only; every process returns once the file is
    complete. If the write fails, every process raises the error (so none waits forever).
    """
    from chainrule.io import save as _save

    world = _world()
    error = None
    if world.rank == 0:
        try:
            _save(obj, path)
        except Exception as e:  # reported to every process below
            if world.size == 1:
                raise
            error = f"{type(e).__name__}: {e}"
    error = broadcast_object(error)
    if error is not None:
        raise OSError(f"cr.distributed.save: rank 0 could not write {os.fspath(path)!r}: {error}")
