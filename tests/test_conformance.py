"""NumPy 2 conformance of the NumPy-named functions, and their gradients at edge cases.

Each test compares with an independent result: NumPy itself for values, shapes and errors;
closed-form gradients, central differences (``cr.check_grads``) or the `autograd` library for
derivatives.
"""

import tracemalloc

import numpy as np
import pytest
from numpy.exceptions import AxisError

import chainrule as cr

RNG = np.random.default_rng(31)


def f64(a, requires_grad=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# ----- 1. einsum: upper-case subscripts ---------------------------------------------------------


@pytest.mark.parametrize("subscripts,shapes", [
    ("Ab,bC", [(2, 3), (3, 4)]),           # implicit output: NumPy's 'AC'
    ("aB", [(2, 3)]),                       # implicit: 'Ba' (upper case sorts first)
    ("...,A->...", [(2, 3), (2,)]),         # 'A' must not stand for '...'
    ("...A,AB->...B", [(2, 3, 4), (4, 5)]),
    ("Zi,...Y->...iZY", [(2, 3), (4, 1, 5)]),
    ("iI,Ij", [(2, 3), (3, 2)]),
])
def test_einsum_upper_case_matches_numpy_and_differentiates(subscripts, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    out = cr.einsum(subscripts, *[cr.tensor(a) for a in arrays])
    expected = np.einsum(subscripts, *arrays)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    cr.check_grads(lambda *xs: cr.einsum(subscripts, *xs), tuple(arrays), order=2)


def test_einsum_ellipsis_needs_free_letters():
    used = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"  # 51 of the 52 letters
    big = np.ones((1,) * len(used))
    # '...' of 1 axis still fits (only 'Z' is free) ...
    out = cr.einsum(f"...,{used}->...", cr.tensor(np.array([2.0])), cr.tensor(big))
    np.testing.assert_allclose(out.data, np.einsum(f"...,{used}->...", np.array([2.0]), big))
    # ... '...' of 2 axes does not.
    with pytest.raises(ValueError, match="52 letters"):
        cr.einsum(f"...,{used}->...", cr.tensor(np.ones((1, 1))), cr.tensor(big))
    with pytest.raises(ValueError, match="not a subscript letter"):
        cr.einsum("i1,i", cr.tensor(np.ones((2, 2))), cr.tensor(np.ones(2)))


# ----- 2. transpose: axes of mixed sign, validation ---------------------------------------------


@pytest.mark.parametrize("axes", [(-1, 0, 1), (2, -3, 1), (-2, -1, -3), (1, 0, 2)])
def test_transpose_mixed_sign_axes_gradient_is_the_inverse_permutation(axes):
    x = RNG.standard_normal((2, 3, 4))
    t = f64(x)
    y = cr.transpose(t, axes)
    expected = np.transpose(x, axes)
    np.testing.assert_array_equal(y.data, expected)
    w = RNG.standard_normal(expected.shape)
    (y * cr.tensor(w)).sum().backward()
    # d/dx sum(w * transpose(x)) = w moved back: the inverse permutation of the normalised axes
    perm = [a % 3 for a in axes]
    np.testing.assert_array_equal(t.grad.data, np.transpose(w, np.argsort(perm)))
    t2 = f64(x)
    (t2.transpose(*axes) * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t2.grad.data, t.grad.data)


def test_transpose_rejects_bad_axes_as_numpy():
    x = cr.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="repeated axis"):
        cr.transpose(x, (0, 0))
    with pytest.raises(ValueError, match="repeated axis"):
        cr.transpose(x, (1, -1))
    with pytest.raises(AxisError):
        cr.transpose(x, (0, 2))
    with pytest.raises(ValueError, match="don't match"):
        cr.transpose(x, (0,))


# ----- 3. solve with batched A ------------------------------------------------------------------


def test_solve_batched_a_with_a_vector_b():
    a = RNG.standard_normal((4, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal(3)
    at, bt = f64(a), f64(b)
    x = cr.linalg.solve(at, bt)
    np.testing.assert_allclose(x.data, np.linalg.solve(a, b), rtol=1e-12)
    g = RNG.standard_normal((4, 3))
    (x * cr.tensor(g)).sum().backward()
    # dL/db = sum over the batch of A⁻ᵀ g; dL/dA = -(A⁻ᵀ g) xᵀ
    ainv_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    gb = np.einsum("nij,nj->ni", ainv_t, g)
    np.testing.assert_allclose(bt.grad.data, gb.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(at.grad.data, -gb[:, :, None] * x.data[:, None, :], rtol=1e-10)
    cr.check_grads(cr.linalg.solve, (a, b), order=2)


@pytest.mark.parametrize("a_shape,b_shape", [
    ((4, 3, 3), (3, 2)),      # NumPy 2: a matrix b, broadcast over A's batch
    ((2, 3, 3), (1, 3, 2)),
    ((3, 3), (2, 3, 2)),
    ((2, 1, 3, 3), (5, 3, 1)),
])
def test_solve_matrix_b_broadcasts_batches_as_numpy_2(a_shape, b_shape):
    a = RNG.standard_normal(a_shape) + 3 * np.eye(3)
    b = RNG.standard_normal(b_shape)
    x = cr.linalg.solve(cr.tensor(a), cr.tensor(b))
    expected = np.linalg.solve(a, b)
    assert x.shape == expected.shape
    np.testing.assert_allclose(x.data, expected, rtol=1e-12)
    cr.check_grads(cr.linalg.solve, (a, b), order=2)


def test_solve_shape_errors_are_clear_and_named_once():
    a = cr.tensor(np.eye(3)[None].repeat(4, axis=0))
    with pytest.raises(ValueError, match=r"b\[\.\.\., None\]") as info:
        cr.linalg.solve(a, cr.tensor(np.ones((4, 3))))  # a stack of vectors is b[..., None]
    assert str(info.value).count("solve:") == 1
    with pytest.raises(ValueError, match="square"):
        cr.linalg.solve(cr.tensor(np.ones((2, 3))), cr.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="length 3"):
        cr.linalg.solve(a, cr.tensor(np.ones(2)))


# ----- 4. concatenate(axis=None) ----------------------------------------------------------------


def test_concatenate_axis_none_flattens_and_differentiates():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    at, bt = f64(a), f64(b)
    y = cr.concatenate([at, bt], axis=None)
    np.testing.assert_array_equal(y.data, np.concatenate([a, b], axis=None))
    w = RNG.standard_normal(8)
    (y * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(at.grad.data, w[:6].reshape(2, 3))
    np.testing.assert_array_equal(bt.grad.data, w[6:])


# ----- 5. det: the gradient at singular matrices ------------------------------------------------


def _cofactors(a):
    """The cofactor matrix (= adj(A)ᵀ = d det/dA) by its definition, minor by minor."""
    n = a.shape[0]
    out = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            out[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


def _rank(n, r, rng):
    return rng.standard_normal((n, r)) @ rng.standard_normal((r, n))


SINGULAR = [np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((3, 3)), np.zeros((1, 1)),
            _rank(3, 2, RNG), _rank(4, 3, RNG), _rank(4, 2, RNG), _rank(5, 3, RNG),
            np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])]


@pytest.mark.parametrize("a", SINGULAR, ids=lambda a: f"{a.shape[0]}x{a.shape[0]}")
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(a):
    t = f64(a)
    cr.linalg.det(t).backward()
    np.testing.assert_allclose(t.grad.data, _cofactors(a), rtol=1e-9, atol=1e-12)
    # forward mode: d det(A)[H] = sum(cofactors ∘ H)
    h = RNG.standard_normal(a.shape)
    _, tangent = cr.jvp(cr.linalg.det, (a,), (h,))
    np.testing.assert_allclose(tangent, np.sum(_cofactors(a) * h), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("a", SINGULAR, ids=lambda a: f"{a.shape[0]}x{a.shape[0]}")
def test_det_second_derivative_at_singular_matrices(a):
    n = a.shape[0]
    h = RNG.standard_normal((n, n))
    w = RNG.standard_normal((n, n))
    eps = 1e-6
    numeric = (_cofactors(a + eps * h) - _cofactors(a - eps * h)) / (2 * eps)
    # forward over reverse: the derivative of the gradient along h
    _, hvp = cr.jvp(cr.grad(cr.linalg.det), (a,), (h,))
    np.testing.assert_allclose(hvp, numeric, rtol=1e-6, atol=1e-7)
    # reverse over reverse: d/dA <grad det(A), w>
    got = cr.grad(lambda x: cr.sum(cr.grad(cr.linalg.det)(x) * cr.tensor(w)))(a)
    np.testing.assert_allclose(np.sum(got * h), np.sum(numeric * w), rtol=1e-6, atol=1e-7)


def test_det_gradient_batch_with_singular_and_regular_matrices():
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[2.0, 1.0], [0.5, 3.0]])])
    t = f64(a)
    cr.linalg.det(t).sum().backward()
    np.testing.assert_allclose(t.grad.data, np.stack([_cofactors(m) for m in a]), rtol=1e-12)


def test_det_gradient_near_singular_is_accurate():
    u, _ = np.linalg.qr(RNG.standard_normal((4, 4)))
    v, _ = np.linalg.qr(RNG.standard_normal((4, 4)))
    a = u @ np.diag([1.0, 0.7, 0.3, 1e-13]) @ v.T
    got = cr.grad(cr.linalg.det)(a)
    np.testing.assert_allclose(got, _cofactors(a), rtol=1e-8, atol=1e-14)
    h = RNG.standard_normal((4, 4))
    eps = 1e-6
    numeric = (_cofactors(a + eps * h) - _cofactors(a - eps * h)) / (2 * eps)
    _, hvp = cr.jvp(cr.grad(cr.linalg.det), (a,), (h,))
    np.testing.assert_allclose(hvp, numeric, rtol=1e-6, atol=1e-8)


def test_det_third_order_at_a_singular_matrix_says_it_is_unsupported():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(NotImplementedError, match="third"):
        cr.grad(lambda x: cr.sum(cr.grad(lambda y: cr.sum(cr.grad(cr.linalg.det)(y)))(x)))(a)
    # at an invertible matrix every order works
    cr.check_grads(cr.linalg.det, (np.array([[2.0, 1.0], [0.5, 3.0]]),), order=3)


# ----- 6. reductions of a 0-d tensor over axis 0 / -1 ----------------------------------------


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod", "logsumexp"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_reductions_of_a_0d_tensor_over_axis_minus_one(name, axis):
    # NumPy's sum, max, min, prod (and SciPy's logsumexp) take axis 0 or -1 of a 0-d array
    x = f64(2.5)
    y = getattr(cr, name)(x, axis=axis)
    assert y.shape == () and y.item() == pytest.approx(2.5)
    y.backward()
    assert x.grad.item() == pytest.approx(1.0)
    with pytest.raises(AxisError):
        getattr(cr, name)(x, axis=1)
    with pytest.raises(AxisError):  # as np.sum(np.array(2.5), axis=(0,))
        getattr(cr, name)(x, axis=(0,))


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_mean_var_std_of_a_0d_tensor_refuse_an_axis_as_numpy(name):
    for axis in (0, -1):
        with pytest.raises(AxisError):
            getattr(np, name)(np.array(2.5), axis=axis)
        with pytest.raises(AxisError):
            getattr(cr, name)(f64(2.5), axis=axis)
    assert getattr(cr, name)(f64(2.5)).shape == ()


def test_reduction_axis_errors_are_numpy_axis_errors():
    x = cr.tensor(np.zeros((2, 3)))
    with pytest.raises(AxisError) as info:
        cr.sum(x, axis=2)
    assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)
    with pytest.raises(ValueError, match="duplicate"):
        cr.sum(x, axis=(0, -2))


