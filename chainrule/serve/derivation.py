"""One weight's gradient in a small network, written out as the chain rule's sum over paths.

The playground's networks are multilayer perceptrons for two classes::

    a0 = X,   z_l = a_{l-1} W_lᵀ + b_l,   a_l = φ(z_l)  (l < L),   z_L = the logit,
    L = mean_n BCE(z_L[n], y[n]),   so   ∂L/∂z_L[n] = (σ(z_L[n]) − y[n]) / B.

The weight ``W_l[j, i]`` (from unit ``i`` of layer ``l − 1`` to unit ``j`` of layer ``l``)
reaches the loss along every path ``j → k_{l+1} → … → k_{L−1} → out`` through the later
layers; along one path, for sample ``n``, the links multiply to

    a_{l−1}[n, i] · φ′(z_l[n, j]) · W_{l+1}[k, j] · φ′(z_{l+1}[n, k]) · … · W_L[0, m] · ∂L/∂z_L[n]

and ``∂L/∂W_l[j, i]`` is the sum over paths and over the batch. Everything here is plain
NumPy in float64 from the weights and the batch of the step, apart from the engine, so
the playground can show that the sum equals the engine's gradient.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["derivative", "forward", "ACTIVATIONS", "MAX_SHOWN"]

#: The paths listed one by one (largest first); the rest are summed in one line.
MAX_SHOWN = 8


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function without overflow


#: name -> (φ, φ′ as a function of z and a = φ(z), the textbook formula of φ′)
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a), "σ(z)·(1 − σ(z))"),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a, "1 − tanh²(z)"),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float), "1 if z > 0 else 0"),
}


def forward(weights, biases, activation: str, X):
    """``(zs, activations)`` of every layer, in float64: ``activations[0]`` is ``X``."""
    phi = ACTIVATIONS[activation][0]
    acts = [np.asarray(X, dtype=np.float64)]
    zs = []
    for k, (W, b) in enumerate(zip(weights, biases)):
        z = acts[-1] @ np.asarray(W, np.float64).T + np.asarray(b, np.float64)
        zs.append(z)
        acts.append(phi(z) if k < len(weights) - 1 else z)
    return zs, acts


def derivative(weights, biases, activation: str, X, y, layer: int, i: int, j: int) -> dict:
    """``∂L/∂W_layer[j, i]`` (``layer`` counted from 1) as the sum over paths, with numbers.

    Returns a dict: ``value`` (the sum), ``paths`` (how many), ``shown`` (the largest paths:
    units visited, each link's value for the first sample, the product for that sample and
    the path's sum over the batch), ``rest`` (the sum of the paths not shown), ``batch``.
    """
    n_layers = len(weights)
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be 1 to {n_layers}, got {layer}")
    W = np.asarray(weights[layer - 1])
    if not (0 <= j < W.shape[0] and 0 <= i < W.shape[1]):
        raise ValueError(f"W{layer} has shape {W.shape}: no entry [{j}, {i}]")
    _, dphi, dphi_text = ACTIVATIONS[activation]
    zs, acts = forward(weights, biases, activation, X)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    batch = len(y)
    dL_dout = (_sigmoid(zs[-1][:, 0]) - y) / batch  # ∂L/∂z_L for the mean BCE with logits
    slopes = [dphi(z, a) for z, a in zip(zs[:-1], acts[1:-1])]  # φ′ of each hidden layer
    source = acts[layer - 1][:, i]
    # Units visited after unit j of layer `layer`: one per hidden layer in between, then
    # the single output unit.
    later = [range(np.shape(weights[m])[0]) for m in range(layer, n_layers - 1)]
    rows = []
    for units in itertools.product(*later):
        chain = [j, *units]
        # per-sample link values: the weight's input, then φ′ and the next weight, alternating
        factors = [("a", f"a{layer - 1}[{i}]" if layer > 1 else f"x{i + 1}", source)]
        if layer < n_layers:
            factors.append(("dphi", f"φ′(z{layer}[{j}])", slopes[layer - 1][:, j]))
        hops = zip(chain, [*chain[1:], 0]) if layer < n_layers else ()
        for step, (frm, to) in enumerate(hops):
            m = layer + step  # index of the next weight matrix (0-based)
            w = float(np.asarray(weights[m])[to, frm])
            factors.append(("w", f"W{m + 1}[{to},{frm}]", np.full(batch, w)))
            if m < n_layers - 1:
                factors.append(("dphi", f"φ′(z{m + 1}[{to}])", slopes[m][:, to]))
        factors.append(("dout", "∂L/∂ŷ", dL_dout))
        product = np.prod([f[2] for f in factors], axis=0)
        rows.append((float(product.sum()), chain, factors, float(product[0])))
    total = float(sum(r[0] for r in rows))
    rows.sort(key=lambda r: -abs(r[0]))
    shown = [
        {
            "units": [f"z{layer + k}[{u}]" for k, u in enumerate(chain)]
            + ([] if layer == n_layers else ["ŷ"]),
            "links": [
                {"name": name, "kind": kind, "value": float(v[0])} for kind, name, v in factors
            ],
            "first_sample": first,
            "batch_sum": s,
        }
        for s, chain, factors, first in rows[:MAX_SHOWN]
    ]
    return {
        "layer": layer,
        "i": i,
        "j": j,
        "value": total,
        "paths": len(rows),
        "batch": batch,
        "shown": shown,
        "rest": float(sum(r[0] for r in rows[MAX_SHOWN:])),
        "activation": activation,
        "dphi": dphi_text,
    }
