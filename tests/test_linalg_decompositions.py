"""cr.linalg's decompositions: results as NumPy's, gradients of basis-independent
functions as HIPS autograd's, and clear answers at the edges (repeated values, shapes
without a gradient, complex spectra).

The registry tests already run every decomposition primitive through finite differences
in both modes, the adjoint identity and second order; these tests check the NumPy-facing
functions built on them.
"""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(11)
TALL = RNG.standard_normal((5, 3))
WIDE = RNG.standard_normal((3, 5))
SQUARE = RNG.standard_normal((4, 4))
B = RNG.standard_normal((4, 4))
W4 = RNG.standard_normal((4, 4))


def _sym(m, x):
    return x + x.T  # a symmetric matrix made from a free one


def _eigvalsh(m, la):
    """autograd has no gradient for eigvalsh; its eigh's eigenvalues are the same."""
    return la.eigvalsh if m is cr else (lambda a: la.eigh(a)[0])


# (name, function of (module, linalg module, x) -> scalar, input); each is independent of
# the signs LAPACK gives eigen- and singular vectors (their squares, or products of pairs)
_CASES = [
    ("eigh values", lambda m, la, x: m.sum(la.eigh(_sym(m, x))[0] * m.arange(4.0)), SQUARE),
    ("eigh vectors", lambda m, la, x: m.sum(la.eigh(_sym(m, x))[1] ** 2 * W4), SQUARE),
    ("eigvalsh", lambda m, la, x: m.sum(_eigvalsh(m, la)(_sym(m, x)) ** 3), SQUARE),
    ("svd values tall", lambda m, la, x: m.sum(la.svd(x, full_matrices=False)[1] ** 2
                                               * m.arange(3.0)), TALL),
    ("svd U tall", lambda m, la, x: m.sum(la.svd(x, full_matrices=False)[0] ** 2
                                          * W4[:, :3].repeat(2, 0)[:5]), TALL),
    ("svd V wide", lambda m, la, x: m.sum(la.svd(x, full_matrices=False)[2] ** 2
                                          * W4[:3, :].repeat(2, 1)[:, :5]), WIDE),
    ("svd all square", lambda m, la, x: m.sum((la.svd(x, full_matrices=False)[0]
                                               * la.svd(x, full_matrices=False)[2].T) * W4),
     SQUARE),
    ("cholesky", lambda m, la, x: m.sum(la.cholesky(x @ x.T + 4 * m.eye(4)) * W4), SQUARE),
    ("slogdet", lambda m, la, x: la.slogdet(x)[1], SQUARE),
    ("qr tall", lambda m, la, x: m.sum(la.qr(x)[0] * W4[:, :3].repeat(2, 0)[:5])
     + m.sum(la.qr(x)[1] * W4[:3, :3]), TALL),
    ("pinv tall", lambda m, la, x: m.sum(la.pinv(x) * W4[:3, :].repeat(2, 1)[:, :5]), TALL),
    ("pinv wide", lambda m, la, x: m.sum(la.pinv(x) ** 2), WIDE),
    ("norm 2", lambda m, la, x: la.norm(x, 2), TALL),
    ("norm nuc", lambda m, la, x: la.norm(x, "nuc"), WIDE),
    ("norm -2", lambda m, la, x: la.norm(x, -2), SQUARE),
]


# autograd has no gradient for these: compared with central differences instead
_NOT_IN_AUTOGRAD = {"qr tall", "norm 2", "norm -2"}


def _fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("name,fn,x", _CASES, ids=[c[0] for c in _CASES])
def test_gradient_matches_autograd(name, fn, x):
    ours_value = fn(cr, cr.linalg, cr.tensor(x))
    np.testing.assert_allclose(ours_value.data, fn(np, np.linalg, x), rtol=1e-10)
    ours = cr.grad(lambda v: fn(cr, cr.linalg, v))(x)
    if name in _NOT_IN_AUTOGRAD:
        theirs, rtol = _fd_grad(lambda v: fn(np, np.linalg, v), x), 1e-6
    else:
        theirs, rtol = autograd.grad(lambda v: fn(anp, anp.linalg, v))(x), 1e-8
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("name,fn,x", _CASES[::2], ids=[c[0] for c in _CASES[::2]])
def test_second_order_against_finite_differences(name, fn, x):
    cr.check_grads(lambda v: fn(cr, cr.linalg, v), (x,), order=2, modes=("rev",))


