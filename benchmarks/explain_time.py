"""How long ``cr.explain`` and ``differentiate`` take on random short expressions.

Seeded random expressions of under 80 characters in x and y (every function of the
expression language, + - * / ^), each at a point inside its domain: ``cr.explain`` once,
and ``differentiate`` by its first input to orders 1 to 4.  Each call is timed alone
(wall clock, in this process, after one warm-up call); the table gives p50, p99 and max
per kind of call, the same for the calling thread's CPU time (what the symbolic budget
counts; on a machine shared with other programs the wall times grow, these do not), and
how many calls ran out of the symbolic budget (their formulas are shown unsimplified, or
not at all, with a note).

    python benchmarks/explain_time.py                 # 200 expressions -> stdout
    python benchmarks/explain_time.py --n 300 --seed 1 --budget 1.0
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.explain import budget as budget_module  # noqa: E402
from chainrule.explain.diff import differentiate  # noqa: E402
from chainrule.testing.expressions import random_case  # noqa: E402


def _quantiles(times: list[float]) -> tuple[float, float, float]:
    a = np.array(times)
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="number of expressions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-order", type=int, default=4)
    ap.add_argument("--budget", type=float, default=None, help="symbolic budget, seconds")
    ap.add_argument("--slowest", type=int, default=5, help="list the slowest calls")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(args.n)]
    differentiate("x**2*sin(x)", "x", 2, {"x": 1.0})  # warm-up: imports, SymPy caches
    kinds: dict[str, list[float]] = {"explain": []}
    kinds.update({f"diff order {k}": [] for k in range(1, args.max_order + 1)})
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    cut = dict.fromkeys(kinds, 0)
    failed, slow = [], []
    for text, point in cases:
        wrt = sorted(point)[0]
        t0, c0 = time.perf_counter(), time.thread_time()
        e = cr.explain(text, symbolic_budget=args.budget, **point)
        dt = time.perf_counter() - t0
        kinds["explain"].append(dt)
        cpu["explain"].append(time.thread_time() - c0)
        slow.append((dt, "explain", text))
        cut["explain"] += any("symbolic budget" in n for n in e.notes)
        if not e.agrees:
            failed.append(("explain", text, point))
        for k in range(1, args.max_order + 1):
            t0, c0 = time.perf_counter(), time.thread_time()
            r = differentiate(text, wrt, k, point, symbolic_budget=args.budget)
            dt = time.perf_counter() - t0
            kinds[f"diff order {k}"].append(dt)
            cpu[f"diff order {k}"].append(time.thread_time() - c0)
            slow.append((dt, f"diff --order {k} --wrt {wrt}", text))
            cut[f"diff order {k}"] += any("symbolic budget" in n for n in r.notes)
            if not r.agrees:
                failed.append((f"diff order {k}", text, point))
    seconds = budget_module.DEFAULT_SECONDS if args.budget is None else args.budget
    print(
        f"{args.n} expressions (seed {args.seed}), symbolic budget {seconds:g} s; "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f} at the end"
    )
    print()
    print(
        "| call | calls | p50 (s) | p99 (s) | max (s) | CPU p50 (s) | CPU p99 (s) "
        "| CPU max (s) | over budget |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    every, every_cpu = [], []
    for kind, times in kinds.items():
        every += times
        every_cpu += cpu[kind]
        wall = "{:.3f} | {:.3f} | {:.3f}".format(*_quantiles(times))
        own = "{:.3f} | {:.3f} | {:.3f}".format(*_quantiles(cpu[kind]))
        print(f"| {kind} | {len(times)} | {wall} | {own} | {cut[kind]} |")
    wall = "{:.3f} | {:.3f} | {:.3f}".format(*_quantiles(every))
    own = "{:.3f} | {:.3f} | {:.3f}".format(*_quantiles(every_cpu))
    print(f"| all | {len(every)} | {wall} | {own} | {sum(cut.values())} |")
    print()
    for dt, kind, text in sorted(slow, reverse=True)[: args.slowest]:
        print(f"slow: {dt:.2f} s  {kind}  {text}")
    for kind, text, point in failed:
        print(f"CHECK FAILED: {kind} {text} at {point}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
