"""Reverse mode as PyTorch users expect it (API.md §1, gradient semantics)."""

import gc
import warnings
import weakref

import numpy as np
import pytest

import chainrule as cr


def f64(x, requires_grad=True):
    return cr.tensor(np.asarray(x, dtype=np.float64), requires_grad=requires_grad)


def test_gradients_accumulate_into_leaves_until_cleared():
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0]) + 3)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_assigned_grad_must_match_shape_and_dtype():
    x = f64([1.0, 2.0])
    x.grad = cr.tensor(np.array([0.5, 0.5]))  # right shape and dtype: accumulation adds to it
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.5, 3.5])
    with pytest.raises(RuntimeError, match=r"shape \(3,\), but the tensor has shape \(2,\)"):
        x.grad = cr.tensor(np.zeros(3))
    with pytest.raises(RuntimeError, match="dtype float32, but the tensor has dtype float64"):
        x.grad = cr.tensor(np.zeros(2, dtype=np.float32))
    with pytest.raises(TypeError, match="Tensor or None, got ndarray"):
        x.grad = np.zeros(2)
    np.testing.assert_allclose(x.grad.data, [3.5, 3.5])  # a refused assignment changes nothing


def test_non_leaf_grad_only_after_retain_grad():
    x = f64([1.0, 2.0])
    h = x * 2
    k = h * 3
    k.retain_grad()
    (k * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.data, 2 * k.data)
    np.testing.assert_allclose(x.grad.data, 2 * k.data * 6)


def test_backward_needs_gradient_for_non_scalar():
    y = f64([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="single-element"):
        y.backward()
    y.backward(cr.tensor(np.array([1.0, 10.0])))


def test_backward_twice_through_freed_graph_says_retain_graph():
    x = f64(2.0)
    y = cr.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = cr.exp(x) * x
    x.grad = None
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (np.exp(2) * 3))


def test_backward_on_tensor_without_graph_is_clear():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        cr.tensor([1.0]).sum().backward()


def test_create_graph_second_derivatives():
    x = f64(0.7)
    (g,) = cr.autodiff.backward.grad(cr.tanh(x), x, create_graph=True)
    (g2,) = cr.autodiff.backward.grad(g, x)
    t = np.tanh(0.7)
    np.testing.assert_allclose(g2.data, -2 * t * (1 - t**2))

    x = f64(1.3)
    y = x**3 * cr.sin(x)
    y.backward(create_graph=True)
    first = x.grad
    x.grad = None
    first.backward()
    s, c = np.sin(1.3), np.cos(1.3)
    np.testing.assert_allclose(x.grad.data, 6 * 1.3 * s + 6 * 1.3**2 * c - 1.3**3 * s)


def test_second_derivative_of_a_matmul_chain():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    x = f64(rng.standard_normal(3))
    # f = sum(tanh(A x)); grad = Aᵀ (1 - tanh²); Hessian = Aᵀ diag(-2 t (1 - t²)) A
    (g,) = cr.autodiff.backward.grad(cr.tanh(cr.tensor(A) @ x).sum(), x, create_graph=True)
    t = np.tanh(A @ x.data)
    np.testing.assert_allclose(g.data, A.T @ (1 - t**2))
    rows = [cr.autodiff.backward.grad(g[i], x, retain_graph=True)[0].data for i in range(3)]
    np.testing.assert_allclose(np.stack(rows), A.T @ np.diag(-2 * t * (1 - t**2)) @ A,
                               rtol=1e-10)


def test_detach_cuts_the_graph():
    x = f64([1.0, 2.0])
    y = (x * 2).detach() * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    assert not x.detach().requires_grad


def test_broadcasting_gradients_are_summed_back():
    a = f64(np.ones((3, 1)))
    b = f64(np.ones((1, 4)))
    c = f64(2.0)
    (a * b * c).sum().backward()
    np.testing.assert_allclose(a.grad.data, np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad.data, np.full((1, 4), 6.0))
    np.testing.assert_allclose(c.grad.data, 12.0)
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == ()


