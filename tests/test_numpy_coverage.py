"""NumPy functions beyond the core list: names, argument forms and gradients.

Each primitive here is also run by the registry tests (forward against its reference,
both modes against finite differences, second order); these tests check what those cannot:
operators, NaN handling, aliases, and composites built from primitives.
"""

import math

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


# ----- composites: values as NumPy's, gradients as HIPS autograd's ---------------------------

import autograd  # noqa: E402
import autograd.numpy as anp  # noqa: E402

_RNG = np.random.default_rng(7)
_M34 = _RNG.standard_normal((3, 4))
_M234 = _RNG.standard_normal((2, 3, 4))
_V3 = _RNG.standard_normal(3)

# (name, function of (module, x) -> array, input)
_COMPOSITES = [
    ("atleast_3d", lambda m, x: m.atleast_3d(x), _M34),
    ("vstack", lambda m, x: m.vstack([x, 2 * x]), _M34),
    ("row_stack", lambda m, x: m.vstack([x[0], x[1]]), _M34),
    ("hstack", lambda m, x: m.hstack([x, x[:, :2]]), _M34),
    ("dstack", lambda m, x: m.dstack([x, x * x]), _M34),
    ("column_stack", lambda m, x: m.column_stack([x[0], x[1] * 3]), _M34),
    ("append", lambda m, x: m.append(x, x[:1], axis=0), _M34),
    ("array_split", lambda m, x: m.array_split(x, 3, axis=1)[0] * 2
     + m.array_split(x, 3, axis=1)[2], _M34),
    ("vsplit", lambda m, x: m.vsplit(x, [1])[1], _M34),
    ("hsplit", lambda m, x: m.hsplit(x, 2)[1], _M34),
    ("dsplit", lambda m, x: m.dsplit(x, [3])[0], _M234),
    ("flip", lambda m, x: m.flip(x, 1) * x, _M34),
    ("flipud", lambda m, x: m.flipud(x) * x, _M34),
    ("fliplr", lambda m, x: m.fliplr(x) * x, _M34),
    ("rot90", lambda m, x: m.rot90(x, 1) @ x, _M34),
    ("rot90 k=3 axes", lambda m, x: m.rot90(x, 3, axes=(2, 0)), _M234),
    ("roll", lambda m, x: m.roll(x, 2, axis=1) * x, _M34),
    ("roll flat", lambda m, x: m.roll(x, -5) * x, _M34),
    ("moveaxis", lambda m, x: m.moveaxis(x, 0, -1), _M234),
    ("rollaxis", lambda m, x: m.rollaxis(x, 2, 1), _M234),
    ("diagonal", lambda m, x: m.diagonal(x, 1), _M34),
    ("diagonal 3-D", lambda m, x: m.diagonal(x, -1, 2, 1), _M234),
    ("trace", lambda m, x: m.trace(x * x), _M34),
    ("diag of vector", lambda m, x: m.diag(x, -1) * 2, _V3),
    ("diag of matrix", lambda m, x: m.diag(x, 1), _M34),
    ("triu", lambda m, x: m.triu(x, -1) * x, _M34),
    ("tril", lambda m, x: m.tril(x, 1) * x, _M234),
    ("tensordot", lambda m, x: m.tensordot(x, x[0], axes=([1, 2], [0, 1])), _M234),
    ("tensordot int", lambda m, x: m.tensordot(x, x.T, axes=1), _M34),
    ("inner", lambda m, x: m.inner(x, x), _M34),
    ("kron", lambda m, x: m.kron(x, x[:2, :2]), _M34),
    ("cross", lambda m, x: m.cross(x[:, :3], x[:, 1:]), _M34),
    ("cross 2-D vectors", lambda m, x: m.cross(x[:, :2], x[:, 2:]), _M34),
    ("sort", lambda m, x: m.sort(x, axis=0) * np.arange(4.0), _M34),
    ("partition", lambda m, x: m.partition(x, 2, axis=1)[:, 2], _M34),
    ("diff", lambda m, x: m.diff(x, n=2, axis=1), _M34),
    ("cumsum", lambda m, x: m.cumsum(x, axis=1) * x, _M34),
    ("cumsum flat", lambda m, x: m.cumsum(x), _M34),
    ("cumprod", lambda m, x: m.cumprod(x, axis=0), _M34),
    ("select", lambda m, x: m.select([x > 0.5, x < -0.5], [x * x, 3 * x], 1.0), _M34),
]


