"""What every system's workloads share: the problem data, the reference answers, timing.

Only NumPy is imported here, so the suite's parent process and the hand-written NumPy
worker never load a peer library. Every system builds its problem from the same seeded
NumPy arrays (`w1_problem`, `w3_problem`, ...), so their first losses and gradients must
agree; `fingerprint` turns gradients into a few numbers the parent can compare.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import time
from collections.abc import Callable

import numpy as np

# ----- problem data --------------------------------------------------------------------------

W1_LR = 0.01


def w1_problem(batch: int, dims: tuple[int, ...], seed: int = 0):
    """Inputs, integer labels and PyTorch-style initial Linear weights ``(out, in)``, float32.

    Weights and biases are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as nn.Linear's
    default, from a seeded generator, so every system starts from the same numbers.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        k = 1.0 / math.sqrt(fan_in)
        w = rng.uniform(-k, k, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-k, k, (fan_out,)).astype(np.float32)
        params += [w, b]
    x = rng.standard_normal((batch, dims[0])).astype(np.float32)
    y = rng.integers(0, dims[-1], batch).astype(np.int64)
    return x, y, params


def w2_problem(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(size)


def w3_problem(sizes: tuple[int, ...], seed: int = 0):
    """A scalar MLP's weights as float64 matrices ``(out, in)`` and biases, one input, target.

    The micrograd-style variants read the same numbers entry by entry, so the scalar and the
    vectorised variants compute the same loss and gradients.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.uniform(-1.0, 1.0, (fan_out, fan_in)))
        params.append(rng.uniform(-0.1, 0.1, (fan_out,)))
    x = rng.uniform(-1.0, 1.0, sizes[0])
    return x, 1.0, params


def mlp_scalar(ws, bs, x, tanh):
    """micrograd's Neuron/Layer/MLP loop: per neuron ``b + sum(w_i * x_i)``, tanh on hidden
    layers, a linear output neuron. ``ws[k][j][i]``, ``bs[k][j]`` are scalars."""
    h = x
    n_layers = len(ws)
    for k in range(n_layers):
        out = []
        for w_row, b in zip(ws[k], bs[k]):
            act = b
            for wi, xi in zip(w_row, h):
                act = act + wi * xi
            out.append(tanh(act) if k < n_layers - 1 else act)
        h = out
    return h[0]


W4_A = 1.0001
W4_C = 0.0001
W4_X0 = 0.5


# ----- fingerprints --------------------------------------------------------------------------


def fingerprint(arrays, seed: int = 1) -> list[float]:
    """Two numbers per array: its L2 norm and its dot with a fixed random direction.

    Enough to catch a wrong gradient (a wrong sign, a transposed or missing term) without
    shipping whole arrays between processes.
    """
    rng = np.random.default_rng(seed)
    out = []
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        r = rng.standard_normal(a.shape)
        out += [float(np.linalg.norm(a)), float(np.sum(a * r))]
    return out


def w1_check(loss, grads) -> dict:
    """What a W1 case reports: its loss, its gradients' fingerprint, and their precision in
    bits (float32 in, float32 gradients out: a silent upcast to float64 is wrong too)."""
    grads = [np.asarray(g) for g in grads]
    return {"loss": float(loss), "grads": fingerprint(grads),
            "grad_bits": max(8 * g.dtype.itemsize for g in grads)}


def w1_reference(batch: int, dims: tuple[int, ...]) -> dict:
    """First loss and gradients of W1 in float64, by hand."""
    x, y, params = w1_problem(batch, dims)
    x = x.astype(np.float64)
    params = [p.astype(np.float64) for p in params]
    loss, grads = _w1_numpy_loss_grads(x, y, params)
    return {"loss": float(loss), "grads": fingerprint(grads), "grad_bits": 32}


def _w1_numpy_loss_grads(x, y, params):
    n_layers = len(params) // 2
    acts = [x]
    h = x
    for k in range(n_layers):
        h = h @ params[2 * k].T + params[2 * k + 1]
        if k < n_layers - 1:
            h = np.maximum(h, 0)
            acts.append(h)
    z = h - h.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    b = x.shape[0]
    loss = -logp[np.arange(b), y].mean()
    g = np.exp(logp)
    g[np.arange(b), y] -= 1
    g /= b
    grads = [None] * len(params)
    for k in range(n_layers - 1, -1, -1):
        grads[2 * k] = g.T @ acts[k]
        grads[2 * k + 1] = g.sum(axis=0)
        if k > 0:
            g = (g @ params[2 * k]) * (acts[k] > 0)
    return loss, grads


def w2_reference(n_ops: int, size: int) -> dict:
    x0 = w2_problem(size)
    saved = []
    y = x0
    for _ in range(n_ops // 4):
        saved.append(y)
        y = np.tanh(np.sin(y) * 1.01)
        saved.append(y)
        y = y + 0.1
    g = np.ones(size)
    for k in range(n_ops // 4 - 1, -1, -1):
        t = saved[2 * k + 1]
        g = g * (1 - t * t) * 1.01 * np.cos(saved[2 * k])
    return {"out": fingerprint([y]), "grads": fingerprint([g])}


def w3_reference(sizes: tuple[int, ...]) -> dict:
    x, target, params = w3_problem(sizes)
    n_layers = len(params) // 2
    acts = [x]
    h = x
    for k in range(n_layers):
        h = params[2 * k] @ h + params[2 * k + 1]
        if k < n_layers - 1:
            h = np.tanh(h)
            acts.append(h)
    out = h[0]
    loss = (out - target) ** 2
    g = np.array([2 * (out - target)])
    grads = [None] * len(params)
    for k in range(n_layers - 1, -1, -1):
        grads[2 * k] = np.outer(g, acts[k])
        grads[2 * k + 1] = g.copy()
        if k > 0:
            g = (params[2 * k].T @ g) * (1 - acts[k] ** 2)
    return {"loss": float(loss), "grads": fingerprint(grads)}


def w4_reference(n: int) -> dict:
    y = W4_X0
    for _ in range(n):
        y = y * W4_A + W4_C
    return {"out": y, "grad": W4_A**n}


def reference(workload: str, params: dict) -> dict | None:
    """The float64 answer every system's check is compared with (None: nothing to compare)."""
    if workload == "w1":
        return w1_reference(params["batch"], tuple(params["dims"]))
    if workload == "w2":
        return w2_reference(params["n_ops"], params["size"])
    if workload == "w3":
        return w3_reference(tuple(params["sizes"]))
    if workload == "w4":
        return w4_reference(params["n"])
    return None


def compare(check: dict, ref: dict, rtol: float, atol: float = 1e-9) -> str | None:
    """None when every number in ``check`` agrees with ``ref``; else what differs."""
    for key, want in ref.items():
        if key not in check:
            return f"missing {key!r}"
        got = check[key]
        want_a = np.atleast_1d(np.asarray(want, dtype=np.float64))
        got_a = np.atleast_1d(np.asarray(got, dtype=np.float64))
        if want_a.shape != got_a.shape:
            return f"{key}: {got_a.size} numbers, expected {want_a.size}"
        # The scale of a fingerprint is the norm it came with, so compare relative to the
        # largest magnitude in the vector (a projection can be near 0 by chance).
        scale = max(float(np.max(np.abs(want_a))), atol)
        err = float(np.max(np.abs(got_a - want_a))) / scale
        if not np.all(np.isfinite(got_a)) or err > rtol:
            return (f"{key}: got {got_a[:4].tolist()}, expected {want_a[:4].tolist()} "
                    f"(rel {err:.2e})")
    return None


# ----- timing ----------------------------------------------------------------------------------


def measure(step: Callable[[], object], budget: float, min_reps: int, warmup: int,
            max_reps: int = 100_000) -> list[float]:
    """Seconds per call of ``step``: ``warmup`` untimed calls, then calls until ``budget``
    seconds have passed and at least ``min_reps`` were made. Each call is timed alone."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps
                                     or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


class ForeignCPU:
    """How much of the machine's CPU time went to other processes while we measured.

    ``/proc/stat`` gives the busy time of all CPUs; ``getrusage`` our own (all threads).
    The difference, over wall time times the CPU count, is the share of the machine that
    other work took: 0 on an idle machine, 0.5 when another process kept one of 2 cores
    busy. None where /proc/stat is missing.
    """

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), busy / os.sysconf("SC_CLK_TCK"), ru.ru_utime + ru.ru_stime

    def share(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[0] - self.start[0]
        if wall <= 0:
            return None
        foreign = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return max(0.0, foreign / (wall * (os.cpu_count() or 1)))


# ----- memory ---------------------------------------------------------------------------------


def rss_mib() -> float:
    """Resident set size now, MiB (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """The process's peak resident set size, MiB (VmHWM, which `reset_peak_rss` resets)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter, so a later peak measures only what follows."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def blas_info() -> list[dict]:
    try:
        import threadpoolctl
    except ImportError:
        return []
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")
    return [{k: i.get(k) for k in keep} for i in threadpoolctl.threadpool_info()]


def env_note() -> dict:
    return {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