def test_repeated_advanced_indices_accumulate():
    x = f64([1.0, 2.0, 3.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 0.0, 1.0])
    y = f64(np.arange(6.0).reshape(2, 3))
    mask = cr.tensor(np.array([[True, False, True], [False, False, True]]))
    (y[mask] ** 2).sum().backward()
    np.testing.assert_allclose(y.grad.data, 2 * y.data * mask.data)


def test_setitem_is_differentiable_and_records_the_overwrite():
    w = f64([5.0, 6.0])
    x = cr.zeros(3, dtype=cr.float64)
    x[1:] = w * 2
    (x * x).sum().backward()
    np.testing.assert_allclose(w.grad.data, 2 * (2 * w.data) * 2)


def test_inplace_change_of_a_saved_value_raises_naming_the_op():
    x = f64([1.0, 2.0])
    w = f64([3.0, 3.0])
    h = x * 2
    y = cr.exp(h)  # exp saves its output; the multiply below reads h for w's gradient
    z = h * w
    h += 1
    with pytest.raises(RuntimeError, match="multiply.*in place.*add_"):
        z.sum().backward()
    y.sum().backward()  # exp's saved output was not touched: fine
    np.testing.assert_allclose(x.grad.data, np.exp(2 * np.array([1.0, 2.0])) * 2)
    x = f64([1.0, 2.0])
    h = x * 2
    scaled = h * 3  # d(h·3)/dh = 3 reads nothing of h: no guard needed (as PyTorch)
    halved = h / 2  # d(h/2)/dh = 1/2 neither
    h += 1
    (scaled + halved).sum().backward()
    np.testing.assert_allclose(x.grad.data, [7.0, 7.0])


def test_inplace_on_output_saved_by_its_op_still_gives_right_gradient():
    x = f64([0.5, 1.0])
    y = cr.exp(x)
    y *= 2  # y = 2 exp(x); exp's own saved output is kept as it was
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(x.data))


def test_inplace_keeps_earlier_consumers_on_the_old_value():
    x = f64([1.0, 2.0])
    a = x * 2
    b = a + 1  # add saves nothing: a's in-place change is allowed
    a.mul_(3)
    (b.sum() + a.sum()).backward()
    # d/dx [sum(2x + 1) + sum(6x)] = 2 + 6
    np.testing.assert_allclose(x.grad.data, [8.0, 8.0])


def test_inplace_on_leaf_requiring_grad_raises_except_under_no_grad():
    w = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    with cr.no_grad():
        w -= 0.5
        w[0] = 10.0
    np.testing.assert_allclose(w.data, [10.0, 1.5])
    assert w.is_leaf and w.requires_grad


def test_fill_and_zero_on_plain_tensors():
    t = cr.ones(3)
    t.fill_(2.0)
    assert t.tolist() == [2.0, 2.0, 2.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]


def test_million_operation_chain_runs_forward_and_backward():
    x = f64(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001
    y.backward()
    np.testing.assert_allclose(x.grad.data, 1.0000001**1_000_000, rtol=1e-9)


def test_graph_is_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = f64(np.ones(1000))
        y = cr.tanh(x * 2 + 1)
        node_ref = weakref.ref(y._node)
        out_ref = weakref.ref(y)
        del y
        assert out_ref() is None and node_ref() is None
        z = cr.exp(x).sum()
        z.backward()
        ref = weakref.ref(z._node)
        del z
        assert ref() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("fn", [cr.sigmoid, cr.softplus, cr.tanh])
def test_stable_elementwise_at_large_magnitudes(fn):
    x = cr.tensor(np.array([-1e4, -1e3, 0.0, 1e3, 1e4], dtype=np.float32), requires_grad=True)
    y = fn(x)
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))


def test_stable_softmax_family_at_large_magnitudes():
    for dtype in (np.float32, np.float64):
        x = cr.tensor(np.array([[1e3, -1e3, 5e2], [1e4, 1e4, -1e4]], dtype=dtype),
                      requires_grad=True)
        for out in (cr.softmax(x), cr.log_softmax(x), cr.logsumexp(x, axis=1)):
            w = cr.tensor(np.arange(out.size, dtype=dtype).reshape(out.shape))
            x.grad = None
            (out * w).sum().backward()
            assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))
        np.testing.assert_allclose(cr.logsumexp(x, axis=1).data, [1e3, 1e4 + np.log(2)],
                                   rtol=1e-6)
        np.testing.assert_allclose(cr.softplus(cr.tensor(np.array([1e3], dtype))).data, [1e3])