# ----- 7. logsumexp / softmax / log_softmax over an empty axis ----------------------------------


def test_logsumexp_of_an_empty_axis_is_minus_inf():
    x = f64(np.zeros((0, 3)))
    y = cr.logsumexp(x, axis=0)
    np.testing.assert_array_equal(y.data, np.full(3, -np.inf))
    y.backward(cr.tensor(np.ones(3)))
    assert x.grad.shape == (0, 3)
    z = cr.logsumexp(f64(np.zeros((0, 3))))
    assert z.shape == () and z.item() == -np.inf
    k = cr.logsumexp(f64(np.zeros((2, 0))), axis=1, keepdims=True)
    np.testing.assert_array_equal(k.data, np.full((2, 1), -np.inf))
    # float32 stays float32
    assert cr.logsumexp(cr.tensor(np.zeros((0, 2), np.float32)), axis=0).dtype == np.float32


@pytest.mark.parametrize("fn", [cr.softmax, cr.log_softmax])
@pytest.mark.parametrize("shape,axis", [((0, 3), 0), ((3, 0), 0), ((3, 0), -1)])
def test_softmax_of_an_empty_array_is_empty(fn, shape, axis):
    x = f64(np.zeros(shape))
    y = fn(x, axis=axis)
    assert y.shape == shape and y.dtype == np.float64
    y.backward(cr.tensor(np.zeros(shape)))
    assert x.grad.shape == shape


