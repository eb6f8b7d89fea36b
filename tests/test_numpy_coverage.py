"""NumPy functions beyond the core list: names, argument forms and gradients.

Each primitive here is also run by the registry tests (forward against its reference,
both modes against finite differences, second order); these tests check what those cannot:
operators, NaN handling, aliases, and composites built from primitives.
"""

import numpy as np
import pytest

import chainrule as cr


def _fd_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of one array."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def test_mod_operator_matches_python_and_numpy():
    x = np.array([5.5, -2.3, 7.25])
    y = np.array([2.0, 1.5, -3.0])
    tx, ty = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
    out = tx % ty
    np.testing.assert_array_equal(out.data, np.remainder(x, y))
    assert [a % b for a, b in zip(x, y)] == list(out.data)  # Python's sign convention
    out.sum().backward()
    np.testing.assert_array_equal(tx.grad.data, np.ones(3))
    np.testing.assert_array_equal(ty.grad.data, -np.floor(x / y))
    np.testing.assert_array_equal((x % ty).data, np.remainder(x, y))  # ndarray % Tensor
    np.testing.assert_array_equal((7.0 % ty).data, np.remainder(7.0, y))
    np.testing.assert_array_equal(cr.mod(tx, 2.0).data, np.mod(x, 2.0))


def test_in_place_mod():
    t = cr.tensor([5.5, -2.3])
    t %= 2.0
    np.testing.assert_allclose(t.data, np.array([5.5, -2.3]) % 2.0)


@pytest.mark.parametrize("fn,np_fn", [(cr.fmax, np.fmax), (cr.fmin, np.fmin)])
def test_fmax_fmin_ignore_nan_and_send_the_gradient_to_the_number(fn, np_fn):
    x = cr.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    y = cr.tensor([2.0, 5.0, np.nan, np.nan], requires_grad=True)
    out = fn(x, y)
    np.testing.assert_array_equal(out.data, np_fn(x.data, y.data))
    out.backward(cr.ones(4))
    # a NaN operand is ignored: the other one gets the whole gradient
    assert x.grad.data[1] == 0 and y.grad.data[1] == 1
    assert x.grad.data[2] == 1 and y.grad.data[2] == 0
    winner_x = (np_fn(1.0, 2.0) == 1.0)
    assert (x.grad.data[0], y.grad.data[0]) == ((1.0, 0.0) if winner_x else (0.0, 1.0))


def test_logaddexp_is_stable_where_the_naive_formula_overflows():
    x = cr.tensor([1000.0, -1000.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([1000.0, -999.0], dtype=cr.float64, requires_grad=True)
    out = cr.logaddexp(x, y)
    np.testing.assert_allclose(out.data, np.logaddexp(x.data, y.data))
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 1 / (1 + np.e)], rtol=1e-12)
    np.testing.assert_allclose(y.grad.data, [0.5, np.e / (1 + np.e)], rtol=1e-12)


def test_hypot_gradient_at_the_origin_is_zero():
    x = cr.tensor([0.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([0.0, 4.0], dtype=cr.float64, requires_grad=True)
    cr.hypot(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.6])
    np.testing.assert_allclose(y.grad.data, [0.0, 0.8])


@pytest.mark.parametrize("name,alias", [("deg2rad", "radians"), ("rad2deg", "degrees"),
                                        ("remainder", "mod")])
def test_numpy_aliases_are_the_same_function(name, alias):
    x = np.array([0.3, -1.7, 2.9])
    np.testing.assert_array_equal(getattr(cr, alias)(x, 1.1).data if name == "remainder"
                                  else getattr(cr, alias)(x).data,
                                  getattr(np, alias)(x, 1.1) if name == "remainder"
                                  else getattr(np, alias)(x))


def test_numpy_ufuncs_on_tensors_run_chainrule():
    t = cr.tensor([1.5, 2.5], dtype=cr.float64, requires_grad=True)
    out = np.arcsinh(t) + np.log10(t) + np.exp2(t) + np.hypot(t, 2.0)
    assert isinstance(out, cr.Tensor)
    out.sum().backward()
    x = t.data
    expected = 1 / np.sqrt(x * x + 1) + 1 / (x * np.log(10)) + 2**x * np.log(2) \
        + x / np.hypot(x, 2.0)
    np.testing.assert_allclose(t.grad.data, expected, rtol=1e-12)


@pytest.mark.parametrize("expr,np_fn,at", [
    ("asinh(x)", np.arcsinh, 0.5), ("acosh(x)", np.arccosh, 1.5), ("atanh(x)", np.arctanh, 0.5),
    ("log2(x)", np.log2, 3.0), ("log10(x)", np.log10, 3.0), ("exp2(x)", np.exp2, 1.5),
])
def test_new_functions_are_in_the_expression_language(expr, np_fn, at):
    e = cr.explain(expr, x=at)
    np.testing.assert_allclose(e.value, np_fn(at), rtol=1e-12)
    np.testing.assert_allclose(e.derivative, _fd_grad(np_fn, np.array(at)), rtol=1e-6)