def test_gradient_conventions_at_kinks_follow_pytorch():
    x = f64([0.0, 0.0])
    (cr.relu(x).sum() + cr.abs(x).sum()).backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0])
    a, b = f64(1.0), f64(1.0)
    cr.maximum(a, b).backward()
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5
    m = f64([3.0, 1.0, 3.0])
    cr.max(m).backward()
    np.testing.assert_allclose(m.grad.data, [0.5, 0.0, 0.5])
    n = f64([0.0, 0.0])
    cr.norm(n).backward()
    np.testing.assert_allclose(n.grad.data, [0.0, 0.0])
    s = f64(0.0)
    cr.softplus(s).backward()
    assert s.grad.item() == 0.5
    p = f64([2.0, 0.0, 3.0])
    cr.prod(p).backward()
    np.testing.assert_allclose(p.grad.data, [0.0, 6.0, 0.0])


def test_std_pow_arctan2_gradients_at_degenerate_points_follow_pytorch():
    # std of a constant row: PyTorch's gradient is 0 there (not 0 * inf = nan); the other
    # row keeps (x - mean) / (n * std).
    a = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    x = f64(a)
    cr.std(x, axis=1).sum().backward()
    row = a[1]
    want = (row - row.mean()) / (row.size * row.std())
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0, 0.0], want])
    # d(0^y)/dy: 0 for y >= 0 (the limit), 0^y * log(0) = -inf for y < 0; same for a
    # scalar base and an array base.
    for base in (0.0, f64([0.0, 0.0, 0.0])):
        y = f64([-1.0, 0.0, 2.0])
        cr.power(base, y).sum().backward()
        np.testing.assert_array_equal(y.grad.data, [-np.inf, 0.0, 0.0])
    # arctan2 at the origin: d/dy = x / (x^2 + y^2) and d/dx = -y / (x^2 + y^2) are taken as 0
    # where x^2 + y^2 == 0 (also when it underflows); elsewhere the formula.
    yy, xx = f64([0.0, 1e-200, 1.0]), f64([0.0, 0.0, 2.0])
    cr.arctan2(yy, xx).sum().backward()
    np.testing.assert_array_equal(yy.grad.data, [0.0, 0.0, 2.0 / 5.0])
    np.testing.assert_array_equal(xx.grad.data, [0.0, 0.0, -1.0 / 5.0])


def test_p_norm_gradient_at_zero_entries_follows_pytorch():
    # d||x||_p/dx_i = sign(x_i) |x_i|^(p-1) / ||x||_p^(p-1); PyTorch takes 0 for a zero
    # vector, and (for p < 1, where |x|^p has an infinite slope at 0) for a zero entry.
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.0]])
    for p in (3.0, 1.5, 0.5):
        x = f64(a)
        cr.norm(x, ord=p, axis=1).sum().backward()
        row = a[1]
        nrm = np.sum(np.abs(row) ** p) ** (1 / p)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(row == 0, 0.0, np.sign(row) * np.abs(row) ** (p - 1) / nrm ** (p - 1))
        np.testing.assert_allclose(x.grad.data, [[0.0, 0.0, 0.0], want], rtol=1e-12)


def test_nan_inputs_pass_the_gradient_as_pytorch():
    # PyTorch masks a gradient only where the input is known to lose (relu: x <= 0;
    # maximum: the other side is larger), so a NaN input still receives its gradient.
    x = f64([np.nan, 1.0, 0.0, -1.0])
    cr.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 0.0, 0.0])
    for op in (cr.maximum, cr.minimum):
        a, b = f64([np.nan, 1.0, 2.0]), f64([1.0, np.nan, 2.0])
        op(a, b).sum().backward()
        np.testing.assert_array_equal(a.grad.data, [1.0, 1.0, 0.5])
        np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 0.5])


def test_no_zero_gradient_where_a_real_one_exists():
    x = f64([0.5, -0.3])
    y = cr.where(x > 0, x**2, cr.sin(x))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, np.cos(-0.3)])