def test_results_match_numpy_up_to_sign():
    u, s, vh = cr.linalg.svd(TALL, full_matrices=False)
    nu, ns, nvh = np.linalg.svd(TALL, full_matrices=False)
    np.testing.assert_allclose(s.data, ns)
    np.testing.assert_allclose(np.abs(u.data), np.abs(nu))
    np.testing.assert_allclose((u.data * s.data) @ vh.data, TALL, atol=1e-12)
    w, v = cr.linalg.eigh(_sym(np, SQUARE))
    np.testing.assert_allclose(w.data, np.linalg.eigvalsh(_sym(np, SQUARE)))
    np.testing.assert_allclose(np.abs(v.data), np.abs(np.linalg.eigh(_sym(np, SQUARE))[1]))
    # the largest entry of each vector is positive (a fixed choice of sign)
    cols = v.data[np.abs(v.data).argmax(0), np.arange(4)]
    assert np.all(cols > 0)
    q, r = cr.linalg.qr(WIDE)
    np.testing.assert_allclose(q.data @ r.data, WIDE, atol=1e-12)
    np.testing.assert_allclose(cr.linalg.qr(WIDE, mode="r").data, np.linalg.qr(WIDE, mode="r"))
    sign, logdet = cr.linalg.slogdet(SQUARE)
    np.testing.assert_allclose((sign.data, logdet.data), np.linalg.slogdet(SQUARE))
    np.testing.assert_allclose(cr.linalg.cholesky(SQUARE @ SQUARE.T + np.eye(4), upper=True).data,
                               np.linalg.cholesky(SQUARE @ SQUARE.T + np.eye(4), upper=True))


def test_wide_qr_is_differentiable():
    fn = lambda v: cr.sum(cr.linalg.qr(v)[1] ** 2 * np.arange(5.0))  # noqa: E731
    cr.check_grads(fn, (WIDE,), order=1)


def test_eig_with_a_real_spectrum():
    basis = B + 3 * np.eye(4)
    a = basis @ np.diag([-2.0, -0.5, 1.0, 2.5]) @ np.linalg.inv(basis)
    w, v = cr.linalg.eig(a)
    np.testing.assert_allclose(np.sort(w.data), [-2.0, -0.5, 1.0, 2.5], atol=1e-10)
    np.testing.assert_allclose(a @ v.data, v.data * w.data, atol=1e-10)
    fn = lambda m, la, x: m.sum(la.eig(x)[0] ** 2) + m.sum(la.eig(x)[1] ** 2 * W4)  # noqa: E731
    ours = cr.grad(lambda x: fn(cr, cr.linalg, x))(a)
    theirs = autograd.grad(lambda x: fn(anp, anp.linalg, x))(a)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_eig_with_complex_eigenvalues_is_a_clear_error():
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="complex eigenvalues.*eigh"):
        cr.linalg.eig(rotation)


def test_full_matrices_of_a_non_square_matrix_have_no_gradient():
    t = cr.tensor(TALL, requires_grad=True)
    with pytest.raises(ValueError, match="full_matrices=False"):
        cr.linalg.svd(t)
    u, s, vh = cr.linalg.svd(TALL)  # without a gradient: NumPy's full factors
    assert u.shape == (5, 5) and vh.shape == (3, 3)
    with pytest.raises(ValueError, match="mode='reduced'"):
        cr.linalg.qr(t, mode="complete")


def test_repeated_eigenvalues_give_basis_free_gradients_and_warn_otherwise():
    a = np.diag([1.0, 1.0, 3.0])
    # λ1 + λ2 + 5·λ3 does not depend on the basis of the repeated pair: the gradient is
    # V diag(1, 1, 5) Vᵀ = diag(1, 1, 5) exactly, with no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cr.grad(lambda x: cr.sum(cr.linalg.eigvalsh(x) * np.array([1.0, 1.0, 5.0])))(a)
    np.testing.assert_allclose(g, np.diag([1.0, 1.0, 5.0]), atol=1e-12)
    # a function of the eigenvectors of the repeated pair depends on the basis: warned
    with pytest.warns(RuntimeWarning, match="not unique|non-unique"):
        cr.grad(lambda x: cr.sum(cr.linalg.eigh(x)[1][:, 0] * np.arange(3.0)))(a + 0.0)


def test_cholesky_of_a_matrix_that_is_not_positive_definite():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cr.linalg.cholesky(-np.eye(3))
