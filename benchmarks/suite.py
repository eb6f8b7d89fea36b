"""chainrule against hand-written NumPy, PyTorch eager, JAX jit, HIPS autograd and micrograd.

One command runs every workload for every installed system, each (workload, system) in its
own fresh process (PyTorch's OpenMP threads and OpenBLAS's threads must not share the two
cores), alternating the order of the systems over the rounds, and writes a markdown table
of medians and ratios::

    python benchmarks/suite.py                 # 5 rounds, writes benchmarks/RESULTS.md
    python benchmarks/suite.py --rounds 7 --systems chainrule,numpy,torch
    python benchmarks/suite.py --quick --output /tmp/RESULTS.md   # tiny sizes, seconds

Before it is timed, every case computes its first loss and gradients (or output and
gradient) and compares them with a float64 NumPy reference; a case that disagrees is
reported as wrong and never timed. See benchmarks/README.md for the workloads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARK = "@@BENCH-RESULT@@ "

SYSTEMS = {  # name -> (label, module whose presence makes the system available)
    "chainrule": ("chainrule", "chainrule"),
    "compiled": ("chainrule compiled", "chainrule"),  # cr.compile: traced once, replayed
    "numpy": ("hand-written NumPy", "numpy"),
    "torch": ("PyTorch eager", "torch"),
    "jax": ("JAX jit", "jax"),
    "autograd": ("autograd", "autograd"),
    "micrograd": ("micrograd", "micrograd"),
}
PEERS = [s for s in SYSTEMS if s not in ("chainrule", "compiled")]


@dataclass
class Row:
    key: str
    label: str
    case: str                       # the workload function family: w1 .. w5
    full: dict                      # its parameters at full size
    quick: dict                     # ... and with --quick
    systems: dict                   # system -> extra parameters (e.g. the variant)
    unit: str                       # "ms", "us", "us/op", "s"
    timing: tuple = (1.0, 5, 3)     # (seconds of timed calls, min calls, warm-up calls)
    per: str | None = None          # divide the time by this parameter (µs per op)
    once: bool = False              # measured in the first round only
    target: tuple = ()             # (kind, peer, bound): ratio, abs, runs, memory
    notes: list = field(default_factory=list)

    def title(self, params: dict) -> str:
        """The label with this run's sizes filled in (so --quick tables say what they ran)."""
        shown = {}
        for k, v in params.items():
            if isinstance(v, list):
                v = "-".join(map(str, v))
            elif isinstance(v, int) and not isinstance(v, bool):
                v = f"{v:,}"
            shown[k] = v
        shown.setdefault("epochs", "defaults, 1 epoch" if params.get("quick") else "defaults")
        return self.label.format(**shown)


W1_DIMS, W1_DIMS_QUICK = [784, 512, 512, 10], [64, 32, 32, 10]
NN = {"variant": "nn"}
RAW = {"variant": "raw"}


def rows() -> list[Row]:
    out = []
    for batch, qbatch in ((256, 16), (32, 4)):
        out.append(Row(
            f"w1_b{batch}", "W1 MLP {dims} f32, SGD step, batch {batch}", "w1",
            {"batch": batch, "dims": W1_DIMS}, {"batch": qbatch, "dims": W1_DIMS_QUICK},
            {"chainrule": NN, "compiled": NN, "numpy": {}, "torch": NN, "jax": {},
             "autograd": {}}, "ms",
            timing=(1.5, 5, 3), target=("ratio", "torch", 1.0)))
        out.append(Row(
            f"w1_b{batch}_raw", "W1 same, batch {batch}, raw tensors (no nn/optim)", "w1",
            {"batch": batch, "dims": W1_DIMS}, {"batch": qbatch, "dims": W1_DIMS_QUICK},
            {"chainrule": RAW, "torch": RAW}, "ms", timing=(1.5, 5, 3)))
    out.append(Row(
        "w2", "W2 {n_ops} chained elementwise ops, float64[{size}], fwd+bwd", "w2",
        {"n_ops": 200, "size": 16}, {"n_ops": 20, "size": 16},
        {"chainrule": {}, "compiled": {}, "numpy": {}, "torch": {}, "autograd": {}}, "µs/op",
        timing=(1.0, 10, 5), per="n_ops", target=("abs", None, 2.5)))
    out.append(Row(
        "w3", "W3 scalar MLP {sizes} tanh, one sample, fwd+bwd, one object per scalar", "w3",
        {"sizes": [3, 16, 16, 1]}, {"sizes": [3, 4, 4, 1]},
        {"chainrule": {}, "compiled": {}, "torch": {}, "autograd": {}, "micrograd": {}}, "ms",
        timing=(1.0, 5, 3), target=("ratio", "micrograd", 0.5)))
    out.append(Row(
        "w3v", "W3 same MLP, vectorised (matrix-vector), one sample, fwd+bwd", "w3",
        {"sizes": [3, 16, 16, 1], "variant": "vector"},
        {"sizes": [3, 4, 4, 1], "variant": "vector"},
        {"chainrule": {}, "compiled": {}, "numpy": {}, "torch": {}, "jax": {},
         "autograd": {}}, "µs",
        timing=(0.5, 20, 10)))
    out.append(Row(
        "w4", "W4 chain y = y·1.0001 + 0.0001, N = {n}, fwd+bwd", "w4",
        {"n": 100_000}, {"n": 1_000},
        {"chainrule": {}, "compiled": {}, "torch": {}, "autograd": {}, "micrograd": {}}, "ms",
        timing=(0.0, 1, 0), target=("ratio", "torch", 0.5)))
    out.append(Row(
        "w4_1e6", "W4 same chain, N = {n} (chainrule only: does it run?)", "w4",
        {"n": 1_000_000}, {"n": 10_000}, {"chainrule": {}}, "s",
        timing=(0.0, 1, 0), once=True, target=("runs", None, None)))
    out.append(Row(
        "w5", "W5 `chainrule train --dataset digits` {epochs}, wall time", "w5",
        {}, {"quick": True}, {"chainrule": {}, "torch": {}}, "s",
        timing=(0.0, 1, 0), target=("memory", "torch", 1.0)))
    return out