def test_composites_var_std_norm_split_tile_take():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4))
    x = f64(a)
    np.testing.assert_allclose(cr.var(x, axis=0, ddof=1).data, a.var(axis=0, ddof=1))
    np.testing.assert_allclose(cr.std(x).data, a.std())
    for ord_ in (None, 1, np.inf, -np.inf, 3):
        np.testing.assert_allclose(cr.norm(x[0], ord=ord_).data, np.linalg.norm(a[0], ord_))
    for ord_ in (None, "fro", 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(cr.linalg.norm(x, ord=ord_).data, np.linalg.norm(a, ord_))
    parts = cr.split(x, [1, 3], axis=1)
    assert [p.shape for p in parts] == [(3, 1), (3, 2), (3, 1)]
    np.testing.assert_allclose(cr.tile(x, (2, 1)).data, np.tile(a, (2, 1)))
    np.testing.assert_allclose(cr.take(x, [0, 5]).data, np.take(a, [0, 5]))
    np.testing.assert_allclose(cr.repeat(x, 2, axis=0).data, np.repeat(a, 2, axis=0))
    np.testing.assert_allclose(cr.dot(x, x.T).data, a @ a.T)
    np.testing.assert_allclose(cr.outer(x[0], x[1]).data, np.outer(a[0], a[1]))
    np.testing.assert_allclose(cr.squeeze(cr.expand_dims(x, 0)).data, a)
    np.testing.assert_allclose(cr.swapaxes(x, 0, 1).data, a.T)
    b = rng.standard_normal((2, 3, 4))
    c = rng.standard_normal((5, 4, 2))
    np.testing.assert_allclose(cr.dot(f64(b), f64(c)).data, np.dot(b, c))


def test_var_and_std_without_degrees_of_freedom_warn_and_give_inf_or_nan_as_numpy():
    a = np.array([[1.0, 2.0], [3.0, 3.0]])
    for fn, np_fn in ((cr.var, np.var), (cr.std, np.std)):
        x = f64(a)
        with pytest.warns(RuntimeWarning, match=f"{fn.__name__}: ddof=2 leaves no degrees"):
            y = fn(x, axis=1, ddof=2)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np_fn(a, axis=1, ddof=2)  # [inf, nan]: NumPy divides by max(n-ddof, 0)
            np.testing.assert_array_equal(y.data, expected)
            y.sum().backward()
        assert not np.isfinite(x.grad.data).any()  # never a finite, silently wrong gradient
        with pytest.warns(RuntimeWarning, match="no degrees of freedom") as record:
            getattr(f64(a), fn.__name__)(ddof=5)  # the method form too
        assert record[0].filename == __file__  # the warning points at the caller's line


def test_zero_norm_counts_nonzeros_into_an_ndarray():
    # ord=0 counts the non-zero entries (NumPy); over every axis NumPy's sum gives a scalar,
    # which must still be wrapped as a 0-d array (item(), np.asarray, arithmetic all work).
    a = np.array([[1.0, 0.0, -2.0], [0.0, 0.0, 3.0]], dtype=np.float32)
    for v, axis in ((a.ravel(), None), (a, 0), (a, 1)):
        n = cr.norm(cr.tensor(v), ord=0, axis=axis)
        assert isinstance(n.data, np.ndarray)
        assert n.dtype == np.float32
        np.testing.assert_array_equal(n.data, np.count_nonzero(v, axis=axis))
    n = cr.linalg.norm(cr.tensor(a[0]), ord=0)
    assert n.item() == 2.0 and (n + 1).item() == 3.0


def test_pad_with_a_nonzero_constant_is_affine_in_both_modes():
    # pad(x, c) = pad(x, 0) + c on the border: the derivative is 1 inside and 0 on the
    # border whatever c is, in reverse and in forward mode (the tangent is padded with 0).
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    widths = ((1, 0), (0, 2))
    for c in (0.0, 2.5, ((1.0, 2.0), (3.0, 4.0))):
        y = cr.pad(f64(a), widths, constant_values=c)
        np.testing.assert_array_equal(y.data, np.pad(a, widths, constant_values=c))
        inside = np.pad(np.ones_like(a), widths)
        _, tangent = cr.jvp(lambda x, c=c: cr.pad(x, widths, constant_values=c), (a,),
                            (np.ones_like(a),))
        np.testing.assert_array_equal(tangent, inside)
        x = f64(a)
        (cr.pad(x, widths, constant_values=c) * inside * 3.0).sum().backward()
        np.testing.assert_array_equal(x.grad.data, np.full_like(a, 3.0))
    f32 = cr.pad(cr.tensor(a.astype(np.float32)), 1, constant_values=7.0)
    assert f32.dtype == np.float32


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
def test_pad_modes_that_copy_elements_match_numpy_and_sum_gradients_over_copies(mode):
    a = np.random.default_rng(5).standard_normal((3, 4))
    widths = ((2, 5), (0, 3))  # wider than the axis: reflect and wrap go round again
    y = cr.pad(f64(a), widths, mode=mode)
    np.testing.assert_array_equal(y.data, np.pad(a, widths, mode=mode))
    # The gradient of sum(w * pad(x)) is, per element of x, the sum of w over its copies:
    # counted independently by padding the flat positions with NumPy.
    w = np.random.default_rng(6).standard_normal(y.shape)
    x = f64(a)
    (cr.pad(x, widths, mode=mode) * w).sum().backward()
    source = np.pad(np.arange(a.size).reshape(a.shape), widths, mode=mode)
    expected = np.bincount(source.ravel(), weights=w.ravel(), minlength=a.size)
    np.testing.assert_allclose(x.grad.data, expected.reshape(a.shape), rtol=1e-12)
    cr.check_grads(lambda v: cr.pad(v, widths, mode=mode), (a,), order=2)
    assert cr.pad(cr.tensor(a.astype(np.float32)), 1, mode=mode).dtype == np.float32


def test_pad_refuses_what_numpy_refuses_with_a_clear_message():
    x = f64([[1.0, 2.0]])
    with pytest.raises(ValueError, match="mode='mean' is not supported; use one of"):
        cr.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="cannot pad axis 0 of length 0"):
        cr.pad(cr.zeros(0, 2), 1, mode="reflect")
    with pytest.raises(ValueError, match="constant_values is for mode='constant'"):
        cr.pad(x, 1, mode="edge", constant_values=3.0)
    with pytest.raises(ValueError, match="non-negative"):
        cr.pad(x, -1)


