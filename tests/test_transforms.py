"""Function transforms: closed forms, HIPS autograd as an oracle, composition, dtypes, errors."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import backward as engine_backward
from chainrule.autodiff import jacobian as jacobian_module

# ----- closed forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-1.3, 0.0, 0.5, 2.0])
def test_derivatives_of_sin_to_order_four(x):
    expected = [np.cos(x), -np.sin(x), -np.cos(x), np.sin(x)]
    d = cr.sin
    for k in range(4):
        d = cr.grad(d)
        np.testing.assert_allclose(d(x), expected[k], rtol=1e-12, atol=1e-14,
                                   err_msg=f"order {k + 1}")


def test_polynomial_third_derivative():
    # d³/dx³ x⁵ = 60 x²
    f3 = cr.grad(cr.grad(cr.grad(lambda x: x**5)))
    np.testing.assert_allclose(f3(1.5), 60 * 1.5**2, rtol=1e-12)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose(rng):
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    f = lambda x: x @ (A @ x)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(f)(x), A + A.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cr.jacobian(cr.grad(f))(x), A + A.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cr.grad(f)(x), (A + A.T) @ x, rtol=1e-12)


@pytest.mark.parametrize("mode", ["auto", "rev", "fwd"])
def test_jacobian_of_linear_map_is_its_matrix(rng, mode):
    A = rng.standard_normal((3, 5))
    b = rng.standard_normal(3)
    J = cr.jacobian(lambda x: A @ x + b, mode=mode)(rng.standard_normal(5))
    np.testing.assert_allclose(J, A, rtol=1e-13, atol=1e-14)
    assert isinstance(J, np.ndarray) and J.dtype == np.float64


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_shapes_and_values_against_autograd(rng, mode):
    X = rng.standard_normal((2, 3))
    W = rng.standard_normal((3, 4))
    J = cr.jacobian(lambda X: cr.tanh(X @ W), mode=mode)(X)
    expected = autograd.jacobian(lambda X: anp.tanh(X @ W))(X)
    assert J.shape == (2, 4, 2, 3)
    np.testing.assert_allclose(J, expected, rtol=1e-12, atol=1e-13)


def test_grad_of_pytree_parameters_against_autograd(rng):
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    X = rng.standard_normal((5, 3))

    def loss(p, X):
        return cr.sum(cr.log(1 + cr.exp(X @ p["W"] + p["b"]))) / 5

    def loss_ag(p, X):
        return anp.sum(anp.log(1 + anp.exp(anp.dot(X, p["W"]) + p["b"]))) / 5

    g = cr.grad(loss)(params, X)
    expected = autograd.grad(loss_ag)(params, X)
    assert set(g) == {"W", "b"}
    for k in g:
        np.testing.assert_allclose(g[k], expected[k], rtol=1e-12)


def test_hessian_and_jvp_against_autograd(rng):
    x = rng.standard_normal(4)
    A = rng.standard_normal((4, 4))
    f = lambda x: cr.sum(cr.sin(A @ x) * x)  # noqa: E731
    f_ag = lambda x: anp.sum(anp.sin(anp.dot(A, x)) * x)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(f)(x), autograd.hessian(f_ag)(x), rtol=1e-11)
    v = rng.standard_normal(4)
    _, t = cr.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t, autograd.grad(f_ag)(x) @ v, rtol=1e-12)


# ----- value_and_grad, argnums, has_aux -----------------------------------------------------------


def test_argnums_tuple_and_negative():
    f = lambda x, y, z: x * y**2 + z  # noqa: E731
    gx, gz = cr.grad(f, argnums=(0, -1))(2.0, 3.0, 4.0)
    assert (gx, gz) == (9.0, 1.0)
    assert cr.grad(f, argnums=1)(2.0, 3.0, 4.0) == 12.0


def test_value_and_grad_with_aux():
    def f(x):
        y = cr.sum(x**2)
        return y, {"norm": cr.sqrt(y), "n": 3}

    (value, aux), g = cr.value_and_grad(f, has_aux=True)(np.array([3.0, 4.0]))
    assert value == 25.0 and aux["norm"] == 5.0 and aux["n"] == 3
    assert isinstance(aux["norm"], np.ndarray)
    np.testing.assert_array_equal(g, [6.0, 8.0])
    g2, aux2 = cr.grad(f, has_aux=True)(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(g2, [6.0, 8.0])
    assert aux2["n"] == 3


def test_kwargs_pass_through_undifferentiated():
    f = lambda x, scale=1.0: scale * x**2  # noqa: E731
    assert cr.grad(f)(3.0, scale=2.0) == 12.0


# ----- dtypes and plain-vs-Tensor results ---------------------------------------------------------


def test_python_numbers_and_lists_are_float64_and_results_plain():
    g = cr.grad(lambda x: x**2)(3)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == ()
    gl = cr.grad(lambda xs: xs[0] * xs[1])([2.0, 5.0])
    assert isinstance(gl, list) and [float(v) for v in gl] == [5.0, 2.0]
    assert all(v.dtype == np.float64 for v in gl)


def test_float32_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    assert cr.grad(lambda x: cr.sum(cr.exp(x)))(x).dtype == np.float32
    assert cr.hessian(lambda x: cr.sum(x**3))(x).dtype == np.float32
    out, t = cr.jvp(cr.tanh, (x,), (np.ones(2, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32


def test_tensor_inputs_give_connected_tensor_results():
    x = cr.tensor(0.7, dtype=cr.float64, requires_grad=True)
    g = cr.grad(lambda x: x**3)(x)
    assert isinstance(g, cr.Tensor) and g.requires_grad
    g.backward()  # d/dx (3x²) = 6x
    np.testing.assert_allclose(x.grad.data, 6 * 0.7, rtol=1e-12)
    y = cr.tensor([1.0, 2.0], dtype=cr.float64)
    gy = cr.grad(lambda y: cr.sum(y**2))(y)
    assert isinstance(gy, cr.Tensor) and not gy.requires_grad
    np.testing.assert_array_equal(gy.data, [2.0, 4.0])


def test_output_independent_of_input_gives_zeros():
    g = cr.grad(lambda x: 3.0)(np.ones((2, 3), dtype=np.float32))
    assert g.shape == (2, 3) and g.dtype == np.float32 and not g.any()
    gx, gy = cr.grad(lambda x, y: cr.sum(x * 2.0), argnums=(0, 1))(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(gx, [2.0, 2.0])
    assert gy.shape == (3,) and not gy.any()
    _, t = cr.jvp(lambda x: (x, np.ones(4)), (1.0,), (1.0,))
    assert t[1].shape == (4,) and not t[1].any()
    J = cr.jacobian(lambda x, y: x * 2.0, argnums=1)(np.ones(2), np.ones(3))
    assert J.shape == (2, 3) and not J.any()
    np.testing.assert_array_equal(cr.hessian(lambda x: cr.sum(x))(np.ones(2)), np.zeros((2, 2)))


def test_grad_works_under_no_grad():
    with cr.no_grad():
        assert cr.grad(lambda x: x**2)(3.0) == 6.0


# ----- vjp / jvp ----------------------------------------------------------------------------------


def test_vjp_pytree_output_and_repeated_calls(rng):
    A = rng.standard_normal((3, 2))
    x = rng.standard_normal(2)
    out, vjp_fn = cr.vjp(lambda x: {"lin": A @ x, "sq": x**2}, x)
    np.testing.assert_allclose(out["lin"], A @ x)
    for _ in range(2):
        u = {"lin": rng.standard_normal(3), "sq": rng.standard_normal(2)}
        (ct,) = vjp_fn(u)
        np.testing.assert_allclose(ct, A.T @ u["lin"] + 2 * x * u["sq"], rtol=1e-12)


def test_vjp_and_jvp_agree_with_the_jacobian(rng):
    f = lambda x: cr.sin(x)[:, None] * cr.exp(x)[None, :]  # noqa: E731
    x = rng.standard_normal(3)
    J = autograd.jacobian(lambda x: anp.sin(x)[:, None] * anp.exp(x)[None, :])(x)
    u = rng.standard_normal((3, 3))
    v = rng.standard_normal(3)
    np.testing.assert_allclose(cr.vjp(f, x)[1](u)[0], np.einsum("ij,ijk->k", u, J), rtol=1e-12)
    np.testing.assert_allclose(cr.jvp(f, (x,), (v,))[1], J @ v, rtol=1e-12)


def test_jvp_is_forward_mode_without_a_reverse_pass(monkeypatch, rng):
    def forbidden(*args, **kwargs):
        raise AssertionError("a reverse sweep ran inside jvp")

    monkeypatch.setattr(engine_backward, "run", forbidden)
    x = rng.standard_normal(3)
    _, t = cr.jvp(lambda x: cr.sum(cr.tanh(x) * x), (x,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(np.tanh(x) + x * (1 - np.tanh(x) ** 2)), rtol=1e-12)
    J = cr.jacobian(lambda x: cr.exp(x), mode="fwd")(x)
    np.testing.assert_allclose(J, np.diag(np.exp(x)), rtol=1e-12)


def test_jvp_pytree_primals():
    f = lambda p, s: p["a"] * p["b"] * s  # noqa: E731
    out, t = cr.jvp(f, ({"a": 2.0, "b": 3.0}, 4.0), ({"a": 1.0, "b": 0.0}, 0.0))
    assert out == 24.0 and t == 12.0


def test_hvp_is_one_reverse_sweep(monkeypatch, rng):
    calls = []
    real_run = engine_backward.run

    def counting(*args, **kwargs):
        calls.append(1)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine_backward, "run", counting)
    A = rng.standard_normal((5, 5))
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    f = lambda x: cr.sum(cr.tanh(A @ x) ** 2)  # noqa: E731
    value, hv = cr.hvp(f, x, v)
    assert len(calls) == 1
    f_ag = lambda x: anp.sum(anp.tanh(anp.dot(A, x)) ** 2)  # noqa: E731
    np.testing.assert_allclose(value, f_ag(x), rtol=1e-13)
    np.testing.assert_allclose(hv, autograd.hessian(f_ag)(x) @ v, rtol=1e-11)


def test_hvp_several_primals():
    f = lambda x, y: x**2 * y**3  # noqa: E731  H = [[2y³, 6xy²], [6xy², 6x²y]]
    value, (hx, hy) = cr.hvp(f, (2.0, 1.0), (1.0, 0.0))
    assert value == 4.0 and hx == 2.0 and hy == 12.0


# ----- composition -------------------------------------------------------------------------------


def _f(x):
    return cr.sum(cr.tanh(x) ** 2 * cr.exp(-x))


def _f_ag(x):
    return anp.sum(anp.tanh(x) ** 2 * anp.exp(-x))


def test_grad_grad_grad_against_autograd():
    g3 = cr.grad(cr.grad(cr.grad(lambda x: cr.tanh(x) ** 2 * cr.exp(-x))))
    g3_ag = autograd.grad(autograd.grad(autograd.grad(lambda x: anp.tanh(x) ** 2 * anp.exp(-x))))
    for x in (-0.4, 0.3, 1.2):
        np.testing.assert_allclose(g3(x), g3_ag(x), rtol=1e-11)


def test_jacobian_of_grad_equals_hessian_and_jvp_of_grad_equals_hvp(rng):
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    H = cr.hessian(_f)(x)
    np.testing.assert_allclose(cr.jacobian(cr.grad(_f))(x), H, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cr.jacobian(cr.grad(_f), mode="fwd")(x), H, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(H, autograd.hessian(_f_ag)(x), rtol=1e-11, atol=1e-14)
    _, t = cr.jvp(cr.grad(_f), (x,), (v,))
    _, hv = cr.hvp(_f, x, v)
    np.testing.assert_allclose(t, hv, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hv, H @ v, rtol=1e-11, atol=1e-14)


def test_third_order_tensor_of_a_cubic():
    # f = x0² x1 -> d³f/dx0²dx1 = 2 (and its permutations), all else 0
    T = cr.jacobian(cr.hessian(lambda x: x[0] ** 2 * x[1]))(np.array([0.3, -0.8]))
    expected = np.zeros((2, 2, 2))
    for idx in [(0, 0, 1), (0, 1, 0), (1, 0, 0)]:
        expected[idx] = 2.0
    np.testing.assert_allclose(T, expected, atol=1e-14)


def test_grad_of_a_function_calling_grad_inside():
    # inner: d/dx (x y)² = 2 x y²; at x = 1: 2 y²; outer: d/dy (2 y² · y) = 6 y²
    def outer(y):
        return cr.grad(lambda x: (x * y) ** 2)(1.0) * y

    assert cr.grad(outer)(2.0) == 24.0
    # and through forward mode: jvp of the same function
    _, t = cr.jvp(outer, (2.0,), (1.0,))
    assert t == 24.0


def test_no_perturbation_confusion():
    # d/dx [x · d/dy (x + y)] = 1 (a classic bug of naive nested differentiation gives 2)
    assert cr.grad(lambda x: x * cr.grad(lambda y: x + y)(1.0))(1.0) == 1.0
    inner = lambda x: cr.jvp(lambda y: x + y, (1.0,), (1.0,))[1]  # noqa: E731
    assert cr.jvp(lambda x: x * inner(x), (1.0,), (1.0,))[1] == 1.0
    assert cr.grad(lambda x: x * inner(x))(1.0) == 1.0


def test_grad_of_jvp_and_hvp_of_pytree(rng):
    # reverse-over-forward: d/dx <grad f(x), v> = H v
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    hv = cr.grad(lambda x: cr.jvp(_f, (x,), (v,))[1])(x)
    np.testing.assert_allclose(hv, autograd.hessian(_f_ag)(x) @ v, rtol=1e-11, atol=1e-14)


# ----- bad input ---------------------------------------------------------------------------------


def test_argnums_errors():
    f = lambda x, y: x * y  # noqa: E731
    with pytest.raises(ValueError, match="argnums=2 is out of range.*2 positional"):
        cr.grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="out of range"):
        cr.jacobian(f, argnums=(0, -3))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums"):
        cr.grad(f, argnums="x")(1.0, 2.0)
    with pytest.raises(ValueError, match="repeats"):
        cr.grad(f, argnums=(0, 0))(1.0, 2.0)


def test_non_differentiable_outputs():
    with pytest.raises(TypeError, match="dtype int64.*not differentiable"):
        cr.grad(lambda x: cr.argmax(x))(np.array([1.0, 3.0]))
    with pytest.raises(TypeError, match="dtype bool"):
        cr.grad(lambda x: x > 0)(1.0)
    with pytest.raises(TypeError, match="not differentiable"):
        cr.jvp(lambda x: cr.argmax(x), (np.ones(2),), (np.ones(2),))
    with pytest.raises(TypeError, match=r"output\[1\].*bool"):
        cr.vjp(lambda x: (x, x > 0), 1.0)
    with pytest.raises(TypeError, match="str"):
        cr.grad(lambda x: "nope")(1.0)


def test_non_scalar_output_to_grad():
    with pytest.raises(TypeError, match=r"scalar.*shape \(3,\)"):
        cr.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="scalar.*tuple"):
        cr.grad(lambda x: (x, x))(1.0)
    with pytest.raises(TypeError, match="pair"):
        cr.grad(lambda x: x, has_aux=True)(1.0)


def test_non_differentiable_inputs():
    with pytest.raises(TypeError, match="argument 0.*int64"):
        cr.grad(lambda x: cr.sum(x))(np.arange(3))
    with pytest.raises(TypeError, match=r"argument 0\['a'\].*bool"):
        cr.grad(lambda p: p["a"])({"a": True})
    with pytest.raises(TypeError, match="str"):
        cr.jvp(lambda x: x, ("a",), ("b",))


def test_structure_and_shape_mismatch_between_primals_and_tangents():
    with pytest.raises(TypeError, match="same structure"):
        cr.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="same structure"):
        cr.jvp(lambda p: p["a"], ({"a": 1.0},), ({"b": 1.0},))
    with pytest.raises(TypeError, match="same structure"):
        cr.hvp(lambda x, y: x * y, (1.0, 2.0), ([1.0], 2.0))
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        cr.jvp(cr.sin, (np.ones(3),), (np.ones(2),))
    out, vjp_fn = cr.vjp(lambda x: (x, x), np.ones(2))
    with pytest.raises(TypeError, match="structure"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        vjp_fn((np.ones(2), np.ones(3)))


def test_bad_jacobian_mode():
    with pytest.raises(ValueError, match="mode"):
        cr.jacobian(cr.sin, mode="backward")


def test_jacobian_auto_picks_the_mode_with_fewer_passes(monkeypatch, rng):
    chosen = []
    real_fwd = jacobian_module._forward_jacobian
    real_rev = jacobian_module._reverse_jacobian
    monkeypatch.setattr(jacobian_module, "_forward_jacobian",
                        lambda *a: chosen.append("fwd") or real_fwd(*a))
    monkeypatch.setattr(jacobian_module, "_reverse_jacobian",
                        lambda *a: chosen.append("rev") or real_rev(*a))
    tall = rng.standard_normal((8, 2))
    wide = rng.standard_normal((2, 8))
    J1 = cr.jacobian(lambda x: cr.tanh(tall @ x))(np.ones(2))
    J2 = cr.jacobian(lambda x: cr.tanh(wide @ x))(np.ones(8))
    assert chosen == ["fwd", "rev"]
    np.testing.assert_allclose(J1, (1 - np.tanh(tall.sum(1)) ** 2)[:, None] * tall, rtol=1e-12)
    np.testing.assert_allclose(J2, (1 - np.tanh(wide.sum(1)) ** 2)[:, None] * wide, rtol=1e-12)


def test_transforms_leave_user_gradients_alone():
    w = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    g = cr.grad(lambda x: x * w)(3.0)  # d(x w)/dx = w: a closure over a user Tensor
    assert w.grad is None
    assert isinstance(g, cr.Tensor) and g.requires_grad  # still connected to w
    g.backward()
    assert float(w.grad.data) == 1.0
    w.grad = None
    with cr.no_grad():
        g2 = cr.grad(lambda x: x * w)(3.0)
    assert w.grad is None and float(np.asarray(g2)) == 2.0
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    cr.grad(lambda x: x**2)(x)
    cr.jacobian(lambda x: x**2)(x)
    assert x.grad is None


def test_forward_over_forward_and_closures_across_modes():
    # d²/dx² sin x = -sin x, by a jvp of a jvp
    inner = lambda x: cr.jvp(cr.sin, (x,), (1.0,))[1]  # noqa: E731
    np.testing.assert_allclose(cr.jvp(inner, (0.4,), (1.0,))[1], -np.sin(0.4), rtol=1e-14)
    # a grad inside a jvp, closing over the jvp's variable: d/dy [d/dx (x y)] = 1
    _, t = cr.jvp(lambda y: cr.grad(lambda x: x * y)(1.0), (2.0,), (1.0,))
    assert t == 1.0


def test_hessian_with_several_argnums():
    # f = x² y³: H = [[2y³, 6xy²], [6xy², 6x²y]]
    (hxx, hxy), (hyx, hyy) = cr.hessian(lambda x, y: x**2 * y**3, argnums=(0, 1))(2.0, 1.0)
    assert (hxx, hxy, hyx, hyy) == (2.0, 12.0, 12.0, 24.0)


def test_hvp_with_a_dict_of_parameters():
    f = lambda p: cr.sum(p["w"] ** 2 * p["b"])  # noqa: E731
    p = {"w": np.array([1.0, 2.0]), "b": np.array(3.0)}
    t = {"w": np.array([1.0, 0.0]), "b": np.array(1.0)}
    value, hv = cr.hvp(f, (p,), (t,))
    assert value == 15.0
    # H = [[2b, 0, 2w0], [0, 2b, 2w1], [2w0, 2w1, 0]]; H t = [2b + 2w0, 2w1, 2w0]
    np.testing.assert_array_equal(hv[0]["w"], [8.0, 4.0])
    assert hv[0]["b"] == 2.0


def test_identity_function():
    g = cr.grad(lambda x: x)(2.0)
    assert isinstance(g, np.ndarray) and g == 1.0
    value, g32 = cr.value_and_grad(lambda x: x)(np.float32(2.0))
    assert isinstance(value, np.ndarray) and value.dtype == np.float32 and g32 == 1.0
    np.testing.assert_array_equal(cr.jacobian(lambda x: x)(np.ones(2)), np.eye(2))
    assert cr.hessian(lambda x: x)(2.0) == 0.0
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    assert float(cr.grad(lambda x: x)(x).data) == 1.0
