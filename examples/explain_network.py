"""Backpropagation, step by step: the backward pass of a small network's loss.

For each node, from the loss back to the weights, the explanation shows the operation,
its local rule (∂L/∂W2 = hᵀ · ∂L/∂yhat), and the shape and norm of the gradient that
arrives and of the gradients it sends on.

Run:  python examples/explain_network.py
"""

import numpy as np

import chainrule as cr

rng = np.random.default_rng(0)
X = rng.normal(size=(8, 3))  # 8 samples, 3 features
Y = rng.normal(size=(8, 1))


def loss(W1, b1, W2):
    h = cr.named(cr.tanh(X @ W1 + b1), "h")  # hidden layer
    yhat = cr.named(h @ W2, "yhat")  # prediction
    return cr.named(cr.mean((yhat - Y) ** 2), "L")  # mean squared error


if __name__ == "__main__":
    W1 = rng.normal(size=(3, 4)) / np.sqrt(3)
    b1 = np.zeros(4)
    W2 = rng.normal(size=(4, 1)) / 2
    e = cr.explain(loss, W1=W1, b1=b1, W2=W2)
    print(e.to_text())
