"""Gradients of composite functions checked against the HIPS `autograd` library.

`autograd` is an independent implementation of reverse mode; both libraries must give the
same gradient (to float64 rounding) for the same NumPy-level function.
"""

import numpy as np
import pytest

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
from autograd.scipy.special import logsumexp as a_logsumexp  # noqa: E402

import chainrule as cr  # noqa: E402

RNG = np.random.default_rng(2024)
X = RNG.standard_normal((4, 3))
P = RNG.uniform(0.5, 2.0, (4, 3))
W = RNG.standard_normal((3, 5))
V = RNG.standard_normal(3)
M = RNG.standard_normal((3, 3)) + 3 * np.eye(3)


def a_sigmoid(x):
    return 1 / (1 + anp.exp(-x))


def a_softmax(x, axis=-1):
    e = anp.exp(x - anp.max(x, axis=axis, keepdims=True))
    return e / anp.sum(e, axis=axis, keepdims=True)


# name: (chainrule version, autograd version, input)
CASES = {
    "poly": (lambda x: (x**3 - 2 * x**2 + x).sum(), lambda x: anp.sum(x**3 - 2 * x**2 + x), X),
    "sin_exp": (lambda x: (cr.sin(x) * cr.exp(-x)).sum(),
                lambda x: anp.sum(anp.sin(x) * anp.exp(-x)), X),
    "log_sqrt": (lambda x: (cr.log(x) + cr.sqrt(x)).mean(),
                 lambda x: anp.mean(anp.log(x) + anp.sqrt(x)), P),
    "tanh_mlp": (lambda x: cr.tanh(x @ cr.tensor(W)).sum(),
                 lambda x: anp.sum(anp.tanh(anp.dot(x, W))), X),
    "sigmoid_bce": (lambda x: -(cr.log(cr.sigmoid(x)) * 0.3).sum(),
                    lambda x: -anp.sum(anp.log(a_sigmoid(x)) * 0.3), X),
    "softmax_ce": (lambda x: -(cr.log_softmax(x, axis=1)[np.arange(4), [0, 2, 1, 0]]).mean(),
                   lambda x: -anp.mean((x - a_logsumexp(x, axis=1, keepdims=True))
                                       [np.arange(4), [0, 2, 1, 0]]), X),
    "softmax_weighted": (lambda x: (cr.softmax(x, axis=0) * cr.tensor(P)).sum(),
                         lambda x: anp.sum(a_softmax(x, axis=0) * P), X),
    "logsumexp": (lambda x: cr.logsumexp(x, axis=1).sum(),
                  lambda x: anp.sum(a_logsumexp(x, axis=1)), X),
    "var_std": (lambda x: cr.var(x, axis=0).sum() + cr.std(x),
                lambda x: anp.sum(anp.var(x, axis=0)) + anp.std(x), X),
    "norm": (lambda x: cr.norm(x, axis=1).sum(),
             lambda x: anp.sum(anp.sqrt(anp.sum(x**2, axis=1))), X),
    "broadcast": (lambda x: (x * cr.tensor(V) + x.mean(axis=0)).sum(),
                  lambda x: anp.sum(x * V + anp.mean(x, axis=0)), X),
    "transpose_reshape": (lambda x: (x.T.reshape(2, 6) ** 2).sum(axis=1).prod(),
                          lambda x: anp.prod(anp.sum(anp.reshape(x.T, (2, 6)) ** 2, axis=1)), X),
    "indexing": (lambda x: (x[1:, ::2] * x[[0, 0, 3]][:, :2]).sum(),
                 lambda x: anp.sum(x[1:, ::2] * x[anp.array([0, 0, 3])][:, :2]), X),
    "concat_stack": (lambda x: cr.stack([x, cr.concatenate([x[2:], x[:2]])]).prod(axis=0).sum(),
                     lambda x: anp.sum(anp.prod(anp.stack([x, anp.concatenate([x[2:], x[:2]])]),
                                                axis=0)), X),
    "max_min": (lambda x: cr.max(x, axis=1).sum() - cr.min(x),
                lambda x: anp.sum(anp.max(x, axis=1)) - anp.min(x), X),
    "maximum_relu": (lambda x: (cr.maximum(x, 0.1) + cr.relu(x) * 2).sum(),
                     lambda x: anp.sum(anp.maximum(x, 0.1) + anp.maximum(x, 0) * 2), X),
    "where_abs": (lambda x: cr.where(x > 0, cr.abs(x) ** 1.5, x**2).sum(),
                  lambda x: anp.sum(anp.where(x > 0, anp.abs(x) ** 1.5, x**2)), X),
    "trig_inverse": (lambda x: (cr.arctan(x) + cr.arcsin(x / 4) + cr.cosh(x / 2)).sum(),
                     lambda x: anp.sum(anp.arctan(x) + anp.arcsin(x / 4) + anp.cosh(x / 2)), X),
    "inv_solve_det": (lambda m: cr.linalg.inv(m).sum() + cr.linalg.solve(m, cr.tensor(V)).sum()
                      + cr.linalg.det(m),
                      lambda m: anp.sum(anp.linalg.inv(m)) + anp.sum(anp.linalg.solve(m, V))
                      + anp.linalg.det(m), M),
    "einsum": (lambda x: cr.einsum("ij,jk,ik->", x, cr.tensor(W), x @ cr.tensor(W)),
               lambda x: anp.einsum("ij,jk,ik->", x, W, anp.dot(x, W)), X),
    "softplus_clip": (lambda x: (cr.softplus(x) + cr.clip(x, -0.5, 0.5)).sum(),
                      lambda x: anp.sum(anp.logaddexp(0, x) + anp.clip(x, -0.5, 0.5)), X),
    "power_divide": (lambda p: (p ** cr.tensor(X) / (1 + p)).sum(),
                     lambda p: anp.sum(p**X / (1 + p)), P),
    "tile_repeat_pad": (lambda x: (cr.pad(cr.tile(x, (1, 2)), 1) * 1.5).sum()
                        + (cr.repeat(x, 2, axis=0) ** 2).sum(),
                        lambda x: anp.sum(anp.pad(anp.tile(x, (1, 2)), 1, "constant") * 1.5)
                        + anp.sum(anp.repeat(x, 2, axis=0) ** 2), X),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_autograd(name):
    ours, theirs, x = CASES[name]
    t = cr.tensor(x, requires_grad=True)
    value = ours(t)
    value.backward()
    np.testing.assert_allclose(value.item(), theirs(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.grad.data, autograd.grad(theirs)(x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["sin_exp", "tanh_mlp", "softmax_ce", "logsumexp", "norm",
                                  "inv_solve_det", "power_divide"])
def test_hessian_vector_product_matches_autograd(name):
    ours, theirs, x = CASES[name]
    v = np.random.default_rng(5).standard_normal(x.shape)
    t = cr.tensor(x, requires_grad=True)
    (g,) = cr.autodiff.backward.grad(ours(t), t, create_graph=True)
    (hv,) = cr.autodiff.backward.grad((g * cr.tensor(v)).sum(), t)
    expected = autograd.grad(lambda y: anp.sum(autograd.grad(theirs)(y) * v))(x)
    np.testing.assert_allclose(hv.data, expected, rtol=1e-8, atol=1e-10)
