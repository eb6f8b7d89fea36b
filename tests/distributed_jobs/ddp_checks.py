"""Run under ``mpiexec -n 2``: collectives, DistributedDataParallel against one process.

Every rank computes the one-process reference itself (the whole batch on a plain copy of
the model) and compares; rank 0 prints ``RESULT {json}`` for tests/test_distributed.py.
"""

import json
import sys

import numpy as np

import chainrule as cr
import chainrule.io
from chainrule.distributed import DistributedDataParallel as DDP

rank, size, _ = cr.distributed.init()
assert size == 2, "run with mpiexec -n 2"
results = {}
tmp = sys.argv[1]


def gather(x):
    """Every rank's array, stacked (through all_reduce: each rank fills its own row)."""
    x = np.asarray(x, dtype=np.float64)
    rows = np.zeros((size,) + x.shape)
    rows[rank] = x
    return cr.distributed.all_reduce(rows)


# --- collectives -------------------------------------------------------------------------
results["rank_world_main"] = gather(
    [cr.distributed.rank(), cr.distributed.world_size(), cr.distributed.is_main()]
).tolist()
a = np.array([1.0, 2.0]) * (rank + 1)
results["sum"] = cr.distributed.all_reduce(a).tolist()
results["mean"] = cr.distributed.all_reduce(a, op="mean").tolist()
results["max"] = cr.distributed.all_reduce(np.array([rank, -rank]), op="max").tolist()
results["scalar_sum"] = cr.distributed.all_reduce(rank + 1)
results["broadcast"] = gather(
    cr.distributed.broadcast(np.arange(3.0) + 10 if rank == 1 else None, root=1)
).tolist()
cr.distributed.barrier()
results["init_again"] = list(cr.distributed.init())


# --- equivalence: 2 ranks x batch 16 == 1 process x batch 32 ------------------------------
def mlp():
    return cr.nn.Sequential(
        cr.nn.Linear(8, 16), cr.nn.Tanh(), cr.nn.Linear(16, 16), cr.nn.ReLU(), cr.nn.Linear(16, 4)
    )


def equivalence(dtype, make_opt, steps=20, bucket_mb=25):
    cr.set_default_dtype(dtype)
    cr.manual_seed(100 + rank)  # different weights on each rank: wrapping copies rank 0's
    ddp = DDP(mlp(), bucket_mb=bucket_mb)
    ref = mlp()
    ref.load_state_dict(ddp.module.state_dict())
    start = [p.data.copy() for p in ref.parameters()]
    opt, ref_opt = make_opt(ddp.parameters()), make_opt(ref.parameters())
    rng = np.random.default_rng(7)
    X = rng.normal(size=(steps * 32, 8)).astype(dtype)
    y = rng.integers(0, 4, steps * 32)
    loss_fn = cr.nn.CrossEntropyLoss()
    for k in range(steps):
        mine = slice(32 * k + 16 * rank, 32 * k + 16 * rank + 16)
        whole = slice(32 * k, 32 * k + 32)
        opt.zero_grad()
        loss_fn(ddp(cr.tensor(X[mine])), cr.tensor(y[mine])).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(cr.tensor(X[whole])), cr.tensor(y[whole])).backward()
        ref_opt.step()
    diff = max(
        float(np.abs(p.data - q.data).max()) for p, q in zip(ddp.parameters(), ref.parameters())
    )
    mine = np.concatenate([p.data.ravel() for p in ddp.parameters()]).astype(np.float64)
    across = float(np.abs(gather(mine)[0] - gather(mine)[1]).max())
    moved = max(float(np.abs(p.data - q).max()) for p, q in zip(ref.parameters(), start))
    cr.set_default_dtype(cr.float32)
    return {
        "diff": cr.distributed.all_reduce(diff, op="max"),
        "across_ranks": across,
        "dtype": str(ddp.module[0].weight.dtype),
        "moved": moved,
        "buckets": len(ddp._buckets),
    }


def sgd(params):
    return cr.optim.SGD(params, lr=0.1, momentum=0.9)


def adam(params):
    return cr.optim.Adam(params, lr=1e-2)


