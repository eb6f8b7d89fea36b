"""User-defined primitives: declaration forms, every transform, check_grads, missing rules."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.primitive import REGISTRY, Primitive


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^-x) without overflow


@cr.primitive
def log1pexp(x):
    """log(1 + e^x), stable for large |x|."""
    return np.logaddexp(0.0, x)


@cr.defvjp(log1pexp)
def _log1pexp_vjp(g, ans, x):
    return g * cr.sigmoid(x)


@cr.defjvp(log1pexp)
def _log1pexp_jvp(t, ans, x):
    return t * cr.sigmoid(x)


def test_log1pexp_values_and_stability():
    x = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    np.testing.assert_allclose(log1pexp(x).data, [0.0, np.log1p(np.exp(-2.0)), np.log(2.0),
                                                 np.log1p(np.exp(3.0)), 1000.0], rtol=1e-15)
    g = cr.grad(lambda x: cr.sum(log1pexp(x)))(x)
    np.testing.assert_allclose(g, _sigmoid(x), rtol=1e-15)
    assert np.all(np.isfinite(g))


def test_log1pexp_in_every_transform(rng):
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    s = _sigmoid(x)
    f = lambda x: cr.sum(log1pexp(x))  # noqa: E731
    np.testing.assert_allclose(cr.jvp(log1pexp, (x,), (v,))[1], s * v, rtol=1e-14)
    np.testing.assert_allclose(cr.vjp(log1pexp, x)[1](v)[0], s * v, rtol=1e-14)
    np.testing.assert_allclose(cr.jacobian(log1pexp, mode="fwd")(x), np.diag(s), rtol=1e-14)
    np.testing.assert_allclose(cr.jacobian(log1pexp, mode="rev")(x), np.diag(s), rtol=1e-14)
    np.testing.assert_allclose(cr.hessian(f)(x), np.diag(s * (1 - s)), rtol=1e-13)
    np.testing.assert_allclose(cr.hvp(f, x, v)[1], s * (1 - s) * v, rtol=1e-13)
    # third derivative: s (1 - s) (1 - 2 s)
    d3 = cr.grad(cr.grad(cr.grad(log1pexp)))(0.7)
    s7 = _sigmoid(0.7)
    np.testing.assert_allclose(d3, s7 * (1 - s7) * (1 - 2 * s7), rtol=1e-13)


def test_log1pexp_passes_check_grads(rng):
    cr.check_grads(log1pexp, (rng.standard_normal(4),), order=3)
    cr.check_grads(lambda A, x: cr.sum(log1pexp(A @ x)),
                   (rng.standard_normal((3, 2)), rng.standard_normal(2)), order=2)


def test_tensor_api_backward_through_a_custom_primitive():
    x = cr.tensor([0.0, 2.0], dtype=cr.float64, requires_grad=True)
    cr.sum(log1pexp(x) * 2.0).backward()
    np.testing.assert_allclose(x.grad.data, 2 * _sigmoid(np.array([0.0, 2.0])), rtol=1e-15)


def test_one_decorator_with_both_rules_and_keyword_parameters():
    @cr.primitive(vjp=lambda g, ans, x, power: g * power * x ** (power - 1),
                  jvp=lambda t, ans, x, power: t * power * x ** (power - 1))
    def pow_(x, power):
        return x**power

    assert pow_.name == "pow_" and "pow_" not in REGISTRY
    assert cr.grad(lambda x: pow_(x, power=3))(2.0) == 12.0
    assert cr.grad(cr.grad(lambda x: pow_(x, power=3)))(2.0) == 12.0
    cr.check_grads(lambda x: pow_(x, power=3), (np.array([0.5, 1.5]),), order=2)


def test_two_arguments_one_rule_and_per_argument_rules(rng):
    def hypot_fwd(x, y):
        return np.hypot(x, y)

    one = cr.primitive(hypot_fwd, name="hypot1",
                       vjp=lambda g, ans, x, y: (g * x / ans, g * y / ans),
                       jvp=lambda t, ans, x, y: (t[0] * x + t[1] * y) / ans)
    per_arg = cr.primitive(hypot_fwd, name="hypot2")
    per_arg.defvjp(lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans)
    per_arg.defjvp(lambda t, ans, x, y: t * x / ans, lambda t, ans, x, y: t * y / ans)
    x, y = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    r = np.hypot(x, y)
    for prim in (one, per_arg):
        gx, gy = cr.grad(lambda a, b, p=prim: cr.sum(p(a, b)), argnums=(0, 1))(x, y)
        np.testing.assert_allclose(gx, x / r, rtol=1e-14)
        np.testing.assert_allclose(gy, y / r, rtol=1e-14)
        # a tangent in one argument only: the single rule sees zeros for the other
        _, t = cr.jvp(lambda b, p=prim: p(x, b), (y,), (np.ones(3),))
        np.testing.assert_allclose(t, y / r, rtol=1e-14)
        cr.check_grads(prim, (x, y), order=2)


def test_primitive_wrapping_scipy():
    special = pytest.importorskip("scipy.special")
    erf = cr.primitive(special.erf, name="erf_scipy",
                       vjp=lambda g, ans, x: g * 2 / np.sqrt(np.pi) * cr.exp(-x * x),
                       jvp=lambda t, ans, x: t * 2 / np.sqrt(np.pi) * cr.exp(-x * x))
    x = np.array([-0.5, 0.1, 1.2])
    np.testing.assert_allclose(cr.grad(lambda x: cr.sum(erf(x)))(x),
                               2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-14)
    cr.check_grads(erf, (x,), order=2)


def test_missing_vjp_rule_names_primitive_and_rule():
    fwd_only = cr.primitive(lambda x: np.sin(x), name="fwd_only",
                            jvp=lambda t, ans, x: t * cr.cos(x))
    assert cr.jvp(fwd_only, (0.0,), (1.0,))[1] == 1.0
    assert cr.jacobian(fwd_only, mode="fwd")(0.0) == 1.0
    for use in (lambda: cr.grad(fwd_only)(0.3),
                lambda: cr.vjp(fwd_only, 0.3)[1](1.0),
                lambda: cr.jacobian(fwd_only, mode="rev")(np.ones(2)),
                lambda: cr.sum(fwd_only(cr.tensor([1.0], requires_grad=True))).backward()):
        with pytest.raises(cr.MissingRuleError, match="'fwd_only' has no VJP rule.*defvjp"):
            use()


def test_missing_jvp_rule_names_primitive_and_rule():
    rev_only = cr.primitive(lambda x: np.sin(x), name="rev_only",
                            vjp=lambda g, ans, x: g * cr.cos(x))
    assert cr.grad(rev_only)(0.0) == 1.0
    for use in (lambda: cr.jvp(rev_only, (0.3,), (1.0,)),
                lambda: cr.hessian(rev_only)(0.3),
                lambda: cr.hvp(rev_only, 0.3, 1.0),
                lambda: cr.check_grads(rev_only, (0.3,), modes=("fwd",))):
        with pytest.raises(cr.MissingRuleError, match="'rev_only' has no JVP rule.*defjvp"):
            use()
    # a NotImplementedError, hence a RuntimeError, for code that catches those
    assert issubclass(cr.MissingRuleError, NotImplementedError)


def test_engine_primitive_without_rules_raises_missing_rule_error():
    bare = Primitive("bare_engine_prim", np.sin, register=False)
    x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.MissingRuleError, match="'bare_engine_prim' has no VJP"):
        cr.grad(lambda x: cr.sum(bare(x)))(x)  # recorded (tensor-mode) backward sweep
    with pytest.raises(cr.MissingRuleError, match="'bare_engine_prim' has no JVP"):
        cr.jvp(bare, (np.ones(1),), (np.ones(1),))
    # and the plain NumPy sweep of Tensor.backward() (it once failed with "'NoneType' object
    # is not callable")
    with pytest.raises(cr.MissingRuleError, match="'bare_engine_prim' has no VJP"):
        cr.sum(bare(x) * 2.0).backward()


def test_bad_declarations():
    with pytest.raises(TypeError, match="@cr.primitive"):
        cr.defvjp(np.sin, lambda g, ans, x: g)
    with pytest.raises(TypeError, match="expected a function"):
        cr.primitive(3)
    wrong = cr.primitive(lambda x, y: x * y, name="wrong_count",
                         vjp=lambda g, ans, x, y: g * y)  # one cotangent for two arguments
    with pytest.raises(ValueError, match="wrong_count.*one cotangent per positional"):
        cr.grad(lambda a: cr.sum(wrong(a, 2.0)))(np.ones(2))


def test_numpy_rule_gives_first_derivatives():
    # A rule written with NumPy is right to first order (documented limitation beyond that).
    cube = cr.primitive(lambda x: x**3, name="cube_np",
                        vjp=lambda g, ans, x: g * 3 * np.asarray(x) ** 2)
    np.testing.assert_allclose(cr.grad(lambda x: cr.sum(cube(x)))(np.array([1.0, 2.0])),
                               [3.0, 12.0])