def test_clip_with_tensor_bounds_differentiates_the_bounds_too():
    # As torch.clamp with tensor bounds: x gets g where a_min <= x <= a_max, a_min where
    # x < a_min, a_max where the result is a_max; the value is NumPy's clip.
    x, lo, hi = f64([0.0, 1.0, 2.0, 3.0]), f64([1.0, 1.0, 1.0, 1.0]), f64(2.5)
    g = np.array([1.0, 2.0, 3.0, 4.0])
    y = cr.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(x.data, lo.data, hi.data))
    (y * g).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 3.0, 0.0])
    np.testing.assert_array_equal(lo.grad.data, [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.data, 4.0)
    plain = cr.clip(cr.tensor(np.float32([0.0, 5.0])), cr.tensor(np.float32(3.0)), 1.0)
    np.testing.assert_array_equal(plain.data, np.clip([0.0, 5.0], 3.0, 1.0))
    assert plain.dtype == np.float32


def test_einsum_accepts_numpys_optimize_and_its_sublist_form():
    rng = np.random.default_rng(4)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    for optimize in (False, True, "optimal"):
        y = cr.einsum("ij,jk,k->i", f64(a), f64(b), f64(c), optimize=optimize)
        np.testing.assert_allclose(y.data, a @ b @ c)
    np.testing.assert_allclose(cr.einsum(f64(a), [0, 1], f64(b), [1, 2], [0, 2]).data, a @ b)


def test_inplace_under_no_grad_writes_the_buffer_and_still_guards_saved_values():
    w = f64([1.0, 2.0])
    buffer = w.data
    with cr.no_grad():
        w -= 0.5 * cr.tensor(np.array([2.0, 2.0]))
    assert w.data is buffer  # the optimizer's update happens in place
    np.testing.assert_allclose(w.data, [0.0, 1.0])
    x = f64([1.0, 2.0])
    h = x * 2
    z = h * h
    with cr.no_grad():
        h *= 3
    with pytest.raises(RuntimeError, match="multiply.*in place.*mul_"):
        z.sum().backward()
    with pytest.raises(ValueError, match=r"sub_ .*shape \(2,\)"), cr.no_grad():
        w -= cr.ones(3, 2, dtype=cr.float64)


def test_version_checks_hold_across_updates_between_graphs():
    # The sweep skips the check for nodes newer than the newest in-place change; a graph
    # recorded after an update is fine, one recorded before the next update must raise.
    w = f64([1.0, 2.0])
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        np.testing.assert_allclose(w.grad.data, 2 * w.data)
        w.grad = None
        with cr.no_grad():
            w -= 0.1 * w
    stale = (w * w).sum()
    fresh_input = f64([3.0])
    fresh = (fresh_input * fresh_input).sum()  # recorded before the change below
    with cr.no_grad():
        w *= 2
    fresh.backward()  # its own inputs did not change: no error
    np.testing.assert_allclose(fresh_input.grad.data, [6.0])
    with pytest.raises(RuntimeError, match="multiply.*in place.*mul_"):
        stale.backward()


def test_leaf_gradient_has_the_leafs_memory_order():
    w = f64(np.arange(6.0).reshape(2, 3))
    x = f64(np.ones((4, 3)), requires_grad=False)
    (x @ w.T).sum().backward()  # the gradient arrives through a transpose
    assert w.grad.data.flags.c_contiguous
    np.testing.assert_allclose(w.grad.data, np.full((2, 3), 4.0))


def test_matmul_with_transposed_operands_gives_right_gradients_in_the_leafs_layout():
    rng = np.random.default_rng(11)
    a, w, u = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    x, W = f64(a), f64(w)
    ((x @ W.T) * u).sum().backward()  # b of matmul is a transposed view
    np.testing.assert_allclose(W.grad.data, u.T @ a, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, u @ w, rtol=1e-12)
    assert W.grad.data.flags.c_contiguous
    x, W = f64(a.T.copy()), f64(w)
    ((x.T @ W.T) * u).sum().backward()  # both operands transposed views
    np.testing.assert_allclose(x.grad.data, (u @ w).T, rtol=1e-12)
    np.testing.assert_allclose(W.grad.data, u.T @ a, rtol=1e-12)
    assert x.grad.data.flags.c_contiguous and W.grad.data.flags.c_contiguous


def test_leaf_gradients_never_share_memory_with_each_other_or_the_callers_arrays():
    # The engine keeps an unshared cotangent as a leaf's .grad without copying it; it must
    # copy whenever anything else holds the array (or its memory).
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()  # add hands the same cotangent to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    seed = np.array([1.0, 1.0])
    x = f64([5.0, 6.0])
    x.backward(gradient=seed)  # the root is the leaf itself
    assert not np.shares_memory(x.grad.data, seed)
    v = f64([[1.0, 2.0], [3.0, 4.0]])
    seed4 = np.ones(4)
    v.reshape(4).backward(gradient=seed4)  # reshape's VJP gives a view of seed4
    assert not np.shares_memory(v.grad.data, seed4)
    seed_tensor = cr.tensor(np.array([2.0, 2.0]))
    y = f64([5.0, 6.0])
    (y * 1.0).backward(gradient=seed_tensor)  # multiply by 1 may return the cotangent as is
    assert not np.shares_memory(y.grad.data, seed_tensor.data)
    z = f64([1.0, 2.0])
    out = z * 3.0
    out.backward(gradient=np.ones(2), retain_graph=True)
    first = z.grad.data.copy()
    out.backward(gradient=np.ones(2))  # accumulates in place into the adopted buffer
    np.testing.assert_array_equal(z.grad.data, 2 * first)


def test_a_change_while_an_op_is_being_recorded_is_seen_or_caught(monkeypatch):
    # Another thread may change a tensor in place at any moment. Force the change to land
    # as an op draws its node's number: the op must then compute with the new values (and
    # differentiate them), or backward must raise; never mix the two.
    import chainrule.autodiff.graph as graph

    real_next = graph._next_seq
    w = f64([0.5, 1.0])
    x = w * 1.0
    armed = [True]

    def next_seq_with_a_change():
        if armed[0]:
            armed[0] = False
            with cr.no_grad():
                x.detach().mul_(10.0)  # "the other thread"
        return real_next()

    monkeypatch.setattr(graph, "_next_seq", next_seq_with_a_change)
    y = cr.sin(x)
    monkeypatch.setattr(graph, "_next_seq", real_next)
    np.testing.assert_allclose(y.data, np.sin([5.0, 10.0]))  # the forward saw the change
    y.sum().backward()
    np.testing.assert_allclose(w.grad.data, np.cos([5.0, 10.0]))


def test_a_primitive_guards_only_the_values_its_rules_read():
    from chainrule.autodiff.primitive import Primitive

    # f(x, y, z) = x·y + z: the VJP for x reads y, the one for y reads x, the one for z
    # reads nothing. Only what the gradients being computed read is guarded.
    f = Primitive("xy_plus_z_for_test", lambda x, y, z: x * y + z,
                  vjp=(lambda g, ans, x, y, z: g * y, lambda g, ans, x, y, z: g * x,
                       lambda g, ans, x, y, z: g),
                  reads=((1,), (0,), ()), register=False)
    x, y, z = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False), f64([5.0, 6.0])
    out = f(x, y, z)  # x's gradient reads y
    with cr.no_grad():
        x.detach().mul_(2.0)  # x itself is not read: fine
    out.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(z.grad.data, [1.0, 1.0])
    with cr.no_grad():
        y.mul_(2.0)  # y is read for x's gradient
    with pytest.raises(RuntimeError, match="xy_plus_z_for_test.*in place.*mul_"):
        out.sum().backward()


