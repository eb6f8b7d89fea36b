"""Function transforms: Hessian-vector products against one gradient, and Jacobian modes.

1. ``f(x) = sum(tanh(A x)²)`` for ``x`` of size 10, 100, 1000: the time of ``grad``, of
   ``hvp`` (forward-over-reverse) relative to one ``grad`` in the same run (the target is
   under 4x: a Hessian-vector product costs a small constant times a gradient), and of the
   full ``hessian`` (n Hessian-vector products). HIPS autograd's ``grad`` and
   ``hessian_vector_product`` run beside it as a reference, when installed.
2. ``jacobian`` in forward and reverse mode on a tall function (10 inputs, 1000 outputs)
   and a wide one (1000 inputs, 10 outputs), and what ``mode="auto"`` picks.

Times are the best of several repeats (each averaged over enough calls to last ~50 ms),
in milliseconds; ``grad`` and ``hvp`` are timed in alternation so that their ratio is taken
under the same machine load. Run: ``python benchmarks/transforms.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# One BLAS thread: ratios measured in the same run are then not at the mercy of thread
# start-up and oversubscription (a busy machine made multi-threaded matvecs 10x slower).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.autodiff import jacobian as jacobian_module  # noqa: E402


def best_ms(fn, repeats: int = 5, budget: float = 0.05) -> float:
    """Best-of-``repeats`` time of one call, in ms (each repeat averages several calls)."""
    fn()  # warm up
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(budget / max(once, 1e-7)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e3


def paired_best_ms(fns, repeats: int = 7, budget: float = 0.05) -> list[float]:
    """Best-of-``repeats`` times of several functions, measured in alternation.

    Interleaving puts each function under the same machine load, so their ratio holds
    even when the absolute times drift (a shared, busy machine).
    """
    numbers = []
    for fn in fns:
        fn()  # warm up
        start = time.perf_counter()
        fn()
        numbers.append(max(1, int(budget / max(time.perf_counter() - start, 1e-7))))
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, (fn, number) in enumerate(zip(fns, numbers)):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - start) / number)
    return [b * 1e3 for b in best]


def hvp_table(sizes, repeats: int) -> list[str]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:  # the reference columns are optional
        autograd = None
    rng = np.random.default_rng(0)
    rows = [
        "| n | grad (ms) | hvp (ms) | **hvp / grad** | hessian (ms) | hessian / grad "
        "| autograd grad (ms) | autograd hvp (ms) | autograd hvp / grad |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        x = rng.standard_normal(n)
        v = rng.standard_normal(n)

        def f(x, A=A):
            return cr.sum(cr.tanh(A @ x) ** 2)

        g = cr.grad(f)
        h = cr.hessian(f)
        # correctness first: hvp == H v == jvp of grad
        H = h(x)
        np.testing.assert_allclose(cr.hvp(f, x, v)[1], H @ v, rtol=1e-9, atol=1e-12)
        t_grad, t_hvp = paired_best_ms(
            [lambda g=g, x=x: g(x), lambda f=f, x=x, v=v: cr.hvp(f, x, v)], repeats)
        t_hess = best_ms(lambda h=h, x=x: h(x), max(1, repeats // 2), budget=0.0)
        ag = ["–", "–", "–"]
        if autograd is not None:
            def f_ag(x, A=A):
                return anp.sum(anp.tanh(anp.dot(A, x)) ** 2)

            ag_grad = autograd.grad(f_ag)
            ag_hvp = autograd.hessian_vector_product(f_ag)
            np.testing.assert_allclose(ag_hvp(x, v), H @ v, rtol=1e-9, atol=1e-12)
            a_g, a_h = paired_best_ms(
                [lambda g=ag_grad, x=x: g(x), lambda h=ag_hvp, x=x, v=v: h(x, v)], repeats)
            ag = [f"{a_g:.3f}", f"{a_h:.3f}", f"{a_h / a_g:.2f}x"]
        rows.append(
            f"| {n} | {t_grad:.3f} | {t_hvp:.3f} | **{t_hvp / t_grad:.2f}x** | {t_hess:.1f} "
            f"| {t_hess / t_grad:.0f}x | " + " | ".join(ag) + " |"
        )
    return rows


def jacobian_table(repeats: int) -> list[str]:
    rng = np.random.default_rng(1)
    tall_B = rng.standard_normal((1000, 10)) / np.sqrt(10)
    wide_B = rng.standard_normal((10, 1000)) / np.sqrt(1000)
    cases = [
        ("tall: R^10 -> R^1000", lambda x: cr.tanh(tall_B @ x) * 2.0, rng.standard_normal(10)),
        ("wide: R^1000 -> R^10", lambda x: cr.tanh(wide_B @ x) * 2.0,
         rng.standard_normal(1000)),
    ]
    rows = [
        "| function | fwd (ms) | rev (ms) | auto (ms) | auto picks | faster mode |",
        "|---|---:|---:|---:|---|---|",
    ]
    for label, f, x in cases:
        times = {}
        for mode in ("fwd", "rev", "auto"):
            jac = cr.jacobian(f, mode=mode)
            times[mode] = best_ms(lambda jac=jac, x=x: jac(x), max(1, repeats // 2),
                                  budget=0.0)
        np.testing.assert_allclose(cr.jacobian(f, mode="fwd")(x), cr.jacobian(f, mode="rev")(x),
                                   rtol=1e-12, atol=1e-14)
        picked = []
        real_fwd = jacobian_module._forward_jacobian
        jacobian_module._forward_jacobian = (
            lambda *a, p=picked, r=real_fwd: p.append("fwd") or r(*a))
        try:
            cr.jacobian(f)(x)
        finally:
            jacobian_module._forward_jacobian = real_fwd
        pick = picked[0] if picked else "rev"
        faster = "fwd" if times["fwd"] < times["rev"] else "rev"
        rows.append(
            f"| {label} | {times['fwd']:.1f} | {times['rev']:.1f} | {times['auto']:.1f} "
            f"| {pick} | {faster}{' ✓' if pick == faster else ' ✗'} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    opts = parser.parse_args()
    repeats = 3 if opts.quick else 7
    print(f"NumPy {np.__version__} · Python {platform.python_version()} · "
          f"{platform.machine()} · BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}\n")
    print("### Hessian-vector products of f(x) = sum(tanh(A x)^2)\n")
    print("\n".join(hvp_table((10, 100, 1000), repeats)))
    print("\n### jacobian: forward vs reverse mode\n")
    print("\n".join(jacobian_table(repeats)))


if __name__ == "__main__":
    main()
