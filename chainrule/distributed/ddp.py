"""``DistributedDataParallel``: one model per process, gradients averaged across processes.

Each of ``N`` processes holds the same weights ``w`` and computes the loss ``L_r`` of its
own shard of the batch. The model trained is that of the whole batch,
``L = (1/N) sum_r L_r``, whose gradient is ``dL/dw = (1/N) sum_r dL_r/dw``: the mean, over
processes, of the gradients each computes alone. After ``loss.backward()`` every process
holds that mean in ``.grad``, so identical optimizer steps keep the weights identical.

How, in the chain-rule engine: while the wrapped model runs forward, each parameter ``w``
is read through an identity node ``gate(w)``. In the backward sweep a gate receives the
parameter's whole local gradient ``dL_r/dw`` (every use of ``w`` in the model has sent its
share by then) and keeps it. One more identity node, made before the gates and feeding all
of them, runs after every gate: it packs the gradients into flat contiguous buckets (in
reverse parameter order, about ``bucket_mb`` MB each), averages each bucket with one MPI
``Allreduce``, and writes the means into ``.grad``. The engine has no per-parameter
"gradient ready" hook, and the gates are made before the model runs, so the sweep reaches
them after the whole backward computation: the reductions follow it rather than overlap
it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.autodiff.custom import primitive
from chainrule.autodiff.graph import is_grad_enabled
from chainrule.distributed import comm
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, make

__all__ = ["DistributedDataParallel"]


def _array(g: Any) -> np.ndarray:
    return g.data if isinstance(g, Tensor) else np.asarray(g)


class _Bucket:
    """Parameters whose gradients travel in one ``Allreduce``: one flat buffer holding each
    gradient at its offset, then one flag per parameter (1 where this process has a
    gradient for it, so a parameter no process used keeps ``.grad`` None)."""

    def __init__(self, params: list, indices: list[int], dtype: np.dtype) -> None:
        self.params = params
        self.indices = indices  # positions in the model's parameter list
        self.offsets = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.size = self.offsets[-1]
        self.buffer = np.empty(self.size + len(params), dtype=dtype)


def _make_buckets(params: list, bucket_bytes: int) -> list[_Bucket]:
    """Reverse parameter order (the order backward produces them), one dtype per bucket,
    a new bucket once ``bucket_bytes`` is reached (a larger parameter gets its own)."""
    buckets: list[_Bucket] = []
    current: list[int] = []
    current_bytes = 0

    def close() -> None:
        buckets.append(_Bucket([params[i] for i in current], current, params[current[0]].dtype))

    for i in reversed(range(len(params))):
        p = params[i]
        if current and (
            p.data.dtype != params[current[0]].dtype or current_bytes + p.data.nbytes > bucket_bytes
        ):
            close()
            current, current_bytes = [], 0
        current.append(i)
        current_bytes += p.data.nbytes
    if current:
        close()
    return buckets


class _Round:
    """The gradients of one forward pass, collected by its gates during backward."""

    def __init__(self) -> None:
        self.grads: dict[int, np.ndarray] = {}


def _gate_forward(x, start, **_):
    return x


def _gate_jvp(t, ans, x, start, **_):
    return t[0]


def _start_forward(anchor, **_):
    return anchor


def _start_jvp(t, ans, anchor, **_):
    return t


class DistributedDataParallel(Module):
    """Train ``model`` on several processes, each on its own shard of every batch.

    At wrap time the processes check that they hold the same model (the same parameter and
    buffer names, shapes and dtypes; otherwise every process raises a ``RuntimeError``
    naming the difference) and copy rank 0's parameters and buffers to all. Then
    ``loss.backward()`` leaves in every parameter's ``.grad`` the mean over processes of
    their gradients, averaged in flat buckets of about ``bucket_mb`` MB (one MPI
    ``Allreduce`` each, in reverse parameter order). BatchNorm running statistics stay
    per process, unless ``sync_bn=True``: then they are averaged after every training
    forward pass.

    Use it as the model: ``ddp(x)`` runs ``model(x)``; ``ddp.module`` is the model;
    ``state_dict()`` keys start with ``module.`` (as in PyTorch; save
    ``ddp.module.state_dict()`` to load the weights into a plain model). Alone (one
    process) it changes nothing.

    Example (in a script run with ``mpiexec -n 2 python -m mpi4py script.py``)::

        model = cr.distributed.DistributedDataParallel(cr.nn.Linear(4, 2))
        loss = ((model(x_shard) - y_shard) ** 2).mean()
        loss.backward()           # .grad = mean over the processes
        optimizer.step()          # the same step everywhere
    """

    def __init__(self, model: Module, bucket_mb: float = 25, sync_bn: bool = False) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(
                f"DistributedDataParallel wraps a cr.nn.Module, got {type(model).__name__}"
            )
        if not (isinstance(bucket_mb, int | float) and bucket_mb > 0):
            raise ValueError(
                f"DistributedDataParallel: bucket_mb must be positive, got {bucket_mb!r}"
            )
        self.module = model
        object.__setattr__(self, "bucket_mb", float(bucket_mb))
        object.__setattr__(self, "sync_bn", bool(sync_bn))
        object.__setattr__(self, "_sync", True)
        comm.init()
        _check_same_model(model)
        if comm.world_size() > 1:
            for t in _state_tensors(model):
                np.copyto(t.data, comm.broadcast(t.data, root=0))
                t.mark_modified("DistributedDataParallel (rank 0's values)")
        params = list(dict.fromkeys((p for p in model.parameters() if p.requires_grad), None))
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_buckets", _make_buckets(params, int(bucket_mb * 2**20)))
        object.__setattr__(
            self,
            "_gate",
            primitive(_gate_forward, name="ddp_gate", vjp=self._gate_vjp, jvp=_gate_jvp),
        )
        object.__setattr__(
            self,
            "_anchor_prim",
            primitive(_start_forward, name="ddp_reduce", vjp=self._reduce_vjp, jvp=_start_jvp),
        )
        object.__setattr__(self, "_anchor", make(np.zeros((), dtype=np.float64)))
        self._anchor.requires_grad = True

    # --- forward: parameters read through gates ------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the wrapped model: ``ddp(x)`` returns ``model(x)``, the same output.

        With several processes and grad mode on, the parameters are read through markers, so
        that the backward pass averages the gradients over the processes bucket by bucket as
        they are computed; with ``sync_bn=True`` the BatchNorm running statistics are averaged
        after a training pass. Alone (one process), or under ``no_sync()``, it is just
        ``model(x)``.
        """
        if comm.world_size() == 1 or not self._sync or not is_grad_enabled() or not self._params:
            out = self.module(*args, **kwargs)
        else:
            out = self._gated_forward(*args, **kwargs)
        if self.sync_bn and self.training and comm.world_size() > 1:
            self._average_batchnorm()
        return out

    def _gated_forward(self, *args: Any, **kwargs: Any) -> Any:
        rnd = _Round()
        # The anchor's node is made first, so the sweep reaches it after every gate.
        start = self._anchor_prim(self._anchor, _round=rnd)
        gates = {
            id(p): self._gate(p, start, _round=rnd, _index=i) for i, p in enumerate(self._params)
        }
        swapped = []
        try:
            for m in self.module.modules():
                reg = m._parameters
                for name, p in reg.items():
                    if p is not None and id(p) in gates:
                        swapped.append((reg, name, p))
                        reg[name] = gates[id(p)]
            return self.module(*args, **kwargs)
        finally:
            for reg, name, p in swapped:
                reg[name] = p

    def _gate_vjp(self, g, ans, x, anchor, _round, _index):
        _round.grads[_index] = _array(g)
        return None, np.zeros((), dtype=np.float64)

    def _reduce_vjp(self, g, ans, anchor, _round):
        try:
            self._reduce(_round.grads)
        finally:
            _round.grads.clear()  # a second backward (retain_graph) collects anew
        return None

    # --- the reduction -------------------------------------------------------------------

    def _reduce(self, grads: dict[int, np.ndarray]) -> None:
        world = comm._world()
        MPI = world.mpi
        for bucket in self._buckets:
            buf = bucket.buffer
            flags = buf[bucket.size :]
            for j, p in enumerate(bucket.params):
                slot = buf[bucket.offsets[j] : bucket.offsets[j + 1]].reshape(p.data.shape)
                g = grads.get(bucket.indices[j])
                old = None if p.grad is None else p.grad.data
                # The gradient already in .grad (accumulated under no_sync, or by an earlier
                # backward) is part of what is averaged: mean(old + new).
                if g is None and old is None:
                    slot[...] = 0
                    flags[j] = 0
                elif old is None:
                    slot[...] = g
                    flags[j] = 1
                elif g is None:
                    slot[...] = old
                    flags[j] = 1
                else:
                    np.add(old, g, out=slot)
                    flags[j] = 1
            world.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            buf[: bucket.size] /= world.size
            for j, p in enumerate(bucket.params):
                if flags[j] == 0:
                    continue
                mean = buf[bucket.offsets[j] : bucket.offsets[j + 1]].reshape(p.data.shape)
                if p.grad is None or p.grad.requires_grad:
                    p.grad = make(mean.copy())
                else:
                    np.copyto(p.grad.data, mean)

    def _average_batchnorm(self) -> None:
        stats = [
            b
            for m in self.module.modules()
            if type(m).__name__.startswith("BatchNorm")
            for name, b in m._buffers.items()
            if b is not None and name in ("running_mean", "running_var")
        ]
        for b in stats:
            np.copyto(b.data, comm.all_reduce(b.data, op="mean"))

    # --- gradient accumulation ------------------------------------------------------------

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this context only accumulate local
        gradients; the next synchronised backward averages the accumulated sum::

            with ddp.no_sync():
                loss_fn(ddp(x1), y1).backward()   # local
            loss_fn(ddp(x2), y2).backward()       # .grad = mean over processes of g1 + g2
        """
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)

    def extra_repr(self) -> str:
        """The settings shown inside ``repr(ddp)``: ``world_size=..., bucket_mb=...,
        sync_bn=...``.
        """
        return (
            f"world_size={comm.world_size()}, bucket_mb={self.bucket_mb:g}, sync_bn={self.sync_bn}"
        )


def _state_tensors(model: Module) -> list[Tensor]:
    out = list(model.parameters())
    out += [b for b in model.buffers() if b is not None and b.data.dtype.kind in "fciub"]
    return list(dict.fromkeys(out))


def _signature(model: Module) -> list[tuple[str, str, tuple, str]]:
    sig = [("parameter", n, tuple(p.shape), p.data.dtype.str) for n, p in model.named_parameters()]
    sig += [
        ("buffer", n, tuple(b.shape), b.data.dtype.str)
        for n, b in model.named_buffers()
        if b is not None
    ]
    return sig


def _describe(entry) -> str:
    kind, name, shape, dtype = entry
    return f"{kind} {name!r} of shape {shape}, dtype {np.dtype(dtype)}"


def _check_same_model(model: Module) -> None:
    """Raise on every process if the processes' models differ in structure."""
    mine = _signature(model)
    every = comm.all_gather_object(mine)
    first = every[0]
    for r, sig in enumerate(every[1:], start=1):
        if sig == first:
            continue
        for i in range(max(len(first), len(sig))):
            a = first[i] if i < len(first) else None
            b = sig[i] if i < len(sig) else None
            if a != b:
                break
        where_a = _describe(a) if a else "nothing (it has fewer)"
        where_b = _describe(b) if b else "nothing (it has fewer)"
        raise RuntimeError(
            f"DistributedDataParallel: the processes hold different models: entry {i} is "
            f"{where_a} on rank 0 but {where_b} on rank {r} (rank 0 has {len(first)} "
            f"parameters and buffers, rank {r} has {len(sig)}). Every process must build "
            "the same model before wrapping it."
        )
