"""cr.compile(f, backend="numba") against eager chainrule.

numba compiles each fused program in about a second, so the registry-driven test puts every
elementwise primitive with a scalar form into one program (value, VJP and JVP of each, on
values from its own samples): one kernel for all of them.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.primitive import REGISTRY
from chainrule.compile import adapter, fused

pytestmark = pytest.mark.skipif(
    not fused.available(), reason="numba is not installed (optional extra: pip install numba)")

TOL = dict(rtol=1e-12, atol=1e-12)
SIZE = 5


def _elementwise_cases():
    """(name, args) for each primitive with a scalar form, its sample values resized to
    SIZE elements (values from the sample stay in the primitive's domain)."""
    return [(name, [np.resize(a, SIZE).astype(np.float64) for a in args])
            for name, args in adapter.float_form_samples()]


def _fits(fn, args, monkeypatch) -> bool:
    """Would ``fn``'s program be fused? (Asked without running numba's compiler.)"""
    verdicts = []
    unfit = fused.unfit
    with monkeypatch.context() as m, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.setattr(fused, "unfit", lambda *a: verdicts.append(unfit(*a)) or "probed")
        cr.compile(fn, backend="numba")(*args)
    return verdicts == [None]


def _all_three(name):
    """The value, VJP and JVP of one primitive, in one function."""
    def f(*xs):
        ys, pullback = cr.vjp(REGISTRY[name], *xs)
        r = np.random.default_rng(5)
        ts = tuple(r.standard_normal(SIZE) for _ in xs)
        return ys, pullback(r.standard_normal(SIZE)), cr.jvp(REGISTRY[name], xs, ts)[1]
    return f


def test_every_elementwise_primitive_fused_equals_eager(monkeypatch):
    candidates = _elementwise_cases()
    cases = [(n, a) for n, a in candidates if _fits(_all_three(n), a, monkeypatch)]
    # Most of them fuse (sin, exp, tanh, +, *, ** ...); absolute's derivative needs sign,
    # which has no scalar form here.
    assert len(cases) >= 15 and len(cases) >= len(candidates) - 3, [n for n, _ in cases]
    flat = [a for _, args in cases for a in args]
    r = np.random.default_rng(0)
    us = [r.standard_normal(SIZE) for _ in cases]
    ts = [r.standard_normal(SIZE) for _ in flat]

    def values(*xs):
        out, k = [], 0
        for name, args in cases:
            out.append(REGISTRY[name](*xs[k:k + len(args)]))
            k += len(args)
        return tuple(out)

    def everything(*xs):
        ys, pullback = cr.vjp(values, *xs)
        _, tangents = cr.jvp(values, xs, tuple(ts))
        return ys, pullback(tuple(us)), tangents

    compiled = cr.compile(everything, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fused, not run as NumPy with a warning
        compiled(*flat)
        moved = [a + 0.01 * r.uniform(size=SIZE) * np.sign(a) for a in flat]  # same domain
        for point in (flat, moved):
            got, want = compiled(*point), everything(*point)
            for g, w in zip(cr.autodiff.pytree.tree_leaves(got),
                            cr.autodiff.pytree.tree_leaves(want)):
                g = g.data if isinstance(g, cr.Tensor) else g
                w = w.data if isinstance(w, cr.Tensor) else w
                np.testing.assert_allclose(g, w, **TOL)
    assert "compiled by numba" in compiled.source


def test_backward_inside_sets_grad_and_replays_new_values():
    seed = np.ones(4)

    def step(x):
        y = cr.tanh(cr.sin(x) * 1.5 + 0.2) ** 2
        y.backward(seed)
        return y

    f = cr.compile(step, backend="numba")
    r = np.random.default_rng(1)
    for _ in range(3):
        x1 = cr.tensor(r.standard_normal(4), requires_grad=True)
        x2 = cr.tensor(x1.data.copy(), requires_grad=True)
        np.testing.assert_allclose(f(x1).data, step(x2).data, **TOL)
        np.testing.assert_allclose(x1.grad.data, x2.grad.data, **TOL)
    assert f.cache_info().misses == 1
    assert "# chain rule through" in f.source


def test_a_program_that_is_not_elementwise_runs_as_numpy_and_says_why():
    f = cr.compile(cr.value_and_grad(lambda x: cr.sum(cr.sin(x))), backend="numba")
    x = np.linspace(0, 1, 3)
    with pytest.warns(RuntimeWarning, match="not fused, because sum is not elementwise"):
        f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        value, grad = f(x + 1)
        np.testing.assert_allclose(value, np.sum(np.sin(x + 1)), **TOL)
        np.testing.assert_allclose(grad, np.cos(x + 1), **TOL)


def test_without_numba_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(fused, "available", lambda: False)
    with pytest.raises(ImportError, match="pip install numba"):
        cr.compile(lambda x: x, backend="numba")
