"""chainrule with ``cr.compile``: the eager workloads' steps, traced once and replayed.

Each case compiles the very step ``workloads_chainrule`` times eagerly. ``check()`` replays
the compiled code (its second call: the first one traces, and runs eagerly) and hands the
loss and gradients to the suite's reference comparison; ``extra()`` reports the first
call's time (trace + code generation + Python's compile), the price paid once per shape.
"""

from __future__ import annotations

import time

import numpy as np
import workloads_chainrule as eager
from workloads_common import W4_A, W4_C, W4_X0, fingerprint, w1_check

import chainrule as cr


def _timed_first_call(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


class W1NN(eager.W1NN):
    """``nn.Sequential``, ``CrossEntropyLoss`` and ``optim.SGD``: the whole step compiled."""

    def __init__(self, batch: int, dims, **kw):
        super().__init__(batch, dims, **kw)
        self.compile_s = None

        def train_step(x):
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(x), self.y)
            loss.backward()
            self.opt.step()
            return loss

        def loss_and_grads(x):
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(x), self.y)
            loss.backward()
            return loss

        self.train_step = cr.compile(train_step)
        self.loss_and_grads = cr.compile(loss_and_grads)

    def step(self):
        return self.train_step(self.x)

    def check(self):
        self.loss_and_grads(self.x)  # traces
        loss = self.loss_and_grads(self.x)  # replays: what is checked
        grads = []
        for lin in self.linears:
            grads += [eager._grad(lin.weight), eager._grad(lin.bias)]
        self.opt.zero_grad()
        out = w1_check(loss.item(), grads)
        _, self.compile_s = _timed_first_call(self.train_step, self.x)
        return out

    def extra(self):
        return {"compile_s": self.compile_s}


def _w2_chain(x, n_ops):
    y = x
    for _ in range(n_ops // 4):
        y = cr.sin(y)
        y = y * 1.01
        y = cr.tanh(y)
        y = y + 0.1
    return y


class W2:
    """The 200-op chain and its backward (ones cotangent) as one compiled function."""

    def __init__(self, n_ops: int, size: int, backend: str = "auto", **_):
        self.inner = eager.W2(n_ops, size)
        seed = self.inner.seed

        def fwd_bwd(x0):
            x = cr.tensor(x0, requires_grad=True)
            y = _w2_chain(x, n_ops)
            y.backward(seed)
            return y, x.grad

        self.fn = cr.compile(fwd_bwd, backend=backend)
        self.compile_s = None

    def step(self):
        return self.fn(self.inner.x0)

    def check(self):
        _, self.compile_s = _timed_first_call(self.fn, self.inner.x0)
        y, g = self.fn(self.inner.x0)
        return {"out": fingerprint([np.asarray(y)]), "grads": fingerprint([np.asarray(g)])}

    def extra(self):
        return {"compile_s": self.compile_s}


class _Compiled:
    """A workload whose eager ``run()`` is compiled as it is (parameters are state)."""

    def __init__(self, inner):
        self.inner = inner
        self.fn = cr.compile(inner.run)
        self.compile_s = None

    def step(self):
        return self.fn()

    def check(self):
        _, self.compile_s = _timed_first_call(self.fn)
        self.inner.run = self.fn  # the eager check() now reads the replay's gradients
        return self.inner.check()

    def extra(self):
        return {"compile_s": self.compile_s}


class W4:
    """The N-step chain and its backward as one compiled function of the start value."""

    def __init__(self, n: int, **_):
        def fwd_bwd(x0):
            x = cr.tensor(x0, requires_grad=True)
            y = x
            for _ in range(n):
                y = y * W4_A + W4_C
            y.backward()
            return y, x.grad

        self.fn = cr.compile(fwd_bwd)
        self.x0 = np.array(W4_X0, dtype=np.float64)
        self.compile_s = None

    def step(self):
        self.fn(self.x0)

    def check(self):
        _, self.compile_s = _timed_first_call(self.fn, self.x0)
        y, g = self.fn(self.x0)
        return {"out": float(y), "grad": float(g)}

    def extra(self):
        return {"compile_s": self.compile_s}


def make(case: str, params: dict):
    variant = params.get("variant")
    if case == "w1" and variant == "nn":
        return W1NN(**params)
    if case == "w2":
        return W2(**params)
    if case == "w3":
        inner = eager.W3Vector(**params) if variant == "vector" else eager.W3Scalar(**params)
        return _Compiled(inner)
    if case == "w4":
        return W4(**params)
    raise NotImplementedError(f"chainrule compiled has no {case} {params}")
