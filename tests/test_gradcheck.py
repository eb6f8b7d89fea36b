"""check_grads: every registered primitive passes in both modes; wrong rules are caught."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.primitive import REGISTRY


def _registry_cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.samples is None:
            continue
        for k, (args, params) in enumerate(prim.samples(np.random.default_rng(7))):
            cases.append(pytest.param(name, args, params, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("name,args,params", _registry_cases())
def test_registry_primitive_passes_check_grads(name, args, params):
    prim = REGISTRY[name]
    positions = [i for i, a in enumerate(args)
                 if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                 and i not in prim.nondiff_args]
    if not positions:
        pytest.skip(f"{name}: no differentiable argument in this sample")

    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return prim(*full, **params)

    cr.check_grads(f, tuple(args[i] for i in positions), order=2, modes=("fwd", "rev"))


def test_every_registered_primitive_has_samples():
    missing = sorted(n for n, p in REGISTRY.items() if p.samples is None)
    assert not missing, f"primitives without samples (unchecked): {missing}"


def test_composite_functions_with_pytrees_and_fixed_integer_arguments(rng):
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    X = rng.standard_normal((4, 3))
    labels = np.array([0, 1, 1, 0])

    def loss(p, X, labels):
        logits = X @ p["W"] + p["b"]
        return -cr.mean(cr.log_softmax(logits, axis=-1)[np.arange(4), labels])

    cr.check_grads(loss, (params, X, labels), order=2)


def test_higher_order_and_float32(rng):
    cr.check_grads(lambda x: cr.sin(x) * cr.exp(x), (0.3,), order=4)
    x32 = rng.standard_normal(5).astype(np.float32)
    cr.check_grads(lambda x: cr.sum(cr.tanh(x) * x), (x32,), order=2)


def _sin_with(vjp_scale=1.0, jvp_scale=1.0, numpy_jvp=False):
    def jvp_rule(t, ans, x):
        if numpy_jvp:  # right value, but constant to the engine: second order is lost
            return t * np.cos(np.asarray(x))
        return t * cr.cos(x) * jvp_scale

    return cr.primitive(lambda x: np.sin(x), name="mysin",
                        vjp=lambda g, ans, x: g * cr.cos(x) * vjp_scale, jvp=jvp_rule)


def test_correct_custom_rule_passes():
    cr.check_grads(_sin_with(), (np.array([0.2, -1.0, 2.0]),), order=3)


def test_wrong_vjp_is_caught_in_reverse_mode_only():
    bad = _sin_with(vjp_scale=1.001)
    x = np.array([0.2, -1.0, 2.0])
    cr.check_grads(bad, (x,), order=1, modes=("fwd",))  # forward mode does not use the VJP
    with pytest.raises(AssertionError) as info:
        cr.check_grads(bad, (x,), order=1, modes=("rev",))
    msg = str(info.value)
    assert "mode 'rev'" in msg and "order 1" in msg and "argument 0 (x)" in msg
    assert "expected" in msg and "got" in msg and "relative error" in msg


def test_wrong_jvp_is_caught_in_forward_mode():
    bad = _sin_with(jvp_scale=0.99)
    x = np.array([0.2, -1.0, 2.0])
    cr.check_grads(bad, (x,), order=1, modes=("rev",))
    with pytest.raises(AssertionError) as info:
        cr.check_grads(bad, (x,), order=1, modes=("fwd",))
    msg = str(info.value)
    assert "mode 'fwd'" in msg and "order 1" in msg and "argument 0 (x)" in msg
    assert "worst relative error" in msg
    # the reported relative error is the 1% the rule is off by
    rel = float(msg.split("worst relative error ")[1].split()[0])
    assert 0.009 < rel < 0.011


def test_rule_that_breaks_the_second_order_is_caught_at_order_two():
    bad = _sin_with(numpy_jvp=True)
    x = np.array([0.2, -1.0])
    cr.check_grads(bad, (x,), order=1)
    with pytest.raises(AssertionError, match=r"JVP of the JVP\), order 2"):
        cr.check_grads(bad, (x,), order=2)


def test_failure_names_the_argument_that_is_wrong():
    mul = cr.primitive(lambda x, y: x * y, name="mymul",
                       vjp=lambda g, ans, x, y: (g * y, g * x * 1.1),
                       jvp=lambda t, ans, x, y: t[0] * y + t[1] * x)
    with pytest.raises(AssertionError, match=r"argument 1 \(b\)") as info:
        cr.check_grads(lambda a, b: mul(a, b), (np.array([1.0, 2.0]), np.array([3.0, -1.0])),
                       order=1)
    # deterministic: the same failure, to the digit, every time
    with pytest.raises(AssertionError) as again:
        cr.check_grads(lambda a, b: mul(a, b), (np.array([1.0, 2.0]), np.array([3.0, -1.0])),
                       order=1)
    assert str(info.value) == str(again.value)


def test_float32_tolerance_catches_a_one_percent_error():
    x32 = np.array([0.2, -1.0, 2.0], dtype=np.float32)
    cr.check_grads(_sin_with(), (x32,), order=2)
    with pytest.raises(AssertionError):
        cr.check_grads(_sin_with(jvp_scale=1.01), (x32,), order=1, modes=("fwd",))


def test_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        cr.check_grads(cr.sin, (1.0,), modes=("forward",))
    with pytest.raises(ValueError, match="order"):
        cr.check_grads(cr.sin, (1.0,), order=0)
    with pytest.raises(ValueError, match="no floating-point argument"):
        cr.check_grads(lambda i: i * 2.0, (np.arange(3),))
    cr.check_grads(cr.sin, 0.4)  # a lone argument need not be wrapped in a tuple