results["sgd64"] = equivalence(cr.float64, sgd)
results["sgd32"] = equivalence(cr.float32, sgd)
results["adam64"] = equivalence(cr.float64, adam)
results["adam32"] = equivalence(cr.float32, adam)
# Tiny buckets: one Allreduce per parameter, the same numbers.
results["sgd64_small_buckets"] = equivalence(cr.float64, sgd, steps=3, bucket_mb=1e-6)

# --- no_sync: accumulate locally, the next backward averages the sum ----------------------
cr.set_default_dtype(cr.float64)
cr.manual_seed(0)
ddp = DDP(mlp())
ref = mlp()
ref.load_state_dict(ddp.module.state_dict())
rng = np.random.default_rng(3)
X, y = rng.normal(size=(32, 8)), rng.integers(0, 4, 32)
loss_fn = cr.nn.CrossEntropyLoss()
with ddp.no_sync():
    loss_fn(
        ddp(cr.tensor(X[8 * rank : 8 * rank + 8])), cr.tensor(y[8 * rank : 8 * rank + 8])
    ).backward()
local_after_no_sync = gather(np.concatenate([p.grad.data.ravel() for p in ddp.parameters()]))
loss_fn(
    ddp(cr.tensor(X[16 + 8 * rank : 24 + 8 * rank])), cr.tensor(y[16 + 8 * rank : 24 + 8 * rank])
).backward()
loss_fn(ref(cr.tensor(X[:16])), cr.tensor(y[:16])).backward()
loss_fn(ref(cr.tensor(X[16:])), cr.tensor(y[16:])).backward()
results["no_sync_local_differs"] = float(
    np.abs(local_after_no_sync[0] - local_after_no_sync[1]).max()
)
results["no_sync_diff"] = max(
    float(np.abs(p.grad.data - q.grad.data).max())
    for p, q in zip(ddp.parameters(), ref.parameters())
)


# --- a parameter used on rank 0 only, and one used nowhere --------------------------------
class TwoHeads(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = cr.nn.Linear(3, 3)
        self.head = cr.nn.Linear(3, 1)
        self.unused = cr.nn.Linear(3, 1)

    def forward(self, x, use_head):
        h = self.body(x)
        return h.sum() + (self.head(h).sum() if use_head else 0.0)


cr.manual_seed(1)
ddp = DDP(TwoHeads())
plain = TwoHeads()
plain.load_state_dict(ddp.module.state_dict())
x = cr.tensor(np.ones((2, 3)) * (rank + 1))
ddp(x, use_head=rank == 0).backward()
plain(x, use_head=rank == 0).backward()
local_head = plain.head.weight.grad.data if rank == 0 else np.zeros((1, 3))
results["head_grad_is_half_of_rank0"] = float(
    np.abs(ddp.module.head.weight.grad.data - cr.distributed.all_reduce(local_head) / 2).max()
)
results["unused_grad_is_none"] = gather([ddp.module.unused.weight.grad is None]).tolist()

# --- BatchNorm running statistics: per rank, or averaged with sync_bn ---------------------
for sync in (False, True):
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    plain = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    plain.load_state_dict(net.state_dict())
    ddp = DDP(net, sync_bn=sync)
    xb = cr.tensor(np.random.default_rng(rank).normal(size=(6, 3)))
    ddp(xb)
    plain(xb)
    rm = gather(net[1].running_mean.data)
    expected = cr.distributed.all_reduce(plain[1].running_mean.data, op="mean")
    results[f"bn_sync_{sync}"] = {
        "ranks_differ": float(np.abs(rm[0] - rm[1]).max()),
        "diff_from_mean": float(np.abs(net[1].running_mean.data - expected).max()),
    }

# --- save: rank 0 writes once, every rank returns after the file is complete --------------
calls = []
original = chainrule.io.save
chainrule.io.save = lambda obj, path: (calls.append(path), original(obj, path))[1]
path = f"{tmp}/ckpt.crz"
cr.distributed.save({"w": np.arange(100000.0), "rank": rank}, path)
chainrule.io.save = original
loaded = cr.load(path)
results["save_calls"] = cr.distributed.all_reduce(len(calls))
results["saved_rank"] = gather([loaded["rank"]]).tolist()
results["saved_complete"] = bool(
    cr.distributed.all_reduce(int(np.array_equal(loaded["w"], np.arange(100000.0))), op="min")
)

if rank == 0:
    print("RESULT " + json.dumps(results), flush=True)
