"""Per-operation overhead: a chain of 200 elementwise ops on float64[16], forward+backward.

Reported as microseconds per op, next to hand-written NumPy doing the same forward and
backward in the same run (the floor). The two workloads are the suite's W2 (see
``workloads_numpy.W2`` and ``workloads_chainrule.W2``); this script times just them, in one
process, for a quick look. Run: ``python benchmarks/overhead.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import workloads_chainrule
import workloads_numpy

N_OPS = 200
SIZE = 16


def median_seconds(step, repeats: int, inner: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - start) / inner)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=50)
    args = parser.parse_args(argv)
    systems = (("hand-written NumPy", workloads_numpy.W2(N_OPS, SIZE)),
               ("chainrule", workloads_chainrule.W2(N_OPS, SIZE)))
    numpy_grad = systems[0][1].run()[1]
    chainrule_grad = systems[1][1].run()[1].grad.data
    np.testing.assert_allclose(chainrule_grad, numpy_grad, rtol=1e-10)
    rows = []
    for name, workload in systems:
        workload.step()
        rows.append((name, median_seconds(workload.step, args.repeats, args.inner) / N_OPS * 1e6))
    floor = rows[0][1]
    print(f"| system | µs/op (median of {args.repeats}) | ratio to NumPy |")
    print("|---|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} | {us / floor:.2f}x |")


if __name__ == "__main__":
    main()
