"""Tensor creation, dtypes, attributes, conversion and errors (API.md §1)."""

import threading

import numpy as np
import pytest

import chainrule as cr


def test_python_floats_become_default_dtype_and_arrays_keep_theirs():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(3.5).dtype == np.float32
    assert cr.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_
    cr.set_default_dtype(cr.float64)
    assert cr.tensor([1.0]).dtype == np.float64
    assert cr.zeros(2).dtype == np.float64


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 100.0
    assert t.data[0] == 1.0


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        cr.tensor([True], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        cr.arange(3).requires_grad_()


def test_non_numeric_and_unknown_dtype_errors_name_the_type():
    with pytest.raises(TypeError, match="str"):
        cr.tensor("abc")
    with pytest.raises(TypeError, match="dict"):
        cr.tensor({"a": 1})
    with pytest.raises(TypeError, match="dtype"):
        cr.tensor([1.0], dtype="not-a-dtype")
    with pytest.raises(TypeError, match="complex"):
        cr.tensor([1 + 2j])


def test_attributes_and_conversions():
    t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.is_leaf and t.requires_grad and t.grad is None
    assert t.T.shape == (3, 2)
    n = t.numpy()
    n[0, 0] = 50
    assert t.data[0, 0] == 1.0  # numpy() is a copy
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert np.asarray(t).shape == (2, 3)
    assert cr.tensor([2.5]).item() == 2.5
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    y = t * 2
    assert not y.is_leaf


def test_repr_looks_like_pytorch():
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True)) == (
        "tensor([1., 2.], requires_grad=True)")
    assert "dtype=float64" in repr(cr.tensor(np.array([1.0])))


def test_python_numbers_do_not_change_dtype():
    x = cr.tensor([1.0, 2.0])
    for y in (x + 1, 2 * x, x / 3, x ** 2, 1.5 - x, x * np.float64(2.0) if False else x * 2.0):
        assert y.dtype == np.float32
    x64 = cr.tensor(np.array([1.0, 2.0]))
    assert (x64 + 1.0).dtype == np.float64


def test_numpy_scalars_are_weak_like_python_numbers():
    # As PyTorch: x / np.sqrt(d) keeps float32 (NumPy alone would promote to float64),
    # in the operators, the functions, both argument orders, backward and forward mode.
    x = cr.tensor([1.0, 4.0], requires_grad=True)
    d = np.float64(4.0)
    outs = [x / np.sqrt(d), d * x, x - d, cr.power(x, d), d ** (x / 4), cr.maximum(x, d),
            cr.where(x > 2, x, np.float64(0.0)), cr.clip(x, np.float64(0.0), d),
            cr.arctan2(x, np.float32(1.0))]
    for out in outs:
        assert out.dtype == np.float32, out
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32
    np.testing.assert_allclose((x / np.sqrt(d)).data, [0.5, 2.0])
    _, tangent = cr.jvp(lambda t: t * np.float64(3.0), (np.float32([1.0, 2.0]),),
                        (np.float32([1.0, 1.0]),))
    assert tangent.dtype == np.float32 and tangent.tolist() == [3.0, 3.0]
    # A float64 tensor stays float64 beside a float32 scalar; NumPy scalars alone are untouched.
    assert (cr.tensor(np.array([1.0])) * np.float32(2.0)).dtype == np.float64
    assert cr.add(np.float32(1.0), np.float32(2.0)).dtype == np.float32


def test_float32_stays_float32_through_every_function():
    x = cr.tensor([[0.3, -0.2], [0.1, 0.4]], requires_grad=True)
    outs = [
        cr.exp(x), cr.log(cr.abs(x) + 1), cr.sqrt(cr.abs(x)), cr.sigmoid(x), cr.softplus(x),
        cr.tanh(x), cr.relu(x), cr.maximum(x, 0.0), cr.clip(x, -0.1, 0.1),
        cr.where(x > 0, x, 0.0), cr.sum(x, axis=0), cr.mean(x), cr.var(x), cr.std(x, axis=1),
        cr.prod(x), cr.max(x), cr.logsumexp(x, axis=1), cr.norm(x), cr.softmax(x),
        cr.log_softmax(x), x @ x, cr.einsum("ij,jk->ik", x, x), cr.linalg.inv(x + 1),
        cr.linalg.det(x + 1), cr.concatenate([x, x]), cr.stack([x, x]), cr.pad(x, 1),
        cr.tile(x, 2), cr.repeat(x, 2), x[[0, 0]], cr.arctan2(x, 1.0), x ** 1.5 if False else
        cr.abs(x) ** 1.5,
    ]
    for out in outs:
        assert out.dtype == np.float32, out
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_factories():
    assert cr.zeros(2, 3).shape == (2, 3)
    assert cr.ones((4,)).data.sum() == 4
    assert cr.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert cr.arange(5).dtype == np.int64
    assert cr.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert cr.linspace(0, 1, 5).data[-1] == 1.0
    assert np.array_equal(cr.eye(3).data, np.eye(3))
    x = cr.randn(3, 4, requires_grad=True)
    assert x.requires_grad and x.dtype == np.float32
    cr.manual_seed(5)
    a = cr.rand(3).data
    cr.manual_seed(5)
    assert np.array_equal(a, cr.rand(3).data)
    assert cr.zeros_like(x).shape == x.shape and cr.ones_like(x).dtype == np.float32