def test_views_share_the_version_counter_of_what_they_show():
    # reshape / transpose / broadcast_to may return NumPy views: an in-place change through
    # the base or the view must make a backward that saved the other raise (as PyTorch).
    x = f64([[1.0, 2.0]])
    W = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x @ W.T  # matmul saves the view W.T (it reads it for x's gradient)
    with cr.no_grad():
        W -= 100.0  # an optimizer step before backward
    with pytest.raises(RuntimeError, match="matmul.*in place.*sub_"):
        y.sum().backward()

    c = cr.tensor(np.array([1.0, 2.0, 3.0, 4.0]))  # a constant
    w = f64(np.ones((2, 2)))
    z = (w * c.reshape(2, 2)).sum()  # w's gradient reads the view
    c += 100.0
    with pytest.raises(RuntimeError, match="multiply.*in place.*add_"):
        z.backward()


def test_a_view_of_a_leaf_that_requires_grad_cannot_be_changed_in_place_while_recording():
    x = f64([1.0, 2.0, 3.0, 4.0])
    v = x.reshape(2, 2)
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        v += 10.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0, 4.0])  # nothing changed
    with cr.no_grad():
        v += 10.0  # allowed, as for the leaf itself (it changes the leaf)
    np.testing.assert_array_equal(x.data, [11.0, 12.0, 13.0, 14.0])


