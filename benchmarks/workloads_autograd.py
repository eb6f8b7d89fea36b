"""HIPS autograd: functions of NumPy arrays, differentiated by ``autograd.value_and_grad``."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad
from workloads_common import (
    W1_LR,
    W4_A,
    W4_C,
    W4_X0,
    fingerprint,
    mlp_scalar,
    w1_check,
    w1_problem,
    w2_problem,
    w3_problem,
)


def _w1_loss(params, x, y, rows):
    n_layers = len(params) // 2
    h = x
    for k in range(n_layers):
        h = anp.dot(h, params[2 * k].T) + params[2 * k + 1]
        if k < n_layers - 1:
            h = anp.maximum(h, 0.0)
    z = h - anp.max(h, axis=1, keepdims=True)
    logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
    return -anp.mean(logp[rows, y])


_w1_value_and_grad = value_and_grad(_w1_loss)


class W1:
    def __init__(self, batch: int, dims, **_):
        self.x, self.y, self.params = w1_problem(batch, tuple(dims))
        self.rows = np.arange(batch)
        self.lr = np.float32(W1_LR)

    def step(self):
        loss, grads = _w1_value_and_grad(self.params, self.x, self.y, self.rows)
        self.params = [p - self.lr * g for p, g in zip(self.params, grads)]
        return loss

    def check(self):
        loss, grads = _w1_value_and_grad(self.params, self.x, self.y, self.rows)
        return w1_check(loss, grads)


def _w2_chain(x, n_ops):
    y = x
    for _ in range(n_ops // 4):
        y = anp.sin(y)
        y = y * 1.01
        y = anp.tanh(y)
        y = y + 0.1
    return y


class W2:
    """The chain's vector-Jacobian product with a ones cotangent (autograd's ``grad`` of a
    sum would add a node; ``make_vjp`` is the one-pass equivalent of ``y.backward(ones)``)."""

    def __init__(self, n_ops: int, size: int, **_):
        from autograd import make_vjp
        self.make_vjp = make_vjp
        self.x0 = w2_problem(size)
        self.n_ops = n_ops
        self.seed = np.ones(size)

    def run(self):
        vjp, y = self.make_vjp(_w2_chain)(self.x0, self.n_ops)
        return y, vjp(self.seed)

    def step(self):
        return self.run()

    def check(self):
        y, g = self.run()
        return {"out": fingerprint([y]), "grads": fingerprint([g])}


class W3Scalar:
    """Every weight a Python float in a nested list; autograd boxes each one."""

    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = [float(v) for v in x]
        self.params = ([[[float(v) for v in row] for row in w] for w in params[0::2]],
                       [[float(v) for v in b] for b in params[1::2]])

        def loss(p):
            out = mlp_scalar(p[0], p[1], self.x, anp.tanh)
            return (out - self.target) ** 2

        self.value_and_grad = value_and_grad(loss)

    def step(self):
        return self.value_and_grad(self.params)

    def check(self):
        loss, (gw, gb) = self.step()
        grads = []
        for w, b in zip(gw, gb):
            grads += [np.array(w, dtype=np.float64), np.array(b, dtype=np.float64)]
        return {"loss": float(loss), "grads": fingerprint(grads)}


def _w3_loss(params, x, target):
    n_layers = len(params) // 2
    h = x
    for k in range(n_layers):
        h = anp.dot(params[2 * k], h) + params[2 * k + 1]
        if k < n_layers - 1:
            h = anp.tanh(h)
    return (h[0] - target) ** 2


class W3Vector:
    def __init__(self, sizes, **_):
        self.x, self.target, self.params = w3_problem(tuple(sizes))
        self.value_and_grad = value_and_grad(_w3_loss)

    def step(self):
        return self.value_and_grad(self.params, self.x, self.target)

    def check(self):
        loss, grads = self.step()
        return {"loss": float(loss), "grads": fingerprint(grads)}


class W4:
    def __init__(self, n: int, **_):
        self.n = n

        def chain(x):
            y = x
            for _ in range(n):
                y = y * W4_A + W4_C
            return y

        self.value_and_grad = value_and_grad(chain)

    def step(self):
        return self.value_and_grad(W4_X0)

    def check(self):
        y, g = self.step()
        return {"out": float(y), "grad": float(g)}


def make(case: str, params: dict):
    variant = params.get("variant")
    if case == "w1":
        return W1(**params)
    if case == "w2":
        return W2(**params)
    if case == "w3":
        return W3Vector(**params) if variant == "vector" else W3Scalar(**params)
    if case == "w4":
        return W4(**params)
    raise NotImplementedError(f"autograd has no {case} {params}")