def test_comparisons_give_boolean_tensors_without_grad():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    assert (x == 2.0).tolist() == [False, True, False]
    assert cr.isnan(cr.tensor([np.nan, 1.0])).tolist() == [True, False]
    assert cr.argmax(x).item() == 2


def test_no_grad_is_a_context_manager_a_decorator_and_per_thread():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @cr.no_grad()
    def f(v):
        return v * 3

    assert not f(x).requires_grad
    seen = []

    def worker():
        seen.append((x * 2).requires_grad)

    with cr.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == [True]  # the other thread still records


def test_a_thread_inside_no_grad_or_jvp_does_not_change_another_threads_mode():
    from chainrule.autodiff.graph import DEFAULT_MODE

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    inside = threading.Event()
    release = threading.Event()
    seen = {}
    before = DEFAULT_MODE[0]  # False only if some thread ended outside the default mode

    def in_no_grad():
        with cr.no_grad():
            inside.set()
            release.wait(10)
            seen["no_grad"] = (cr.sin(x).requires_grad, (x * 2).requires_grad)

    thread = threading.Thread(target=in_no_grad)
    thread.start()
    assert inside.wait(10)
    assert not DEFAULT_MODE[0]  # some thread left the default mode
    assert cr.sin(x).requires_grad and (x * 2).requires_grad  # this thread still records
    y = cr.sin(x) * 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.cos(x.data))
    release.set()
    thread.join()
    assert seen["no_grad"] == (False, False)
    assert DEFAULT_MODE[0] == before  # that thread is back in the default mode

    # The same with a forward-mode level open in another thread.
    inside.clear()
    release.clear()

    def in_jvp():
        def f(v):
            inside.set()
            release.wait(10)
            return cr.sin(v)

        seen["jvp"] = cr.jvp(f, (np.array([0.5]),), (np.array([1.0]),))[1]

    thread = threading.Thread(target=in_jvp)
    thread.start()
    assert inside.wait(10)
    assert not DEFAULT_MODE[0]
    assert cr.tanh(x)._tangent is None and cr.tanh(x).requires_grad
    release.set()
    thread.join()
    np.testing.assert_allclose(seen["jvp"], np.cos([0.5]))
    assert DEFAULT_MODE[0] == before


def test_no_grad_and_enable_grad_decorate_without_parentheses_too():
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad
    def f(v):
        return v * 3

    @cr.enable_grad
    def g(v):
        return v * 3

    assert f.__name__ == "f" and not f(x).requires_grad
    with cr.no_grad():
        assert g(x).requires_grad
    assert (x * 2).requires_grad  # the mode is restored after the call
    with pytest.raises(TypeError, match="no_grad"):
        cr.no_grad(3)


def test_shape_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5"):
        cr.ones(3, 4) @ cr.ones(5, 2)
    with pytest.raises(ValueError, match=r"add: .*\(3,\).*\(4,\)"):
        cr.ones(3) + cr.ones(4)
    with pytest.raises(ValueError, match="reshape"):
        cr.ones(6).reshape(4, 2)


def test_methods_delegate_to_functions():
    x = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert x.sum(axis=0).tolist() == [4.0, 2.0]
    assert x.reshape(4).shape == (4,) and x.reshape((1, 4)).shape == (1, 4)
    assert x.transpose().tolist() == x.T.tolist()
    assert x.abs().max().item() == 4.0
    assert x.flatten().shape == (4,)
    assert x.astype(cr.float64).dtype == np.float64
    assert x.mean(axis=1, keepdims=True).shape == (2, 1)


def test_non_numeric_operand_is_a_type_error_naming_the_op():
    with pytest.raises(TypeError, match=r"add: .*str"):
        cr.tensor([1.0]) + "a"


def test_numpy_functions_on_tensors_stay_differentiable():
    a = np.array([0.5, 1.0])
    x = cr.tensor(a, requires_grad=True)
    y = np.sum(np.sin(x) * np.array([2.0, 3.0]) + np.exp(x), axis=0)
    assert isinstance(y, cr.Tensor)
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.cos(a) * [2.0, 3.0] + np.exp(a))
    assert np.shape(x) == (2,) and np.concatenate([x, x]).shape == (4,)
    assert isinstance(np.array([1.0, 2.0]) * x, cr.Tensor)


def test_numpy_ufunc_forms_that_chainrule_cannot_differentiate_say_what_to_do():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"np.add.reduce .*cr.sum"):
        np.add.reduce(x)
    with pytest.raises(TypeError, match=r"np.sin with out="):
        np.sin(x, out=np.zeros(2))