def test_a_saved_output_changed_through_a_view_or_detach_makes_backward_raise():
    for share in (lambda t: cr.expand_dims(t, 0), lambda t: t.detach()):
        x = f64([0.5, 1.0])
        y = cr.exp(x)  # exp saves its output
        other = share(y)
        with cr.no_grad():
            other *= 0.0
        with pytest.raises(RuntimeError, match="exp.*output of exp was changed in place"):
            y.sum().backward()
    x = f64([0.5, 1.0])
    y = cr.exp(x)
    y *= 2.0  # through y itself: exp keeps a snapshot, the gradient is right
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([0.5, 1.0]))
    x = f64([0.5, 1.0])
    y = cr.exp(x)
    d = y.detach()  # only detaching, no change: fine
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([0.5, 1.0]))
    assert d.shape == (2,)


def test_in_place_errors_for_read_only_views_and_impossible_casts_are_clear():
    b = cr.broadcast_to(cr.tensor(np.array([1.0, 2.0])), (3, 2))
    with pytest.raises(ValueError, match="read-only.*clone"):
        b += 1.0
    i = cr.tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"add_ \(\+=\): cannot store the result in place.*int64"):
        i += 1.5


def test_a_recorded_in_place_change_of_memory_a_view_shares_is_refused():
    # Recording the change would rebase one of the two tensors only: the other would show
    # the new values with the old history, and its gradient would be silently wrong.
    a, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    y = a * w
    v = y.reshape(2, 1)
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        v *= 2.0  # through the view: y's history would go stale
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        y *= 2.0  # through the base: v's history would
    np.testing.assert_array_equal(y.data, [3.0, 8.0])  # a refused change changes nothing
    (y * 2.0).sum().backward()  # the out-of-place form works
    np.testing.assert_array_equal(a.grad.data, [6.0, 8.0])

    buf = cr.zeros(2, 2, dtype=cr.float64)  # a constant whose view gets a recorded value
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        buf.T[0] = x * 3
    leaf = f64([1.0, 2.0])
    with cr.no_grad():
        view = leaf.reshape(2)
    with pytest.raises(RuntimeError, match="view"):
        view += x  # would change the leaf and lose x's contribution
    a2, w2 = f64([1.0, 2.0]), f64([3.0, 4.0])
    z = a2 * w2
    z *= 2.0  # no view of z: recorded as usual
    z.sum().backward()
    np.testing.assert_array_equal(w2.grad.data, [2.0, 4.0])
    a3 = f64([1.0, 2.0])
    h = a3 * w2
    h = h.reshape(2, 1)  # the base is gone: nothing else shows this memory
    h += 1.0
    h.sum().backward()
    np.testing.assert_array_equal(a3.grad.data, [3.0, 4.0])


