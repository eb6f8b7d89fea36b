"""Data-parallel training over MPI: time per step and its Allreduce share, 1 and 2 ranks.

    python benchmarks/distributed.py             # 5 alternating rounds of 1 and 2 ranks
    python benchmarks/distributed.py --quick     # a few steps, seconds (a smoke run)

Two models, float32, Adam, one BLAS thread per process, a fixed *global* batch split among
the ranks (strong scaling):

* ``digits``: the ``chainrule train`` MLP 64-64-10 (4,810 parameters), global batch 32;
* ``w1``: MLP 784-512-512-10 (669,706 parameters, 2.7 MB of float32), global batch 256.

A step is forward, loss, ``zero_grad``, ``backward`` (which averages the gradients with
one Allreduce per bucket) and ``optimizer.step``. Each job (``mpiexec -n N``) times
``--steps`` steps one by one after a warm-up; a step's time is the slowest rank's, and the
Allreduce time is measured around DistributedDataParallel's reduction, on the rank that
arrives last (the transfer alone) and on the first (plus its wait for the other). Rounds
alternate 1 and 2 ranks so that drift in the machine's load falls on both; the table gives medians
over rounds, and the load average is recorded.

The 1-rank jobs also time the compute of one process at the batches a node would get
with 1, 2, 8 and 64 nodes (no communication), and the script prints the ring-allreduce
model for 8 and 64 nodes from them: see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"digits": ([64, 64, 10], 32), "w1": ([784, 512, 512, 10], 256)}


def _build(sizes):
    import chainrule as cr

    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [cr.nn.Linear(a, b), cr.nn.ReLU()]
    return cr.nn.Sequential(*layers[:-1])


def _limit_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)


def worker(steps: int, warmup: int) -> None:
    """Run under mpiexec: time every model's training step; rank 0 prints JSON."""
    import chainrule as cr
    from chainrule.distributed import DistributedDataParallel

    limits = _limit_blas()  # noqa: F841  (kept alive for the whole run)
    rank, size, _ = cr.distributed.init()
    out = {"ranks": size}
    for name, (sizes, global_batch) in MODELS.items():
        cr.manual_seed(0)
        ddp = DistributedDataParallel(_build(sizes))
        reduce_time = [0.0]
        inner = ddp._reduce

        def timed(grads, inner=inner, reduce_time=reduce_time):
            t = time.perf_counter()
            inner(grads)
            reduce_time[0] += time.perf_counter() - t

        ddp._reduce = timed
        opt = cr.optim.Adam(ddp.parameters(), lr=1e-3)
        loss_fn = cr.nn.CrossEntropyLoss()
        batch = global_batch // size
        rng = np.random.default_rng(rank)
        x = cr.tensor(rng.normal(size=(batch, sizes[0])).astype(np.float32))
        y = cr.tensor(rng.integers(0, sizes[-1], batch))
        step_times, reduce_times, wait_times = [], [], []
        for i in range(warmup + steps):
            cr.distributed.barrier()
            reduce_time[0] = 0.0
            t = time.perf_counter()
            loss = loss_fn(ddp(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            elapsed = time.perf_counter() - t
            if i >= warmup:
                # the step ends when the slowest rank ends it
                step_times.append(cr.distributed.all_reduce(elapsed, op="max"))
                # the last rank to arrive waits for no one: its time is the transfer alone;
                # the first one's adds the wait for the slowest backward
                reduce_times.append(cr.distributed.all_reduce(reduce_time[0], op="min"))
                wait_times.append(cr.distributed.all_reduce(reduce_time[0], op="max"))
        out[name] = {
            "step_ms": 1e3 * statistics.median(step_times),
            "allreduce_ms": 1e3 * statistics.median(reduce_times),
            "wait_allreduce_ms": 1e3 * statistics.median(wait_times),
            "batch_per_rank": batch,
        }
    if size == 1:  # in the same rounds as the jobs, so under the same load
        out["compute"] = compute_times(steps, warmup)
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def compute_times(steps: int, warmup: int) -> dict:
    """One process, no communication: median step time of W1 at batches 256, 32 and 4,
    and of the digits MLP at 32, 16, 4 (the per-node batches of 1, 8 and 64 nodes)."""
    import chainrule as cr

    limits = _limit_blas()  # noqa: F841
    out = {}
    for name, (sizes, global_batch) in MODELS.items():
        out[name] = {}
        for nodes in (1, 2, 8, 64):
            batch = max(1, global_batch // nodes)
            cr.manual_seed(0)
            model = _build(sizes)
            opt = cr.optim.Adam(model.parameters(), lr=1e-3)
            loss_fn = cr.nn.CrossEntropyLoss()
            rng = np.random.default_rng(0)
            x = cr.tensor(rng.normal(size=(batch, sizes[0])).astype(np.float32))
            y = cr.tensor(rng.integers(0, sizes[-1], batch))
            times = []
            for i in range(warmup + steps):
                t = time.perf_counter()
                loss = loss_fn(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if i >= warmup:
                    times.append(time.perf_counter() - t)
            out[name][nodes] = {"batch": batch, "ms": 1e3 * statistics.median(times)}
    return out


def _params(sizes) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


# Interconnects for the model (assumed, typical figures): latency per message, bandwidth.
NETWORKS = {"10 Gb/s Ethernet": (30e-6, 1.25e9), "100 Gb/s InfiniBand": (2e-6, 12.5e9)}


def ring_allreduce_s(nodes: int, nbytes: int, latency: float, bandwidth: float) -> float:
    """Ring allreduce: 2(N-1) messages, each node sends and receives 2(N-1)/N of the data."""
    if nodes == 1:
        return 0.0
    return 2 * (nodes - 1) * latency + 2 * (nodes - 1) / nodes * nbytes / bandwidth


def model_table(compute: dict) -> str:
    """Strong scaling (the global batch fixed, each node computing ``batch / N``) and weak
    scaling (each node keeping the whole batch, the global batch ``N`` times larger).
    Speed-up: samples per second against one node with the whole batch."""
    lines = [
        "| model | nodes | batch per node | compute (measured, ms) | network | allreduce "
        "(model, ms) | step (ms) | speed-up | efficiency |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scaling in ("strong", "weak"):
        for name, (sizes, _) in MODELS.items():
            nbytes = 4 * _params(sizes)
            t1 = compute[name]["1"]["ms"]
            for nodes in ("8", "64"):
                c = compute[name][nodes if scaling == "strong" else "1"]
                for net, (lat, bw) in NETWORKS.items():
                    comm_ms = 1e3 * ring_allreduce_s(int(nodes), nbytes, lat, bw)
                    step = c["ms"] + comm_ms
                    samples = 1 if scaling == "strong" else int(nodes)  # per step, vs 1 node
                    speedup = t1 / step * samples
                    lines.append(
                        f"| {name} ({scaling}) | {nodes} | {c['batch']} | {c['ms']:.2f} | "
                        f"{net} | {comm_ms:.2f} | {step:.2f} | {speedup:.1f}x | "
                        f"{speedup / int(nodes):.0%} |"
                    )
    return "\n".join(lines)


def _launch(n: int, steps: int, warmup: int) -> dict:
    from chainrule.distributed.launch import find_mpiexec

    mpiexec = find_mpiexec()
    if mpiexec is None:
        sys.exit("needs mpi4py and mpiexec: pip install -e '.[distributed]' in chainrule's clone")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [
        mpiexec,
        "-n",
        str(n),
        sys.executable,
        "-m",
        "mpi4py",
        __file__,
        "--worker",
        "--steps",
        str(steps),
        "--warmup",
        str(warmup),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.exit(f"the {n}-rank job failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="2 rounds of 5 steps")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.steps, args.warmup = 2, 5, 2
    if args.worker:
        worker(args.steps, args.warmup)
        return
    load_before = os.getloadavg()
    runs = {1: [], 2: []}
    for _ in range(args.rounds):
        for n in (1, 2):  # alternate, so the machine's drift falls on both
            runs[n].append(_launch(n, args.steps, args.warmup))
    compute = {
        name: {
            nodes: {
                "batch": runs[1][0]["compute"][name][nodes]["batch"],
                "ms": statistics.median(r["compute"][name][nodes]["ms"] for r in runs[1]),
            }
            for nodes in runs[1][0]["compute"][name]
        }
        for name in MODELS
    }
    load_after = os.getloadavg()

    print(
        f"# Data-parallel training, {args.rounds} rounds x {args.steps} steps "
        f"(median over rounds of each round's median step)\n"
    )
    print(
        "| model | ranks | batch per rank | step (ms) | allreduce (ms) | allreduce share "
        "| wait + allreduce (ms) | speed-up | scaling efficiency |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        t1 = statistics.median(r[name]["step_ms"] for r in runs[1])
        for n in (1, 2):
            step = statistics.median(r[name]["step_ms"] for r in runs[n])
            red = statistics.median(r[name]["allreduce_ms"] for r in runs[n])
            wait = statistics.median(r[name]["wait_allreduce_ms"] for r in runs[n])
            batch = runs[n][0][name]["batch_per_rank"]
            print(
                f"| {name} | {n} | {batch} | {step:.3f} | {red:.3f} | {red / step:.0%} | "
                f"{wait:.3f} | {t1 / step:.2f}x | {t1 / step / n:.0%} |"
            )
    print("\nPer-round step times (ms):")
    for name in MODELS:
        for n in (1, 2):
            print(
                f"  {name}, {n} rank(s): " + ", ".join(f"{r[name]['step_ms']:.3f}" for r in runs[n])
            )
    print(
        f"\nLoad average (1, 5, 15 min): before {load_before}, after {load_after}; "
        f"{os.cpu_count()} CPUs.\n"
    )
    print("# One process, no communication: compute time per step by batch (median over rounds)\n")
    for name in MODELS:
        print(
            f"  {name}: "
            + ", ".join(f"batch {c['batch']}: {c['ms']:.3f} ms" for c in compute[name].values())
        )
    print(
        "\n# Ring-allreduce model for 8 and 64 nodes (strong: the global batch fixed; "
        "weak: the whole batch on every node)\n"
    )
    print(model_table(compute))


if __name__ == "__main__":
    main()
