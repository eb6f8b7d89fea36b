"""PyTorch eager (CPU), written as its documentation teaches."""

from __future__ import annotations

import numpy as np
import torch
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


class W1Raw:
    def __init__(self, batch: int, dims, **_):
        x, y, params = w1_problem(batch, tuple(dims))
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)
        self.rows = torch.arange(batch)
        self.params = [torch.tensor(p, requires_grad=True) for p in params]

    def loss(self):
        params = self.params
        n_layers = len(params) // 2
        h = self.x
        for k in range(n_layers):
            h = h @ params[2 * k].T + params[2 * k + 1]
            if k < n_layers - 1:
                h = torch.relu(h)
        logp = torch.log_softmax(h, dim=-1)
        return -logp[self.rows, self.y].mean()

    def step(self):
        loss = self.loss()
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= W1_LR * p.grad
                p.grad = None
        return loss

    def check(self):
        loss = self.loss()
        loss.backward()
        out = w1_check(loss.item(), [p.grad.numpy() for p in self.params])
        for p in self.params:
            p.grad = None
        return out


class W1NN:
    def __init__(self, batch: int, dims, **_):
        x, y, params = w1_problem(batch, tuple(dims))
        layers = []
        for k in range(len(dims) - 1):
            layers.append(torch.nn.Linear(dims[k], dims[k + 1]))
            if k < len(dims) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for k, lin in enumerate(self.linears):
                lin.weight.copy_(torch.from_numpy(params[2 * k]))
                lin.bias.copy_(torch.from_numpy(params[2 * k + 1]))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=W1_LR)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)

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
            grads += [lin.weight.grad.numpy(), lin.bias.grad.numpy()]
        out = w1_check(loss.item(), grads)
        self.opt.zero_grad()
        return out


class W2:
    def __init__(self, n_ops: int, size: int, **_):
        self.x0 = torch.from_numpy(w2_problem(size))
        self.n_ops = n_ops
        self.seed = torch.ones(size, dtype=torch.float64)

    def run(self):
        x = self.x0.clone().requires_grad_(True)
        y = x
        for _ in range(self.n_ops // 4):
            y = torch.sin(y)
            y = y * 1.01
            y = torch.tanh(y)
            y = y + 0.1
        y.backward(self.seed)
        return y, x

    def step(self):
        return self.run()

    def check(self):
        y, x = self.run()
        return {"out": fingerprint([y.detach().numpy()]), "grads": fingerprint([x.grad.numpy()])}


class W3Scalar:
    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = [float(v) for v in x]

        def leaf(v):
            return torch.tensor(float(v), dtype=torch.float64, requires_grad=True)

        self.ws = [[[leaf(v) for v in row] for row in w] for w in params[0::2]]
        self.bs = [[leaf(v) for v in b] for b in params[1::2]]
        self.all = [p for w in self.ws for row in w for p in row] + [p for b in self.bs for p in b]

    def run(self):
        for p in self.all:
            p.grad = None
        out = mlp_scalar(self.ws, self.bs, self.x, torch.tanh)
        loss = (out - self.target) ** 2
        loss.backward()
        return loss

    def step(self):
        return self.run()

    def check(self):
        loss = self.run()
        grads = []
        for w, b in zip(self.ws, self.bs):
            grads.append(np.array([[p.grad.item() for p in row] for row in w]))
            grads.append(np.array([p.grad.item() for p in b]))
        return {"loss": loss.item(), "grads": fingerprint(grads)}


class W3Vector:
    def __init__(self, sizes, **_):
        x, self.target, params = w3_problem(tuple(sizes))
        self.x = torch.from_numpy(x)
        self.params = [torch.tensor(p, requires_grad=True) for p in params]

    def run(self):
        params = self.params
        for p in params:
            p.grad = None
        n_layers = len(params) // 2
        h = self.x
        for k in range(n_layers):
            h = params[2 * k] @ h + params[2 * k + 1]
            if k < n_layers - 1:
                h = torch.tanh(h)
        loss = (h[0] - self.target) ** 2
        loss.backward()
        return loss

    def step(self):
        return self.run()

    def check(self):
        loss = self.run()
        return {"loss": loss.item(), "grads": fingerprint([p.grad.numpy() for p in self.params])}


class W4:
    def __init__(self, n: int, **_):
        self.n = n

    def run(self):
        x = torch.tensor(W4_X0, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(self.n):
            y = y * W4_A + W4_C
        y.backward()
        return y, x

    def step(self):
        self.run()

    def check(self):
        y, x = self.run()
        return {"out": y.item(), "grad": x.grad.item()}


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
        from workloads_train import TorchTrain
        return TorchTrain(**params)
    raise NotImplementedError(f"torch has no {case} {params}")
