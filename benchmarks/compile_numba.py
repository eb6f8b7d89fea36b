"""W2 under cr.compile's backends: generated NumPy against numba's fused loop.

    python benchmarks/compile_numba.py [--rounds 5]

W2 (200 chained elementwise operations on float64[16], forward and backward) compiled with
``backend="source"`` (generated NumPy) and ``backend="numba"`` (one loop over the elements,
compiled by numba), and hand-written NumPy, in one process, interleaved round by round;
each round times each for about half a second and keeps the best of 5 repeats. Prints the
time per operation, the first call (trace + code generation; for numba also its compiler)
and the machine's load. Needs numba (``pip install numba``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads_compiled as compiled  # noqa: E402
import workloads_numpy as numpy_hand  # noqa: E402

N_OPS, SIZE = 200, 16


def per_op_us(step, seconds: float = 0.5) -> float:
    n = max(1, int(seconds / max(timeit.timeit(step, number=1), 1e-7)))
    return min(timeit.repeat(step, number=n, repeat=5)) / n / N_OPS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load_before = open("/proc/loadavg").read().split()[:3]
    cases = {"generated NumPy": compiled.W2(N_OPS, SIZE, backend="source"),
             "numba": compiled.W2(N_OPS, SIZE, backend="numba"),
             "hand-written NumPy": numpy_hand.W2(N_OPS, SIZE)}
    first = {}
    for name in ("generated NumPy", "numba"):
        t0 = time.perf_counter()
        cases[name].step()
        first[name] = time.perf_counter() - t0
    y0, g0 = cases["hand-written NumPy"].run()
    for name in ("generated NumPy", "numba"):
        y, g = cases[name].step()
        np.testing.assert_allclose(y, y0, rtol=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-12)
    times: dict = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            times[name].append(per_op_us(case.step))
    load_after = open("/proc/loadavg").read().split()[:3]
    hand = min(times["hand-written NumPy"])
    print(f"W2, {N_OPS} ops on float64[{SIZE}], fwd+bwd; best of {args.rounds} rounds "
          f"(1/5/15-min load before {' '.join(load_before)}, after {' '.join(load_after)})")
    print("| backend | µs/op (best round) | rounds | / hand-written NumPy | first call (s) |")
    print("|---|---:|---|---:|---:|")
    for name, ts in times.items():
        f = f"{first[name]:.3g}" if name in first else "–"
        print(f"| {name} | {min(ts):.3g} | {', '.join(f'{t:.3g}' for t in ts)} | "
              f"{min(ts) / hand:.2f}× | {f} |")


if __name__ == "__main__":
    main()