TOLERANCE = {"w1": 2e-4, "w2": 1e-9, "w3": 1e-9, "w4": 1e-7}  # float32 vs float64 for W1


# ----- the worker: one case, in its own process -----------------------------------------------


def worker(spec: dict) -> dict:
    sys.path.insert(0, str(HERE))
    import workloads_common as common

    system, case_name, params = spec["system"], spec["case"], spec["params"]
    t_import = time.perf_counter()
    module = __import__(f"workloads_{system}")
    info = {"import_s": time.perf_counter() - t_import, "blas": common.blas_info(),
            "env": common.env_note(), "versions": _versions(system)}
    if system == "torch":
        import torch
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = "MKL" if torch.backends.mkl.is_available() else "other"
    if system == "jax":
        import jax
        info["jax_devices"] = [str(d) for d in jax.devices()]
    result = {"info": info}
    try:
        case = module.make(case_name, params)
    except NotImplementedError as e:
        return {**result, "error": f"not implemented: {e}"}
    if case_name == "w5":  # one training run is the measurement; its accuracy is the check
        stats = case.run()
        return {**result, "times": [stats["wall_s"]], "check": stats, "stats": stats,
                "peak_rss_mib": common.peak_rss_mib()}
    try:
        check = case.check()
    except RecursionError:
        note = case.failure_note() if hasattr(case, "failure_note") else "RecursionError"
        return {**result, "failed": note}
    result["check"] = check
    if spec.get("reference") is not None:
        wrong = common.compare(check, spec["reference"], spec["rtol"])
        if wrong:
            return {**result, "wrong": wrong}  # never time a wrong computation
    budget, min_reps, warmup = spec["timing"]
    foreign = common.ForeignCPU()
    times = common.measure(case.step, budget, min_reps, warmup)
    result["times"] = times
    result["foreign_cpu"] = foreign.share()
    result["peak_rss_mib"] = common.peak_rss_mib()
    if hasattr(case, "extra"):
        result["extra"] = case.extra()
    return result


def _versions(system: str) -> dict:
    import numpy
    out = {"numpy": numpy.__version__, "python": platform.python_version()}
    names = {"torch": ["torch"], "jax": ["jax", "jaxlib"], "autograd": ["autograd"],
             "micrograd": ["micrograd"], "chainrule": ["chainrule"]}.get(system, [])
    from importlib import metadata
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "?"
    return out


# ----- the parent: schedule, verify, tabulate --------------------------------------------------


def child_env(keep_openblas: bool, threads: int | None = None) -> dict:
    env = dict(os.environ)
    if threads:
        # The same thread count for every library: OpenBLAS (NumPy), MKL and OpenMP
        # (PyTorch), XLA's CPU client (JAX, single-threaded only).
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        if threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                                " intra_op_parallelism_threads=1").strip()
    if not keep_openblas:
        # Set on some machines for old OpenBLAS builds; they force a slower kernel on a
        # current NumPy. The kernel each worker ran is recorded from threadpoolctl.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_worker(spec: dict, env: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {proc.returncode}: {tail[0][:300]}"}


