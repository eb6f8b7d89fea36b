"""Every registered primitive, checked from its own sample inputs.

For each sample: the forward against an independent NumPy formula; the VJP against a
central-difference Jacobian; the JVP (true forward mode) against the same Jacobian; the
inner-product identity <u, J v> = <Jᵀ u, v> between the two rules; and the second order
(the recorded backward pass) against central differences of the first-order gradient.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import forward
from chainrule.autodiff.backward import grad as engine_grad
from chainrule.autodiff.primitive import REGISTRY, pull_back


def _cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.samples is None:
            cases.append(pytest.param(name, None, None, id=f"{name}-no-samples"))
            continue
        for k, (args, params) in enumerate(prim.samples(np.random.default_rng(7))):
            cases.append(pytest.param(name, args, params, id=f"{name}-{k}"))
    return cases


def _diff_positions(prim, args):
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in prim.nondiff_args]


def _evaluate(prim, args, params):
    return np.asarray(prim.forward(*args, **params), dtype=float)


def _numerical_jacobian(prim, args, params, i, eps=1e-6):
    """d out / d args[i] by central differences: shape (out.size, args[i].size)."""
    base = [np.array(a, dtype=float) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]
    x = base[i]
    out_size = _evaluate(prim, base, params).size
    jac = np.zeros((out_size, x.size))
    for k in range(x.size):
        plus = [a.copy() if isinstance(a, np.ndarray) else a for a in base]
        minus = [a.copy() if isinstance(a, np.ndarray) else a for a in base]
        plus[i].flat[k] += eps
        minus[i].flat[k] -= eps
        jac[:, k] = (_evaluate(prim, plus, params) - _evaluate(prim, minus, params)).ravel() / (
            2 * eps)
    return jac


def _as_tensors(args, positions):
    return [cr.tensor(a, requires_grad=True) if i in positions
            else (cr.tensor(a) if isinstance(a, np.ndarray) else a)
            for i, a in enumerate(args)]


@pytest.mark.parametrize("name,args,params", _cases())
def test_primitive(name, args, params):
    prim = REGISTRY[name]
    assert args is not None, f"primitive {name} registers no sample inputs"
    reference = prim.ref
    assert reference is not None, f"primitive {name} declares no independent reference (ref=)"
    rng = np.random.default_rng(99)

    # forward against the independent formula
    out = prim(*[cr.tensor(a) if isinstance(a, np.ndarray) else a for a in args], **params)
    expected = reference(*args, **params)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert out.data.dtype == np.result_type(*[a for a in args if isinstance(a, np.ndarray)]) \
        or name == "astype"

    positions = _diff_positions(prim, args)
    if not positions:
        return
    u = rng.standard_normal(out.shape)
    vs = {i: rng.standard_normal(np.shape(args[i])) for i in positions}

    # VJP (reverse mode) against the central-difference Jacobian
    xs = _as_tensors(args, positions)
    y = prim(*xs, **params)
    grads = engine_grad(y, [xs[i] for i in positions], u)
    for i, g in zip(positions, grads):
        jac = _numerical_jacobian(prim, args, params, i)
        assert g.shape == np.shape(args[i])
        np.testing.assert_allclose(g.data.ravel(), jac.T @ u.ravel(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: VJP wrt argument {i}")

    # JVP (forward mode) against the same Jacobians
    with forward.jvp_level() as level:
        seeded = [forward.seed(cr.tensor(a), cr.tensor(vs[i]), level) if i in positions
                  else (cr.tensor(a) if isinstance(a, np.ndarray) else a)
                  for i, a in enumerate(args)]
        y_fwd = prim(*seeded, **params)
        tangent = forward.tangent_of(y_fwd, level)
    expected_jv = sum(_numerical_jacobian(prim, args, params, i) @ vs[i].ravel()
                      for i in positions)
    np.testing.assert_allclose(tangent.data.ravel(), expected_jv, rtol=1e-5, atol=1e-6,
                               err_msg=f"{name}: JVP")

    # the two rules are transposes of each other: <u, J v> == <Jᵀ u, v>
    lhs = float(np.sum(u * tangent.data))
    rhs = float(sum(np.sum(g.data * vs[i]) for i, g in zip(positions, grads)))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs)), f"{name}: <u,Jv>={lhs} but <Jᵀu,v>={rhs}"

    # second order: d/dx <Jᵀ(x) u, w> from the recorded backward vs central differences
    w = {i: rng.standard_normal(np.shape(args[i])) for i in positions}

    def first_order(arrs):
        ts = _as_tensors(arrs, positions)
        gs = engine_grad(prim(*ts, **params), [ts[i] for i in positions], u)
        return sum(float(np.sum(g.data * w[i])) for i, g in zip(positions, gs))

    xs = _as_tensors(args, positions)
    gs = engine_grad(prim(*xs, **params), [xs[i] for i in positions], u, create_graph=True)
    h = sum((g * w[i]).sum() for i, g in zip(positions, gs))
    if not h.requires_grad:  # the first derivative does not depend on x (linear in x)
        second = [None] * len(positions)
    else:
        second = engine_grad(h, [xs[i] for i in positions])
    eps = 1e-5
    for i, s in zip(positions, second):
        numeric = np.zeros(np.shape(args[i]))
        for k in range(numeric.size):
            plus = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
            minus = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
            plus[i].flat[k] += eps
            minus[i].flat[k] -= eps
            numeric.flat[k] = (first_order(plus) - first_order(minus)) / (2 * eps)
        got = np.zeros(np.shape(args[i])) if s is None else s.data
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: second order wrt argument {i}")


def test_public_functions_are_the_primitives_functions():
    # cr.sin is a plain function (cheaper to call than the Primitive object) that applies
    # the registered primitive, and leads back to it.
    for name in ("sin", "tanh", "add", "multiply", "maximum", "matmul", "softmax"):
        fn = getattr(cr, name)
        assert fn.primitive is REGISTRY[name] and fn.__name__ == name
        assert fn.__doc__ == REGISTRY[name].doc
    x = cr.tensor(np.array([0.3, -1.2]), requires_grad=True)
    y = cr.sin(x)
    assert y._node.prim is REGISTRY["sin"]
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos([0.3, -1.2]))
    # Every argument form goes through: constants, two Tensors, keyword parameters.
    np.testing.assert_allclose(cr.add(1.0, x).data, 1.0 + x.data)
    np.testing.assert_allclose(cr.maximum(x, cr.tensor(np.zeros(2))).data, [0.3, 0.0])
    np.testing.assert_allclose(cr.softmax(x, axis=0).data,
                               np.exp(x.data) / np.exp(x.data).sum())


def test_replacing_an_elementwise_vjp_is_what_backward_then_uses():
    # The sweep applies an elementwise primitive's derivative directly; a VJP set later
    # must win over it (as it does in every other path), never be silently ignored.
    prim = REGISTRY["sin"]
    old_vjp, old_derivative = prim.vjp, prim.derivative
    try:
        prim.vjp = lambda g, ans, x: g * 2.0
        assert prim.derivative is None
        x = cr.tensor(np.array([0.3, 1.0]), requires_grad=True)
        cr.sin(x).sum().backward()
        np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    finally:
        prim.vjp = old_vjp
        object.__setattr__(prim, "derivative", old_derivative)
    x = cr.tensor(np.array([0.3, 1.0]), requires_grad=True)
    cr.sin(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos([0.3, 1.0]))


def _reads_of(prim, i, n_args):
    """The argument positions whose values the VJP for argument ``i`` may read, as the
    primitive declares them (``reads``, or ``saves_args`` for all or none)."""
    if getattr(prim, "reads", None) is not None:
        return set(prim.reads[i])
    return set(range(n_args)) if prim.saves_args else set()


@pytest.mark.parametrize("name,args,params", _cases())
def test_a_rule_reads_only_the_values_its_primitive_declares(name, args, params):
    # Backward guards against in-place changes only of the values a primitive declares its
    # VJP reads (saves_args, saves_ans, reads): with any other values in the places it
    # declares unread, the VJP must give the same cotangent, or an in-place change there
    # would go unnoticed and the gradient would be silently wrong.
    prim = REGISTRY[name]
    assert args is not None, f"primitive {name} registers no sample inputs"
    rng = np.random.default_rng(5)
    ans = np.asarray(prim.forward(*args, **params))
    g = rng.standard_normal(ans.shape)

    def other(a):  # same shape and dtype, different values
        return (a + 0.25 + rng.random(a.shape)).astype(a.dtype)

    for i in _diff_positions(prim, args):
        needs = [j == i for j in range(len(args))]
        expected = pull_back(prim, g, ans, args, params, needs)[i]
        read = _reads_of(prim, i, len(args))
        changed = tuple(other(a) if j not in read and isinstance(a, np.ndarray)
                        and a.dtype.kind == "f" else a for j, a in enumerate(args))
        changed_ans = ans if prim.saves_ans else other(ans)
        with np.errstate(all="ignore"):
            got = pull_back(prim, g, changed_ans, changed, params, needs)[i]
        np.testing.assert_allclose(
            got, expected, rtol=1e-12, atol=1e-12,
            err_msg=f"{name}: the VJP for argument {i} reads values it does not declare "
                    f"(arguments read: {sorted(read)}, output read: {prim.saves_ans})")
