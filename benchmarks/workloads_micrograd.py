"""micrograd (Karpathy's ``micrograd`` package): one ``Value`` object per scalar.

The package's ``Value`` has no ``tanh``; the one below is written exactly as micrograd's own
``relu`` (and as the micrograd lecture's ``tanh``): a new ``Value`` whose ``_backward``
closure adds ``(1 - t**2) * out.grad``.
"""

from __future__ import annotations

import math

import numpy as np
from micrograd.engine import Value
from workloads_common import W4_A, W4_C, W4_X0, fingerprint, mlp_scalar, w3_problem


def tanh(v: Value) -> Value:
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward():
        v.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


class W3Scalar:
    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = [float(v) for v in x]
        self.ws = [[[Value(float(v)) for v in row] for row in w] for w in params[0::2]]
        self.bs = [[Value(float(v)) for v in b] for b in params[1::2]]
        self.all = [p for w in self.ws for row in w for p in row] + [p for b in self.bs for p in b]

    def run(self):
        for p in self.all:  # micrograd's Module.zero_grad
            p.grad = 0
        out = mlp_scalar(self.ws, self.bs, self.x, tanh)
        loss = (out - self.target) ** 2
        loss.backward()
        return loss

    def step(self):
        return self.run()

    def check(self):
        loss = self.run()
        grads = []
        for w, b in zip(self.ws, self.bs):
            grads.append(np.array([[p.grad for p in row] for row in w], dtype=np.float64))
            grads.append(np.array([p.grad for p in b], dtype=np.float64))
        return {"loss": float(loss.data), "grads": fingerprint(grads)}


def chain(n: int):
    x = Value(W4_X0)
    y = x
    for _ in range(n):
        y = y * W4_A + W4_C
    y.backward()
    return y, x


def largest_working_chain(limit: int) -> int:
    """The longest chain whose backward works (micrograd's topological sort recurses)."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            chain(mid)
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


class W4:
    def __init__(self, n: int, **_):
        self.n = n

    def step(self):
        chain(self.n)

    def check(self):
        y, x = chain(self.n)
        return {"out": float(y.data), "grad": float(x.grad)}

    def failure_note(self) -> str:
        n_ok = largest_working_chain(self.n)
        return (f"RecursionError at N = {self.n}: micrograd's recursive topological sort "
                f"works up to N = {n_ok} (fails at N >= {n_ok + 1}) with Python's default "
                "recursion limit")


def make(case: str, params: dict):
    variant = params.get("variant")
    if case == "w3" and variant != "vector":
        return W3Scalar(**params)
    if case == "w4":
        return W4(**params)
    raise NotImplementedError(f"micrograd has no {case} {params}")