# ----- 8. *_like on Python lists --------------------------------------------------------------


@pytest.mark.parametrize("data", [[1.0, 2.0], [[1, 2]], 3.5, [[True], [False]]])
def test_like_factories_take_what_numpy_takes(data):
    for ours, theirs in ((cr.zeros_like, np.zeros_like), (cr.ones_like, np.ones_like)):
        got, want = ours(data), theirs(data)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got.data, want)
    got = cr.full_like(data, 7, dtype=cr.float64)
    np.testing.assert_array_equal(got.data, np.full_like(data, 7, dtype=np.float64))
    a = cr.tensor([1.0, 2.0])
    assert cr.ones_like([a, a]).shape == (2, 2)


# ----- 9. lists of Tensors are arrays ---------------------------------------------------------


def test_numpy_functions_stack_a_list_of_tensors_differentiably():
    av, bv = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    cases = [
        (lambda a, b: cr.sum([a, b]), lambda a, b: (np.ones(2), np.ones(2))),
        (lambda a, b: cr.sum(cr.mean((a, b), axis=0) * cr.tensor([1.0, 3.0])),
         lambda a, b: (np.array([0.5, 1.5]), np.array([0.5, 1.5]))),
        (lambda a, b: cr.max([a, b]), lambda a, b: (np.zeros(2), np.array([1.0, 0.0]))),
        (lambda a, b: cr.sum(cr.exp([a, b])), lambda a, b: (np.exp(a), np.exp(b))),
        (lambda a, b: cr.sum(cr.add([a, b], 1.0)), lambda a, b: (np.ones(2), np.ones(2))),
        (lambda a, b: cr.sum(cr.multiply(cr.tensor([[2.0], [5.0]]), [a, b])),
         lambda a, b: (np.full(2, 2.0), np.full(2, 5.0))),
        (lambda a, b: cr.sum([[a, b], [b, b]]), lambda a, b: (np.ones(2), np.full(2, 3.0))),
        (lambda a, b: cr.sum(cr.matmul([a, b], b)), lambda a, b: (b, a + 2 * b)),
        (lambda a, b: cr.sum(cr.einsum("ij->j", [a, b]) * b), lambda a, b: (b, a + 2 * b)),
        (lambda a, b: cr.sum(cr.transpose([a, b]) * cr.tensor([[1.0, 2.0], [3.0, 4.0]])),
         lambda a, b: (np.array([1.0, 3.0]), np.array([2.0, 4.0]))),
    ]
    for k, (f, grads) in enumerate(cases):
        a, b = f64(av), f64(bv)
        y = f(a, b)
        assert y.requires_grad, f"case {k} dropped the graph"
        y.backward()
        want_a, want_b = grads(av, bv)
        np.testing.assert_allclose(a.grad.data, want_a, err_msg=f"case {k}")
        np.testing.assert_allclose(b.grad.data, want_b, err_msg=f"case {k}")


