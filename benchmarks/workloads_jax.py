"""JAX, each step one ``jax.jit``-compiled function (compiled before timing), on the CPU."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # W3 is float64; W1's arrays are float32 explicitly

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from workloads_common import W1_LR, fingerprint, w1_check, w1_problem, w3_problem  # noqa: E402


def _w1_loss(params, x, y):
    n_layers = len(params) // 2
    h = x
    for k in range(n_layers):
        h = h @ params[2 * k].T + params[2 * k + 1]
        if k < n_layers - 1:
            h = jax.nn.relu(h)
    logp = jax.nn.log_softmax(h, axis=-1)
    return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()


@jax.jit
def _w1_step(params, x, y):
    loss, grads = jax.value_and_grad(_w1_loss)(params, x, y)
    lr = jnp.float32(W1_LR)
    return [p - lr * g for p, g in zip(params, grads)], loss


_w1_value_and_grad = jax.jit(jax.value_and_grad(_w1_loss))


class W1:
    def __init__(self, batch: int, dims, **_):
        x, y, params = w1_problem(batch, tuple(dims))
        self.x = jnp.asarray(x)
        self.y = jnp.asarray(y)
        self.params = [jnp.asarray(p) for p in params]
        _w1_step(self.params, self.x, self.y)[1].block_until_ready()  # compile

    def step(self):
        self.params, loss = _w1_step(self.params, self.x, self.y)
        return loss.block_until_ready()

    def check(self):
        loss, grads = _w1_value_and_grad(self.params, self.x, self.y)
        return w1_check(loss, grads)


def _w3_loss(params, x, target):
    n_layers = len(params) // 2
    h = x
    for k in range(n_layers):
        h = params[2 * k] @ h + params[2 * k + 1]
        if k < n_layers - 1:
            h = jnp.tanh(h)
    return (h[0] - target) ** 2


_w3_value_and_grad = jax.jit(jax.value_and_grad(_w3_loss))


class W3Vector:
    def __init__(self, sizes, **_):
        x, target, params = w3_problem(tuple(sizes))
        self.x = jnp.asarray(x)
        self.target = target
        self.params = [jnp.asarray(p) for p in params]
        self.step()

    def step(self):
        loss, grads = _w3_value_and_grad(self.params, self.x, self.target)
        return jax.block_until_ready((loss, grads))

    def check(self):
        loss, grads = self.step()
        return {"loss": float(loss), "grads": fingerprint([np.asarray(g) for g in grads])}


def make(case: str, params: dict):
    if case == "w1":
        return W1(**params)
    if case == "w3" and params.get("variant") == "vector":
        return W3Vector(**params)
    raise NotImplementedError(f"jax has no {case} {params}")