# autograd has no gradient (or a wrong one: diag of a non-square matrix) for these, or not
# these arguments: their gradients are compared with central differences instead.
_NOT_IN_AUTOGRAD = {"flip", "rot90 k=3 axes", "diagonal", "diagonal 3-D", "diag of matrix",
                    "cross 2-D vectors", "sort", "partition", "cumprod"}


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize("name,fn,x", _COMPOSITES, ids=[c[0] for c in _COMPOSITES])
def test_composite_value_and_gradient_match_numpy_and_autograd(name, fn, x):
    out = fn(cr, cr.tensor(x))
    expected = fn(np, x)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(3).standard_normal(np.shape(expected))
    ours = cr.grad(lambda v: cr.sum(fn(cr, v) * w))(x)
    if name in _NOT_IN_AUTOGRAD:
        theirs, rtol = _fd_grad(lambda v: np.sum(fn(np, v) * w), x), 1e-6
    else:
        theirs, rtol = autograd.grad(lambda v: anp.sum(fn(anp, v) * w))(x), 1e-10
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-8)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize("name,fn,x", _COMPOSITES[::3], ids=[c[0] for c in _COMPOSITES[::3]])
def test_composite_derivatives_to_second_order(name, fn, x):
    cr.check_grads(lambda v: fn(cr, v), (x,), order=2)


def test_gradient_matches_numpy_and_its_adjoint_is_exact():
    x = _RNG.standard_normal((5, 6))
    coords = np.cumsum(_RNG.uniform(0.5, 1.5, 6))
    for args, kwargs in [((), {}), ((0.5,), {}), ((2.0, coords), {}),
                         ((), {"edge_order": 2}), ((coords,), {"axis": 1, "edge_order": 2})]:
        ours = cr.gradient(cr.tensor(x), *args, **kwargs)
        theirs = np.gradient(x, *args, **kwargs)
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_allclose(a.data, b, rtol=1e-12)
        cr.check_grads(lambda v, a=args, k=kwargs: cr.gradient(v, *a, **k), (x,), order=2)


def test_nan_to_num_replaces_and_passes_gradient_only_at_finite_entries():
    x = cr.tensor([1.0, np.nan, np.inf, -np.inf, -2.0], dtype=cr.float64, requires_grad=True)
    out = cr.nan_to_num(x, posinf=9.0)
    np.testing.assert_array_equal(out.data, np.nan_to_num(x.data, posinf=9.0))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 0, 0, 1])


def test_r_and_c_join_like_numpy():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(cr.r_[t, 3.0, 0:2].data, np.r_[a, 3.0, 0:2])
    np.testing.assert_array_equal(cr.r_[t, 0:1:3j].data, np.r_[a, 0:1:3j])
    np.testing.assert_array_equal(cr.c_[t, a * 2].data, np.c_[a, a * 2])
    cr.sum(cr.r_[t, t] * cr.r_[t, 1.0, 1.0]).backward()
    np.testing.assert_array_equal(t.grad.data, 2 * a + 1)
    with pytest.raises(ValueError, match="string directives"):
        cr.r_["0,2", t]


def test_numpy_dispatch_and_methods_for_the_new_functions():
    t = cr.tensor(_M34, requires_grad=True)
    assert isinstance(np.vstack([t, t]), cr.Tensor)
    assert isinstance(np.trace(t), cr.Tensor)
    assert isinstance(np.cumsum(t, axis=0), cr.Tensor)
    np.testing.assert_allclose(t.cumsum(axis=1).data, np.cumsum(_M34, axis=1))
    np.testing.assert_allclose(t.diagonal().data, _M34.diagonal())
    np.testing.assert_allclose(t.trace().data, _M34.trace())


