"""Run under ``mpiexec -n 3``: DistributedSampler shards with the real ranks (10 samples:
uneven), and collectives with three processes. Rank 0 prints ``RESULT {json}``."""

import json

import numpy as np

import chainrule as cr

rank, size, _ = cr.distributed.init()
assert size == 3, "run with mpiexec -n 3"
results = {}
X = np.arange(10.0)[:, None] * np.ones((1, 2))
y = np.arange(10)
dataset = cr.data.TensorDataset(X, y)
for drop_last in (False, True):
    for epoch in (0, 1):
        sampler = cr.data.DistributedSampler(dataset, shuffle=True, seed=5, drop_last=drop_last)
        sampler.set_epoch(epoch)
        loader = cr.data.DataLoader(dataset, batch_size=3, sampler=sampler)
        loader.set_epoch(epoch)
        seen = [int(v) for _, yb in loader for v in yb.data]
        shard = np.full(4, -1)
        shard[: len(seen)] = seen
        rows = np.zeros((size, 4), dtype=np.int64)
        rows[rank] = shard
        results[f"drop_last={drop_last} epoch={epoch}"] = {
            "shards": cr.distributed.all_reduce(rows).tolist(),
            "indices": sampler.indices().tolist(),
            "batches": len(loader),
        }
results["mean_of_ranks"] = cr.distributed.all_reduce(float(rank), op="mean")
results["max_of_ranks"] = cr.distributed.all_reduce(np.array([rank]), op="max").tolist()
if rank == 0:
    print("RESULT " + json.dumps(results), flush=True)
