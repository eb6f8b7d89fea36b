"""A neural network trained by the chain rule, from scratch: only cr.tensor, backward() and a
hand-written gradient-descent step. Two moons, one hidden layer of 16 tanh units."""

import chainrule as cr
from chainrule.datasets import make_moons

X, y = make_moons(200, noise=0.1, seed=0)
X, y = cr.tensor(X), cr.tensor(y.reshape(-1, 1).astype(float))
cr.manual_seed(0)
W1 = (cr.randn(2, 16) * 0.5).requires_grad_()
b1 = cr.zeros(16, requires_grad=True)
W2 = (cr.randn(16, 1) * 0.5).requires_grad_()
b2 = cr.zeros(1, requires_grad=True)

for step in range(501):
    p = cr.sigmoid(cr.tanh(X @ W1 + b1) @ W2 + b2)  # forward: P(class 1)
    loss = -(y * cr.log(p) + (1 - y) * cr.log(1 - p)).mean()  # binary cross-entropy
    loss.backward()  # the chain rule, backwards
    with cr.no_grad():  # gradient descent
        for w in (W1, b1, W2, b2):
            w -= 0.5 * w.grad
            w.grad = None
    if step % 100 == 0:
        accuracy = ((p.data > 0.5) == y.data).mean()
        print(f"step {step:3d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
