"""chainrule's side of every workload, written the way the README teaches a user to write it."""

from __future__ import annotations

import numpy as np
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

import chainrule as cr


def _grad(t) -> np.ndarray:
    g = t.grad
    return np.asarray(g.data if hasattr(g, "data") else g)


class W1Raw:
    """Raw tensors: ``x @ W.T + b``, ``cr.relu``, ``cr.log_softmax``, the NLL by indexing,
    and SGD by hand under ``cr.no_grad()``."""

    def __init__(self, batch: int, dims, **_):
        x, y, params = w1_problem(batch, tuple(dims))
        self.x = cr.tensor(x)
        self.y = y
        self.rows = np.arange(batch)
        self.params = [cr.tensor(p, requires_grad=True) for p in params]

    def loss(self):
        params = self.params
        n_layers = len(params) // 2
        h = self.x
        for k in range(n_layers):
            h = h @ params[2 * k].T + params[2 * k + 1]
            if k < n_layers - 1:
                h = cr.relu(h)
        logp = cr.log_softmax(h, axis=-1)
        return -logp[self.rows, self.y].mean()

    def step(self):
        loss = self.loss()
        loss.backward()
        with cr.no_grad():
            for p in self.params:
                p -= W1_LR * p.grad
                p.grad = None
        return loss

    def check(self):
        loss = self.loss()
        loss.backward()
        out = w1_check(loss.item(), [_grad(p) for p in self.params])
        for p in self.params:
            p.grad = None
        return out


class W1NN:
    """``cr.nn.Sequential`` of Linear/ReLU, ``cr.nn.CrossEntropyLoss``, ``cr.optim.SGD``."""

    def __init__(self, batch: int, dims, **_):
        x, y, params = w1_problem(batch, tuple(dims))
        layers = []
        for k in range(len(dims) - 1):
            layers.append(cr.nn.Linear(dims[k], dims[k + 1]))
            if k < len(dims) - 2:
                layers.append(cr.nn.ReLU())
        self.model = cr.nn.Sequential(*layers)
        linears = [m for m in self.model.children() if isinstance(m, cr.nn.Linear)]
        state = {}
        for k, lin in enumerate(linears):
            index = list(self.model.children()).index(lin)
            state[f"{index}.weight"] = params[2 * k]
            state[f"{index}.bias"] = params[2 * k + 1]
        self.model.load_state_dict(state)
        self.linears = linears
        self.loss_fn = cr.nn.CrossEntropyLoss()
        self.opt = cr.optim.SGD(self.model.parameters(), lr=W1_LR)
        self.x = cr.tensor(x)
        self.y = y

    def step(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def check(self):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        grads = []
        for lin in self.linears:
            grads += [_grad(lin.weight), _grad(lin.bias)]
        self.opt.zero_grad()
        return w1_check(loss.item(), grads)


class W2:
    """200 chained elementwise ops on float64[16] (the chain of benchmarks/overhead.py)."""

    def __init__(self, n_ops: int, size: int, **_):
        self.x0 = w2_problem(size)
        self.n_ops = n_ops
        self.seed = np.ones(size)

    def run(self):
        x = cr.tensor(self.x0, requires_grad=True)
        y = x
        for _ in range(self.n_ops // 4):
            y = cr.sin(y)
            y = y * 1.01
            y = cr.tanh(y)
            y = y + 0.1
        y.backward(self.seed)
        return y, x

    def step(self):
        return self.run()

    def check(self):
        y, x = self.run()
        return {"out": fingerprint([y.data]), "grads": fingerprint([_grad(x)])}


class W3Scalar:
    """micrograd style: every weight a 0-d float64 tensor, every op one scalar node."""

    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = [float(v) for v in x]

        def leaf(v):
            # a 0-d float64 array: cr.tensor(np.float64(v)) would be float32, as a Python float
            return cr.tensor(np.array(v, dtype=np.float64), requires_grad=True)

        self.ws = [[[leaf(v) for v in row] for row in w] for w in params[0::2]]
        self.bs = [[leaf(v) for v in b] for b in params[1::2]]
        self.all = [p for w in self.ws for row in w for p in row] + [p for b in self.bs for p in b]

    def run(self):
        for p in self.all:
            p.grad = None
        out = mlp_scalar(self.ws, self.bs, self.x, cr.tanh)
        loss = (out - self.target) ** 2
        loss.backward()
        return loss

    def step(self):
        return self.run()

    def check(self):
        loss = self.run()
        grads = []
        for w, b in zip(self.ws, self.bs):
            grads.append(np.array([[_grad(p) for p in row] for row in w], dtype=np.float64))
            grads.append(np.array([_grad(p) for p in b], dtype=np.float64))
        return {"loss": float(loss.item()), "grads": fingerprint(grads)}


class W3Vector:
    """The same MLP as float64 matrices: ``W @ h + b``."""

    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = cr.tensor(x)
        self.params = [cr.tensor(p, requires_grad=True) for p in params]

    def run(self):
        params = self.params
        for p in params:
            p.grad = None
        n_layers = len(params) // 2
        h = self.x
        for k in range(n_layers):
            h = params[2 * k] @ h + params[2 * k + 1]
            if k < n_layers - 1:
                h = cr.tanh(h)
        loss = (h[0] - self.target) ** 2
        loss.backward()
        return loss

    def step(self):
        return self.run()

    def check(self):
        loss = self.run()
        return {"loss": float(loss.item()), "grads": fingerprint([_grad(p) for p in self.params])}


class W4:
    """y = y*1.0001 + 0.0001 repeated n times on a 0-d float64 tensor, then backward."""

    def __init__(self, n: int, **_):
        self.n = n

    def run(self):
        x = cr.tensor(np.array(W4_X0, dtype=np.float64), requires_grad=True)
        y = x
        for _ in range(self.n):
            y = y * W4_A + W4_C
        y.backward()
        return y, x

    def step(self):
        y, x = self.run()
        return None

    def check(self):
        y, x = self.run()
        return {"out": float(y.item()), "grad": float(_grad(x))}


def make(case: str, params: dict):
    variant = params.get("variant")
    if case == "w1":
        return W1NN(**params) if variant == "nn" else W1Raw(**params)
    if case == "w2":
        return W2(**params)
    if case == "w3":
        return W3Vector(**params) if variant == "vector" else W3Scalar(**params)
    if case == "w4":
        return W4(**params)
    if case == "w5":
        from workloads_train import ChainruleTrain
        return ChainruleTrain(**params)
    raise NotImplementedError(f"chainrule has no {case} {params}")
