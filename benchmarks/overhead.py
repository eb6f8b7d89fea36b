"""Per-operation overhead: a chain of 200 elementwise ops on float64[16], forward+backward.

Reported as microseconds per op, next to hand-written NumPy doing the same forward and
backward in the same run (the floor). Run: ``python benchmarks/overhead.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr

N_OPS = 200
SIZE = 16


def chainrule_chain(x0: np.ndarray) -> float:
    x = cr.tensor(x0, requires_grad=True)
    y = x
    for _ in range(N_OPS // 4):
        y = cr.sin(y)
        y = y * 1.01
        y = cr.tanh(y)
        y = y + 0.1
    y.backward(np.ones(SIZE))
    return float(x.grad.data[0])


def numpy_chain(x0: np.ndarray) -> float:
    """The same function and its gradient, written out by hand."""
    saved = []
    y = x0
    for _ in range(N_OPS // 4):
        saved.append(y)
        y = np.sin(y)
        y = y * 1.01
        t = np.tanh(y)
        saved.append(t)
        y = t + 0.1
    g = np.ones(SIZE)
    for k in range(N_OPS // 4 - 1, -1, -1):
        t = saved[2 * k + 1]
        g = g * (1 - t * t)
        g = g * 1.01
        g = g * np.cos(saved[2 * k])
    return float(g[0])


def best_of(fn, x0, repeats: int, inner: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn(x0)
        times.append((time.perf_counter() - start) / inner)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=50)
    args = parser.parse_args(argv)
    x0 = np.random.default_rng(0).standard_normal(SIZE)
    assert np.isclose(chainrule_chain(x0), numpy_chain(x0))
    rows = []
    for name, fn in (("hand-written NumPy", numpy_chain), ("chainrule", chainrule_chain)):
        fn(x0)
        seconds = best_of(fn, x0, args.repeats, args.inner)
        rows.append((name, seconds / N_OPS * 1e6))
    floor = rows[0][1]
    print(f"| system | µs/op (median of {args.repeats}) | ratio to NumPy |")
    print("|---|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} | {us / floor:.2f}x |")


if __name__ == "__main__":
    main()
