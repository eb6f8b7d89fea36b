"""Registry-driven: every primitive's sample, compiled, against eager chainrule.

For each registered sample, the value, the VJP, the JVP and a second derivative
(reverse-over-reverse) are computed by ``cr.compile`` and eagerly, in float64, to 1e-12.
Each compiled function is traced on one sample and then replayed on a second sample of
the same shapes (another seed): a value baked into the code as a constant, instead of
read from the inputs, would show there.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.primitive import REGISTRY

TOL = dict(rtol=1e-12, atol=1e-12)


def _cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.samples is None:
            continue
        first = prim.samples(np.random.default_rng(7))
        second = prim.samples(np.random.default_rng(8))
        for k, ((args, params), (args2, _)) in enumerate(zip(first, second)):
            cases.append(pytest.param(name, args, args2, params, id=f"{name}-{k}"))
    return cases


def _positions(prim, args):
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in prim.nondiff_args]


def _same_shapes(a, b):
    return all(np.shape(x) == np.shape(y) and type(x) is type(y) for x, y in zip(a, b))


def _close(got, want, what):
    got_leaves = cr.autodiff.pytree.tree_leaves(got)
    want_leaves = cr.autodiff.pytree.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves), what
    for g, w in zip(got_leaves, want_leaves):
        g = g.data if isinstance(g, cr.Tensor) else g
        w = w.data if isinstance(w, cr.Tensor) else w
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), err_msg=what, **TOL)


@pytest.mark.parametrize("name,args,args2,params", _cases())
def test_compiled_primitive_equals_eager(name, args, args2, params):
    prim = REGISTRY[name]
    positions = _positions(prim, args)
    points = [args] + ([args2] if _same_shapes(args, args2) else [])
    rng = np.random.default_rng(3)

    def value(*xs):
        return prim(*xs, **params)

    compiled_value = cr.compile(value)
    for point in points:
        _close(compiled_value(*point), value(*point), f"{name}: value")
    if not positions:
        return

    def fixed(point):
        """The primitive as a function of its differentiable arguments only."""
        def f(*dx):
            full = list(point)
            for i, x in zip(positions, dx):
                full[i] = x
            return prim(*full, **params)
        return f

    out = value(*args)
    u = rng.standard_normal(out.shape)
    ts = tuple(rng.standard_normal(np.shape(args[i])) for i in positions)
    ws = tuple(rng.standard_normal(np.shape(args[i])) for i in positions)
    argnums = tuple(range(len(positions)))

    def make(point):
        f = fixed(point)

        def vjp(u, *dx):
            return cr.vjp(f, *dx)[1](u)

        def jvp(ts, *dx):
            return cr.jvp(f, dx, ts)[1]

        def second(u, ws, *dx):
            def inner(*ys):
                gs = cr.vjp(f, *ys)[1](u)
                return sum(cr.sum(g * w) for g, w in zip(gs, ws))
            return cr.grad(inner, argnums=argnums)(*dx)

        return vjp, jvp, second

    # Non-differentiable arguments (indices, conditions) are closed over: constants.
    vjp0, jvp0, second0 = make(args)
    compiled = {"VJP": cr.compile(vjp0), "JVP": cr.compile(jvp0),
                "second order": cr.compile(second0)}
    for point in points:
        vjp, jvp, second = make(point)
        dx = [point[i] for i in positions]
        if point is not args:  # replay the trace made at `args` with new values
            vjp, jvp, second = vjp0, jvp0, second0
            for i in range(len(args)):
                if i not in positions and not np.array_equal(np.asarray(args[i]),
                                                             np.asarray(point[i])):
                    return  # another non-differentiable argument: another function
        _close(compiled["VJP"](u, *dx), vjp(u, *dx), f"{name}: VJP")
        _close(compiled["JVP"](ts, *dx), jvp(ts, *dx), f"{name}: JVP")
        _close(compiled["second order"](u, ws, *dx), second(u, ws, *dx),
               f"{name}: second order")
