"""Run under ``mpiexec -n 2``: ``cr.train.fit`` on a DistributedDataParallel model.

Rank 0 prints ``RESULT {json}`` for tests/test_distributed.py.
"""

import json
import sys

import numpy as np

import chainrule as cr
import chainrule.io
import chainrule.train
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.distributed import DistributedDataParallel as DDP
from chainrule.distributed.comm import all_gather_object

rank, size, _ = cr.distributed.init()
assert size == 2, "run with mpiexec -n 2"
cr.set_default_dtype(cr.float64)
tmp = sys.argv[1]
results = {}
rng = np.random.default_rng(0)
X, y = rng.normal(size=(96, 6)), rng.integers(0, 3, 96)
Xv, yv = rng.normal(size=(31, 6)), rng.integers(0, 3, 31)
loss_fn = cr.nn.CrossEntropyLoss()

shown = []
original_bar = chainrule.train._progress_bar
chainrule.train._progress_bar = lambda total, enabled, desc: shown.append(enabled)


def mlp(seed):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(6, 12), cr.nn.Tanh(), cr.nn.Linear(12, 3))


def params(model):
    return np.concatenate([p.data.ravel() for p in model.parameters()])


# --- fit on 2 ranks x batch 16 (unshuffled shards) == fit on 1 process x batch 32 ---------
ddp = DDP(mlp(rank))  # rank 0's weights everywhere
ref = mlp(99)
ref.load_state_dict(ddp.module.state_dict())
ds = TensorDataset(X, y)
mine = DataLoader(ds, 16, sampler=DistributedSampler(ds, shuffle=False))
h = cr.train.fit(
    ddp,
    loss_fn,
    cr.optim.SGD(ddp.parameters(), lr=0.2, momentum=0.9),
    mine,
    3,
    val_data=(Xv, yv),
    progress=True,
)
h_ref = cr.train.fit(
    ref,
    loss_fn,
    cr.optim.SGD(ref.parameters(), lr=0.2, momentum=0.9),
    DataLoader(ds, 32),
    3,
    val_data=(Xv, yv),
    progress=False,
)
results["fit_param_diff"] = float(np.abs(params(ddp.module) - params(ref)).max())
results["history_diff"] = {
    k: float(np.abs(np.array(h[k]) - np.array(h_ref[k])).max())
    for k in ("loss", "accuracy", "val_loss", "val_accuracy")
}
results["progress_enabled"] = all_gather_object(shown[:1])

# --- arrays, shuffled: checkpoint after 2 epochs, resume to 4 == 4 straight ---------------


def run(model, epochs, start_epoch=0, optimizer_state=None):
    ddp = DDP(model)
    opt = cr.optim.Adam(ddp.parameters(), lr=1e-2)
    if optimizer_state is not None:
        opt.load_state_dict(optimizer_state)
    hist = cr.train.fit(
        ddp,
        loss_fn,
        opt,
        (X, y),
        epochs,
        val_data=(Xv, yv),
        batch_size=8,
        seed=3,
        start_epoch=start_epoch,
        progress=False,
    )
    return ddp, opt, hist


straight, _, h4 = run(mlp(5), 4)
first, opt, h2 = run(mlp(5), 2)
saves = []
original_save = chainrule.io.save
chainrule.io.save = lambda obj, path: (saves.append(path), original_save(obj, path))[1]
cr.distributed.save(
    {"model": first.module.state_dict(), "optimizer": opt.state_dict(), "epoch": 2},
    f"{tmp}/run.ckpt",
)
chainrule.io.save = original_save
ckpt = cr.load(f"{tmp}/run.ckpt")  # every rank reads the file rank 0 wrote
fresh = mlp(1234 + rank)
fresh.load_state_dict(ckpt["model"])
resumed, _, h_rest = run(fresh, 4, start_epoch=ckpt["epoch"], optimizer_state=ckpt["optimizer"])
results["resume_param_diff"] = float(np.abs(params(resumed.module) - params(straight.module)).max())
results["resume_history_equal"] = h_rest["loss"] == h4["loss"][2:] and h2["loss"] == h4["loss"][:2]
results["checkpoint_writes"] = cr.distributed.all_reduce(len(saves))
results["histories_equal_across_ranks"] = bool(
    cr.distributed.all_reduce(np.array(h4["val_loss"]), op="max").tolist() == h4["val_loss"]
)

# --- a loss that is not finite on one rank only stops every rank at the same batch --------
calls = [0]


def flaky(out, target):
    calls[0] += 1
    loss = loss_fn(out, target)
    return loss * np.nan if (rank == 1 and calls[0] == 5) else loss


model = DDP(mlp(0))
try:
    cr.train.fit(
        model,
        flaky,
        cr.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        2,
        batch_size=16,
        progress=False,
    )
    stopped = "no error"
except FloatingPointError as e:
    stopped = str(e).split(";")[0]
results["nonfinite"] = all_gather_object(stopped)
chainrule.train._progress_bar = original_bar
if rank == 0:
    print("RESULT " + json.dumps(results), flush=True)