def test_mean_of_a_list_of_losses_backpropagates():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    cr.mean([(a * a).sum(), (b * 2).sum()]).backward()
    np.testing.assert_allclose(a.grad.data, [1.0, 2.0])  # d/da (sum a²)/2 = a
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])
    # a list without Tensors is NumPy's business, as before
    np.testing.assert_allclose(cr.sum([1.0, 2.0]).data, 3.0)


# ----- 10. swapaxes out of range ----------------------------------------------------------------


@pytest.mark.parametrize("shape,axes", [((2, 3, 4), (1, 5)), ((2, 3, 4), (0, -4)), ((), (0, 0))])
def test_swapaxes_out_of_range_raises_numpy_axis_error(shape, axes):
    with pytest.raises(AxisError) as ours:
        cr.swapaxes(cr.tensor(np.zeros(shape)), *axes)
    with pytest.raises(AxisError) as theirs:
        np.swapaxes(np.zeros(shape), *axes)
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, ValueError) and isinstance(ours.value, IndexError)


def test_swapaxes_negative_axes_and_gradient():
    x = RNG.standard_normal((2, 3, 4))
    t = f64(x)
    y = cr.swapaxes(t, -1, 0)
    np.testing.assert_array_equal(y.data, np.swapaxes(x, -1, 0))
    w = RNG.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.swapaxes(w, -1, 0))