def test_an_output_guard_survives_a_recorded_backward_that_viewed_the_output():
    a, W = f64([[0.5, 1.0]]), f64([[1.0], [2.0]])
    y = cr.exp(a)
    z1 = (y @ W).sum()
    z2 = (y * 2.0).sum()
    cr.autodiff.backward.grad(z1, [W], create_graph=True)  # its rules view y's saved output
    with cr.no_grad():
        y.detach().mul_(0.5)
    with pytest.raises(RuntimeError, match="output of exp was changed in place"):
        z2.backward()


def test_recorded_leaf_gradients_share_memory_with_nothing():
    seed = cr.tensor(np.array([1.0, 2.0, 3.0]))
    x = f64([0.0, 0.0, 0.0])
    x.backward(seed, create_graph=True)  # the root is the leaf: its .grad is the seed
    assert x.grad is not seed and not np.shares_memory(x.grad.data, seed.data)
    a, b = f64([1.0]), f64([2.0])
    (a + b).backward(create_graph=True)  # add hands the same cotangent to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    (a * 1.0).backward()
    np.testing.assert_array_equal(b.grad.data, [1.0])  # a's accumulation left b's alone
    np.testing.assert_array_equal(seed.data, [1.0, 2.0, 3.0])


def test_a_gradient_over_foreign_memory_is_copied_into_the_leaf():
    from chainrule.autodiff.primitive import Primitive

    foreign = bytearray(np.ones(2).tobytes())  # memory no ndarray owns
    f = Primitive("foreign_grad_for_test", lambda x: x * 2.0,
                  vjp=lambda g, ans, x: np.frombuffer(foreign),
                  saves_args=False, saves_ans=False, register=False)
    x = f64([1.0, 2.0])
    f(x).sum().backward()
    x.grad.data[:] = 7.0
    np.testing.assert_array_equal(np.frombuffer(foreign), [1.0, 1.0])


def test_numpy_functions_that_write_in_place_refuse_tensors_and_tuple_results_work():
    y = cr.exp(f64([0.5, 1.0]))
    with pytest.raises(TypeError, match="np.copyto would change a Tensor's values"):
        np.copyto(y, 0.0)
    with pytest.raises(TypeError, match="np.fill_diagonal"):
        np.fill_diagonal(cr.tensor(np.ones((2, 2))), 0.0)
    c = cr.tensor(np.array([[2.0, 0.0], [0.0, 1.0]]))  # no gradient: NumPy's tuples come back
    u, s, vh = np.linalg.svd(c)
    np.testing.assert_allclose(s, [2.0, 1.0])
    counts, _ = np.histogram(c, bins=2)
    assert counts.sum() == 4