def test_numpy_scalars_keep_their_dtype_and_random_dtypes_are_float():
    assert cr.tensor(np.float64(1.0)).dtype == np.float64
    assert cr.tensor(np.float32(1.0)).dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        cr.randn(2, dtype=cr.int64)


def test_rng_state_round_trip_reproduces_samples():
    cr.manual_seed(3)
    cr.rand(5)
    state = cr.get_rng_state()
    first = cr.randn(4).data
    cr.rand(7)
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(4).data, first)
    with pytest.raises(ValueError, match="get_rng_state"):
        cr.set_rng_state({"nonsense": 1})


def test_pytorch_dim_keyword_gets_a_hint_to_use_axis():
    with pytest.raises(TypeError, match=r"sum\(\) takes NumPy's axis=, not PyTorch's dim="):
        cr.ones(2, 3).sum(dim=0)


def test_np_array_copies_and_np_asarray_shares_as_for_ndarrays():
    t = cr.tensor(np.array([1.0, 2.0]))
    copied = np.array(t)
    copied[0] = 5.0
    assert t.data[0] == 1.0
    assert np.asarray(t) is t.data  # no copy asked for: the same memory, as torch.Tensor
    assert np.array(t, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="copy=False"):
        t.__array__(np.float32, copy=False)


def test_requires_grad_attribute_is_checked_as_in_pytorch():
    i = cr.tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        i.requires_grad = True
    x = cr.tensor(np.array([1.0, 2.0]))
    x.requires_grad = True  # a float leaf: fine
    y = x * 2
    with pytest.raises(RuntimeError, match="only leaf tensors can change it.*detach"):
        y.requires_grad = False
    assert y.requires_grad


def test_set_grad_enabled_works_as_a_call_a_block_and_a_decorator():
    x = cr.tensor(np.array([1.0]), requires_grad=True)
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert cr.is_grad_enabled() and (x * 2).requires_grad  # restored after the block
    cr.set_grad_enabled(False)  # a plain call takes effect at once
    try:
        assert not (x * 2).requires_grad
    finally:
        cr.set_grad_enabled(True)

    @cr.set_grad_enabled(False)
    def f(v):
        return v * 3

    assert cr.is_grad_enabled()  # decorating does not change the mode
    assert not f(x).requires_grad and (x * 3).requires_grad


def test_numpy_functions_without_a_chainrule_version_refuse_to_drop_a_gradient():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = cr.tensor(a, requires_grad=True)
    inv = np.linalg.inv(x)  # numpy.linalg names run cr.linalg's differentiable versions
    assert isinstance(inv, cr.Tensor) and inv.requires_grad
    np.testing.assert_allclose(inv.data, np.linalg.inv(a))
    assert isinstance(np.linalg.norm(x), cr.Tensor) and np.linalg.det(x).requires_grad
    with pytest.raises(TypeError, match="np.convolve has no differentiable chainrule version"):
        np.convolve(x[0], x[1])
    np.testing.assert_allclose(np.convolve(x.detach()[0], x.detach()[1]),
                               np.convolve(a[0], a[1]))  # detached: fine
    assert np.shape(x) == (2, 2) and np.argmax(x) == 3  # no floating result: no gradient lost


def test_one_element_tensors_format_and_index_as_python_numbers():
    assert f"{cr.tensor(2.5):.3f}" == "2.500"
    assert ["a", "b", "c"][cr.tensor(np.array(2))] == "c"
    with pytest.raises(TypeError, match="integer tensor with one element"):
        ["a", "b"][cr.tensor(1.0)]
    with pytest.raises(TypeError, match="one-element tensor"):
        f"{cr.tensor([1.0, 2.0]):.2f}"
    x = cr.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    (x.ravel() * x.copy().ravel()).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_reshape_method_takes_numpys_order():
    a = np.arange(6.0).reshape(2, 3)
    x = cr.tensor(a, requires_grad=True)
    y = x.reshape(3, 2, order="F")
    np.testing.assert_array_equal(y.data, a.reshape(3, 2, order="F"))
    w = np.arange(6.0).reshape(3, 2)
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w.reshape(2, 3, order="F"))


def test_numpy_keywords_chainrule_does_not_take_are_named_and_where_alone_gives_indices():
    x = cr.tensor(np.array([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    with pytest.raises(TypeError, match=r"np.sum on a chainrule Tensor runs cr.sum, which does "
                                        r"not take where="):
        np.sum(x, where=x.data > 0)
    assert np.dot(x, x, out=None).shape == (2, 2)  # None is NumPy's default: fine
    rows, cols = np.where(x > 0)  # the condition alone: indices, as NumPy
    np.testing.assert_array_equal(rows, [0, 1, 1])
    np.testing.assert_array_equal(cols, [0, 0, 1])
    with pytest.raises(TypeError, match="both x and y, or neither"):
        cr.where(x > 0, x)