def test_bad_arguments_get_clear_errors():
    t = cr.tensor(_M34)
    with pytest.raises(ValueError, match="at least 2-D"):
        cr.fliplr(cr.tensor(_V3))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        cr.diag(cr.tensor(_M234))
    with pytest.raises(ValueError, match="shape mismatch"):
        cr.tensordot(t, t, axes=([0], [1]))
    with pytest.raises(TypeError, match="sequence of arrays"):
        cr.vstack(t)
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        cr.cross(t, t)


def test_dtype_names_are_numpy_scalar_types():
    assert cr.float32 is np.float32 and cr.float64 is np.float64 and cr.int64 is np.int64
    assert cr.int64(3.7) == 3 and isinstance(cr.float32(1.5), np.float32)
    t = cr.tensor([1.0, 2.0])
    assert t.dtype == cr.float32 and t.dtype.type is cr.float32
    assert cr.tensor([1.0], dtype=cr.float64).dtype == np.float64


def test_einsum_sublist_form_and_linspace_endpoints():
    a, b = _RNG.standard_normal((2, 3)), _RNG.standard_normal((3, 4))
    ta = cr.tensor(a, requires_grad=True)
    out = cr.einsum(ta, [0, 1], b, [1, 2], [0, 2])
    np.testing.assert_allclose(out.data, np.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    np.testing.assert_allclose(cr.einsum(a, [Ellipsis, 1], b, [1, 2]).data,
                               np.einsum(a, [Ellipsis, 1], b, [1, 2]))
    out.sum().backward()
    np.testing.assert_allclose(ta.grad.data, np.ones((2, 4)) @ b.T)
    lo = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    hi = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    line = cr.linspace(lo, hi, 5)
    np.testing.assert_allclose(line.data, np.linspace(1.0, 3.0, 5))
    (line * np.arange(5.0)).sum().backward()
    # x_i = lo + (hi - lo)·i/4: d/dlo = Σ i·(1 - i/4), d/dhi = Σ i·i/4
    i = np.arange(5.0)
    np.testing.assert_allclose([lo.grad.item(), hi.grad.item()],
                               [np.sum(i * (1 - i / 4)), np.sum(i * i / 4)])


def test_complex_helpers_on_real_input():
    x = cr.tensor([1.5, -2.0, 0.0], dtype=cr.float64, requires_grad=True)
    assert cr.real(x) is x and cr.conj(x) is x and x.conjugate() is x
    np.testing.assert_array_equal(cr.imag(x).data, np.imag(x.data))
    np.testing.assert_array_equal(cr.angle(x).data, np.angle(x.data))
    np.testing.assert_array_equal(cr.angle(x, deg=True).data, np.angle(x.data, deg=True))
    g = cr.grad(lambda v: cr.sum(cr.real(v) * 2 + cr.imag(v) + cr.angle(v)))(x.data)
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    assert isinstance(np.real(x), cr.Tensor)
    with pytest.raises(TypeError, match="real"):
        cr.imag(np.array([1 + 2j]))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_division_by_a_python_zero_gives_ieee_gradients():
    # as NumPy's x / 0.0 and PyTorch's: d(x/0)/dx = 1/0 = inf (-inf for -0.0), no exception
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    (x / 0.0).sum().backward()
    assert x.grad.dtype == np.float32 and np.all(np.isposinf(x.grad.data))
    g = cr.grad(lambda v: cr.sum(v / -0.0))(np.array([1.0, 2.0]))
    assert np.all(np.isneginf(g))


@pytest.mark.parametrize("expr,at,value,slope", [
    ("softplus(x)", -0.7, np.log1p(np.exp(-0.7)), 1 / (1 + np.exp(0.7))),
    ("gelu(x)", -0.7, -0.7 * 0.5 * (1 + math.erf(-0.7 / math.sqrt(2))),
     0.5 * (1 + math.erf(-0.7 / math.sqrt(2))) - 0.7 * math.exp(-0.245) / math.sqrt(2 * math.pi)),
    ("leaky_relu(x)", -0.7, -0.007, 0.01),
    ("leaky_relu(x)", 0.7, 0.7, 1.0),
])
def test_activations_in_the_expression_language(expr, at, value, slope):
    e = cr.explain(expr, x=at)
    np.testing.assert_allclose(e.value, value, rtol=1e-12)
    np.testing.assert_allclose(e.derivative, slope, rtol=1e-12)