# ----- 11. norm: dimensions and axes as NumPy ---------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"ord": 1}, {"ord": np.inf}, {"ord": 3}, {"ord": 2},
                                    {"axis": (0, 1, 2)}, {"ord": 1, "axis": (0, 1, 2)},
                                    {"axis": (0, 0)}])
def test_norm_raises_where_numpy_does(kwargs):
    x = np.arange(8.0).reshape(2, 2, 2) - 3
    with pytest.raises(ValueError):
        np.linalg.norm(x, **kwargs)
    with pytest.raises(ValueError):
        cr.norm(cr.tensor(x), **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"axis": (0, 2)}, {"ord": 1, "axis": 2},
                                    {"ord": np.inf, "axis": (1, 2)}])
def test_norm_of_3d_input_where_numpy_allows_it(kwargs):
    x = np.arange(8.0).reshape(2, 2, 2) - 3.5
    np.testing.assert_allclose(cr.norm(cr.tensor(x), **kwargs).data,
                               np.linalg.norm(x, **kwargs), rtol=1e-12)


# ----- 12. prod's gradient with zeros: exact, O(n) ----------------------------------------------


def _others(x):
    """d prod(x)/dx_i = prod of the others, one deletion at a time (independent, O(n²))."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("x", [
    [2.0, 0.0, 3.0, -1.5],
    [0.0, 2.0, 0.0, 3.0],
    [0.0, 0.0, 0.0, 1.5],
    [0.0],
    [0.0, 0.0],
])
def test_prod_gradient_with_zeros_is_exact(x):
    x = np.array(x)
    t = f64(x)
    cr.prod(t).backward()
    np.testing.assert_array_equal(t.grad.data, _others(x))
    cr.check_grads(cr.prod, (x,), order=2)


def test_prod_gradient_with_zeros_along_an_axis():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 4.0]])
    t = f64(x)
    cr.prod(t, axis=0).sum().backward()
    expected = np.stack([_others(col) for col in x.T], axis=1)
    np.testing.assert_array_equal(t.grad.data, expected)
    cr.check_grads(lambda v: cr.prod(v, axis=1), (x,), order=2)


def test_prod_gradient_with_a_zero_is_linear_in_memory():
    n = 5000  # an n × n intermediate would be 25 MB as booleans alone, 200 MB as floats
    x = np.full(n, 1.0001)
    x[5] = 0.0
    t = f64(x)
    y = cr.prod(t)
    tracemalloc.start()
    try:
        y.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"prod's backward used {peak} bytes for n={n}"
    expected = np.zeros(n)
    expected[5] = 1.0001 ** (n - 1)
    np.testing.assert_allclose(t.grad.data, expected, rtol=1e-12)


# ----- 13. small argument forms ----------------------------------------------------------------


def test_factories_take_numpy_argument_forms():
    for shape in (2.0, (2, 3.0)):
        with pytest.raises(TypeError):
            np.zeros(shape)
        with pytest.raises(TypeError):
            cr.zeros(shape)
        with pytest.raises(TypeError):
            cr.ones(shape)
    assert cr.zeros(np.int64(2)).shape == (2,)
    np.testing.assert_allclose(cr.linspace(0, 1, 4, endpoint=False).data,
                               np.linspace(0, 1, 4, endpoint=False))
    for args, kwargs in [((3,), {"k": 1}), ((3,), {"M": 4, "k": -1}), ((2, 4, 2), {})]:
        np.testing.assert_array_equal(cr.eye(*args, **kwargs).data, np.eye(*args, **kwargs))
    np.testing.assert_array_equal(cr.arange(stop=3).data, np.arange(stop=3))
    np.testing.assert_array_equal(cr.arange(start=1, stop=4).data, np.arange(1, 4))
    np.testing.assert_array_equal(cr.arange(1, 2, 0.25).data, np.arange(1, 2, 0.25))
    with pytest.raises(TypeError, match="stop"):
        cr.arange()


def test_sum_and_mean_take_dtype():
    x32 = np.array([[1.5, 2.25], [3.0, -0.5]], dtype=np.float32)
    t = cr.tensor(x32, requires_grad=True)
    s = cr.sum(t, axis=0, dtype=cr.float64)
    assert s.dtype == np.float64
    np.testing.assert_array_equal(s.data, np.sum(x32, axis=0, dtype=np.float64))
    (s * cr.tensor(np.array([1.0, 2.0]))).sum().backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_array_equal(t.grad.data, [[1.0, 2.0], [1.0, 2.0]])
    m = cr.mean(t, dtype=np.float64)
    assert m.dtype == np.float64 and m.item() == np.mean(x32, dtype=np.float64)
    # integer dtypes: NumPy's value, no gradient
    assert cr.sum(t, dtype=cr.int64).item() == np.sum(x32, dtype=np.int64)
    assert not cr.sum(t, dtype=cr.int64).requires_grad
    with pytest.raises(TypeError, match="keepdims"):
        cr.sum(t, 0, cr.float64)  # NumPy's third argument is dtype; ours is keepdims


@pytest.mark.parametrize("mode", ["wrap", "clip"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_take_modes_match_numpy_and_scatter_gradients(mode, axis):
    x = RNG.standard_normal((3, 4))
    idx = np.array([5, -7, 1, 2, 13])
    t = f64(x)
    y = cr.take(t, idx, axis=axis, mode=mode)
    expected = np.take(x, idx, axis=axis, mode=mode)
    np.testing.assert_array_equal(y.data, expected)
    w = RNG.standard_normal(expected.shape)
    (y * cr.tensor(w)).sum().backward()
    # the gradient of a gather: each weight added back at the element it was taken from
    ids = np.arange(x.size).reshape(x.shape)
    grad = np.zeros(x.size)
    np.add.at(grad, np.take(ids, idx, axis=axis, mode=mode).ravel(), w.ravel())
    np.testing.assert_allclose(t.grad.data, grad.reshape(x.shape))


def test_take_errors():
    with pytest.raises(ValueError, match="mode"):
        cr.take(cr.tensor(np.ones(3)), [0], mode="nearest")
    with pytest.raises(IndexError):
        cr.take(cr.tensor(np.ones(3)), [3])


def test_error_messages_name_the_op_once():
    with pytest.raises(ValueError) as info:
        cr.matmul(cr.tensor(2.0), cr.tensor(np.ones((2, 2))))
    assert str(info.value).startswith("matmul: ") and str(info.value).count("matmul:") == 1


def test_reshape_order_clip_aliases_and_empty_list_index():
    x = np.arange(6.0).reshape(2, 3)
    t = f64(x)
    y = cr.reshape(t, (3, 2), order="F")
    np.testing.assert_array_equal(y.data, np.reshape(x, (3, 2), order="F"))
    w = RNG.standard_normal((3, 2))
    (y * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.reshape(w, (2, 3), order="F"))
    with pytest.raises(ValueError, match="order"):
        cr.reshape(t, (6,), order="K")
    np.testing.assert_array_equal(cr.clip(cr.tensor(x), min=1, max=3).data, np.clip(x, 1, 3))
    with pytest.raises(TypeError, match="not both"):
        cr.clip(cr.tensor(x), 1, min=1)
    assert cr.tensor(x)[[]].shape == x[[]].shape == (0, 3)
