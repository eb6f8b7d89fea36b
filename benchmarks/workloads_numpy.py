"""Hand-written NumPy: each workload's forward and backward written out by hand (the floor).

No graph, no Python objects per operation: what an autodiff library costs on top of the
array arithmetic it must do anyway is its time minus this.
"""

from __future__ import annotations

import time

import numpy as np
from workloads_common import W1_LR, fingerprint, w1_check, w1_problem, w2_problem, w3_problem


class W1:
    """MLP step: forward, softmax cross-entropy, backward, SGD, in float32 with in-place
    updates (the way one writes it by hand when speed matters)."""

    def __init__(self, batch: int, dims, **_):
        self.x, self.y, self.params = w1_problem(batch, tuple(dims))
        self.rows = np.arange(batch)
        self.lr = np.float32(W1_LR)

    def loss_grads(self):
        x, y, params, rows = self.x, self.y, self.params, self.rows
        n_layers = len(params) // 2
        acts = [x]
        h = x
        for k in range(n_layers):
            h = h @ params[2 * k].T
            h += params[2 * k + 1]
            if k < n_layers - 1:
                np.maximum(h, 0, out=h)
                acts.append(h)
        h -= h.max(axis=1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=1, keepdims=True)
        loss = -np.log(h[rows, y]).mean()
        h[rows, y] -= 1
        h /= x.shape[0]
        g = h
        grads = [None] * len(params)
        for k in range(n_layers - 1, -1, -1):
            grads[2 * k] = g.T @ acts[k]
            grads[2 * k + 1] = g.sum(axis=0)
            if k > 0:
                g = g @ params[2 * k]
                g *= acts[k] > 0
        return loss, grads

    def step(self):
        loss, grads = self.loss_grads()
        for p, g in zip(self.params, grads):
            g *= self.lr
            p -= g
        return loss

    def check(self):
        loss, grads = self.loss_grads()
        return w1_check(loss, grads)

    def extra(self):
        """The matrix-multiply floor: only the products a step must do, timed alone."""
        x, params = self.x, self.params
        n_layers = len(params) // 2
        acts = [x]
        h = x
        for k in range(n_layers):
            h = h @ params[2 * k].T
            acts.append(h)
        flops = 0
        for k in range(n_layers):
            out_f, in_f = params[2 * k].shape
            flops += 2 * x.shape[0] * out_f * in_f * (3 if k > 0 else 2)

        def matmuls():
            g = acts[-1]
            for k in range(n_layers):
                acts[k] @ params[2 * k].T
            for k in range(n_layers - 1, -1, -1):
                g.T @ acts[k]
                if k > 0:
                    g = g @ params[2 * k]

        for _ in range(3):
            matmuls()
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            matmuls()
            times.append(time.perf_counter() - t0)
        best = float(np.median(times))
        return {"matmul_floor_s": best, "gflop": flops / 1e9, "gflops_per_s": flops / best / 1e9}


class W2:
    """200 chained elementwise ops: sin, *1.01, tanh, +0.1, repeated; gradient by hand."""

    def __init__(self, n_ops: int, size: int, **_):
        self.x0 = w2_problem(size)
        self.n_ops = n_ops

    def run(self):
        saved = []
        y = self.x0
        for _ in range(self.n_ops // 4):
            saved.append(y)
            y = np.sin(y)
            y = y * 1.01
            t = np.tanh(y)
            saved.append(t)
            y = t + 0.1
        g = np.ones_like(y)
        for k in range(self.n_ops // 4 - 1, -1, -1):
            t = saved[2 * k + 1]
            g = g * (1 - t * t)
            g = g * 1.01
            g = g * np.cos(saved[2 * k])
        return y, g

    def step(self):
        return self.run()

    def check(self):
        y, g = self.run()
        return {"out": fingerprint([y]), "grads": fingerprint([g])}


class W3Vector:
    """The 3-16-16-1 tanh MLP on one sample as matrix-vector products, float64."""

    def __init__(self, sizes, **_):
        self.x, self.target, self.params = w3_problem(tuple(sizes))

    def run(self):
        params = self.params
        n_layers = len(params) // 2
        acts = [self.x]
        h = self.x
        for k in range(n_layers):
            h = params[2 * k] @ h + params[2 * k + 1]
            if k < n_layers - 1:
                h = np.tanh(h)
                acts.append(h)
        diff = h[0] - self.target
        g = np.array([2 * diff])
        grads = [None] * len(params)
        for k in range(n_layers - 1, -1, -1):
            grads[2 * k] = np.outer(g, acts[k])
            grads[2 * k + 1] = g
            if k > 0:
                g = (params[2 * k].T @ g) * (1 - acts[k] * acts[k])
        return diff * diff, grads

    def step(self):
        return self.run()

    def check(self):
        loss, grads = self.run()
        return {"loss": float(loss), "grads": fingerprint(grads)}


def make(case: str, params: dict):
    if case == "w1":
        return W1(**params)
    if case == "w2":
        return W2(**params)
    if case == "w3" and params.get("variant") == "vector":
        return W3Vector(**params)
    raise NotImplementedError(f"numpy has no {case} {params}")