def available(system: str) -> bool:
    module = SYSTEMS[system][1]
    if module == "chainrule":
        # The workers run the checkout this script sits in (PYTHONPATH=ROOT, child_env),
        # whether or not chainrule is installed, or installed from elsewhere.
        return (ROOT / "chainrule" / "__init__.py").is_file()
    return importlib.util.find_spec(module) is not None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, short timings")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated subset of: " + ", ".join(SYSTEMS))
    parser.add_argument("--workloads", default=None,
                        help="comma-separated row keys (default all): " +
                             ", ".join(r.key for r in rows()))
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="do not unset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the workers")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every library (default: each library's own default)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per worker")
    parser.add_argument("--note", default="", help="a paragraph for RESULTS.md (conditions)")
    parser.add_argument("--from-json", metavar="PATH",
                        help="write the tables again from a run saved with --json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(MARK + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0

    sys.path.insert(0, str(HERE))
    import workloads_common as common
    from workloads_report import render

    if args.from_json:
        return rerender(args, render)

    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")
    systems = [s for s in wanted if available(s)]
    missing = [s for s in wanted if s not in systems]
    table_rows = rows()
    if args.workloads:
        keys = {k.strip() for k in args.workloads.split(",")}
        table_rows = [r for r in table_rows if r.key in keys]
    timeout = args.timeout or (120.0 if args.quick else 900.0)
    env = child_env(args.keep_openblas_env, args.threads)

    references = {}
    for row in table_rows:
        params = row.quick if args.quick else row.full
        references[row.key] = common.reference(row.case, params)

    from workloads_report import git_rev
    commit = git_rev()  # before the rounds: the code that ran, if nobody commits meanwhile
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    results = {row.key: {s: [] for s in systems if s in row.systems} for row in table_rows}
    dead = set()  # (row, system) that failed, were wrong or errored: not run again
    t0 = time.perf_counter()
    for rnd in range(args.rounds):
        order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
        if rnd % 2:
            order.reverse()
        for row in table_rows:
            if row.once and rnd > 0:
                continue
            params = row.quick if args.quick else row.full
            timing = row.timing if not args.quick else (0.05, min(row.timing[1], 2),
                                                        min(row.timing[2], 2))
            for system in order:
                if system not in row.systems or (row.key, system) in dead:
                    continue
                spec = {"system": system, "case": row.case,
                        "params": {**params, **row.systems[system]}, "timing": list(timing),
                        "reference": references[row.key], "rtol": TOLERANCE.get(row.case)}
                load = os.getloadavg()[0]
                res = run_worker(spec, env, timeout)
                res["round"] = rnd
                res["load1"] = load
                results[row.key][system].append(res)
                status = ("wrong: " + res["wrong"] if "wrong" in res else
                          "failed: " + res["failed"] if "failed" in res else
                          "error: " + res["error"] if "error" in res else
                          f"median {np.median(res['times']) * 1e3:.3f} ms "
                          f"({len(res['times'])} calls)")
                print(f"[round {rnd + 1}/{args.rounds}, {time.perf_counter() - t0:6.1f} s] "
                      f"{row.key:12s} {system:10s} {status}", flush=True)
                if any(k in res for k in ("wrong", "failed", "error")):
                    dead.add((row.key, system))
    finished = dt.datetime.now(dt.UTC)
    meta = {
        "commit": commit,
        "started": started, "finished": finished, "load_before": load_before,
        "load_after": os.getloadavg(), "rounds": args.rounds, "quick": args.quick,
        "command": "python benchmarks/suite.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "missing": missing, "keep_openblas_env": args.keep_openblas_env,
        "threads": args.threads, "note": args.note,
        "parent_env": common.env_note(),
    }
    text = render(table_rows, systems, results, meta, SYSTEMS)
    Path(args.output).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1,
                                              default=str))
    print(f"wrote {args.output}")
    bad = [(k, s) for k, per in results.items() for s, rs in per.items()
           if any("wrong" in r for r in rs)]
    return 1 if bad else 0


def rerender(args, render) -> int:
    """RESULTS.md again from a saved run (after a change to the report, or with a --note)."""
    import ast
    saved = json.loads(Path(args.from_json).read_text())
    meta = saved["meta"]
    for key in ("started", "finished"):
        meta[key] = dt.datetime.fromisoformat(meta[key])
    for key, value in list(meta.items()):
        if isinstance(value, str) and key not in ("command", "note"):
            try:
                meta[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass
    if args.note:
        meta["note"] = args.note
    results = saved["results"]
    table_rows = [r for r in rows() if r.key in results]
    systems = [s for s in SYSTEMS if any(s in per for per in results.values())]
    Path(args.output).write_text(render(table_rows, systems, results, meta, SYSTEMS))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
