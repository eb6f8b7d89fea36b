"""``backward()`` inside ``cr.compile``: the traced sweep against the general one and eager.

A trace runs ``backward()`` through ``traced_sweep.sweep_traced``, which writes out the
common cases of ``link.step``. The general sweep (``backward._sweep``, ``step`` at every
node) is the reference: forced in its place, it must record the same program (the same
``.source``, chain-rule comments included) and give the same gradients, to the bit; both
must give eager's gradients (1e-12), on the traced call and on replays.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import backward
from chainrule.autodiff.link import DETACHED
from chainrule.autodiff.primitive import REGISTRY

TOL = dict(rtol=1e-12, atol=1e-12)


def _general_sweep(roots, cot, retain_graph, listener):
    backward._sweep(roots, None, cot, set(), None, DETACHED, retain_graph, listener)


def _leaves(out):
    return [np.asarray(x.data if isinstance(x, cr.Tensor) else x)
            for x in cr.autodiff.pytree.tree_leaves(out)]


def _compare(monkeypatch, f, args, other_args=None):
    """Trace ``f`` on ``args`` with each sweep, then replay it (on ``other_args`` if
    given): the programs must be equal, their results equal and eager's."""
    points = [args, args if other_args is None else other_args]  # traced, replayed
    calls = []
    lean = backward.sweep_traced

    def counted(*a):
        calls.append(1)
        return lean(*a)

    monkeypatch.setattr(backward, "sweep_traced", counted)
    c_lean = cr.compile(f)
    got = [_leaves(c_lean(*point)) for point in points]
    assert calls, "backward() in the trace did not run the traced sweep"
    monkeypatch.setattr(backward, "sweep_traced", _general_sweep)
    c_general = cr.compile(f)
    reference = [_leaves(c_general(*point)) for point in points]
    monkeypatch.undo()
    assert c_lean.source == c_general.source
    for point, leaves, reference_leaves in zip(points, got, reference):
        want = _leaves(f(*point))
        assert len(leaves) == len(reference_leaves) == len(want)
        for a, b, w in zip(leaves, reference_leaves, want):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == w.dtype
            np.testing.assert_allclose(a, w, **TOL)
    return c_lean.source


def _cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        first = prim.samples(np.random.default_rng(5)) or ()
        second = prim.samples(np.random.default_rng(6)) or ()
        for k, ((args, params), (args2, _)) in enumerate(zip(first, second)):
            cases.append(pytest.param(name, args, args2, params, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("name,args,args2,params", _cases())
def test_every_primitive_traced_backward_records_what_the_general_sweep_records(
        monkeypatch, name, args, args2, params):
    prim = REGISTRY[name]
    positions = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)
                 and a.dtype.kind == "f" and i not in prim.nondiff_args]
    if not positions:
        return
    out_shape = np.shape(prim(*args, **params))
    u = np.random.default_rng(2).standard_normal(out_shape)

    def f(*xs):
        ts = list(args)
        for i, x in zip(positions, xs):
            ts[i] = cr.tensor(x, requires_grad=True)
        # a chain of two applications: a node's cotangent comes from another node
        (cr.sin(prim(*ts, **params)) * 1.5).backward(u)
        return [ts[i].grad for i in positions]

    xs = [args[i] for i in positions]
    others = [args2[i] for i in positions]
    same_shapes = all(np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
                      for a, b in zip(xs, others))
    _compare(monkeypatch, f, xs, others if same_shapes else None)


def test_a_value_with_two_consumers_sums_both_links(monkeypatch):
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        h = cr.named(x * 2.0, "h")
        y = cr.sum(h * h + cr.exp(h) * cr.sin(x))  # h: three consumers, x: two
        y.backward()
        return x.grad

    source = _compare(monkeypatch, f, [np.linspace(-1.0, 1.0, 5)], [np.linspace(-0.5, 2.0, 5)])
    assert "# chain rule through" in source and "g_h" in source


def test_a_broadcast_argument_gets_its_cotangent_summed_to_its_shape(monkeypatch):
    def f(w0, b0):
        w = cr.tensor(w0, requires_grad=True)
        b = cr.tensor(b0, requires_grad=True)
        (cr.tanh(w * 3.0 + b) ** 2).sum().backward()
        return w.grad, b.grad

    rng = np.random.default_rng(0)
    _compare(monkeypatch, f, [rng.standard_normal((4, 3)), rng.standard_normal(3)],
             [rng.standard_normal((4, 3)), rng.standard_normal(3)])


def test_a_float32_argument_gets_a_float32_cotangent(monkeypatch):
    def f(a0, b0):
        a = cr.tensor(a0, requires_grad=True)
        b = cr.tensor(b0, requires_grad=True)
        # leaky_relu's derivative on float32 is float64 (np.where of 1.0 and 0.01)
        (cr.sin(a * b) + REGISTRY["leaky_relu"](a * 2.0)).sum().backward()
        return a.grad, b.grad

    rng = np.random.default_rng(1)
    a0 = rng.standard_normal(3).astype(np.float32)
    _compare(monkeypatch, f, [a0, rng.standard_normal(3)], [-a0, rng.standard_normal(3)])


def test_retain_grad_and_gradients_accumulated_over_two_backward_calls(monkeypatch):
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        h = cr.exp(x * x)
        h.retain_grad()
        y = cr.sum(cr.log(h + 1.0))
        y.backward(retain_graph=True)
        y.backward()  # adds into .grad
        return x.grad, h.grad

    _compare(monkeypatch, f, [np.array([0.3, -0.2, 0.8])], [np.array([0.1, 0.5, -0.4])])


def test_a_value_used_twice_by_one_op_along_a_chain(monkeypatch):
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        s = cr.exp(x)
        cr.sum(cr.sin(s ** s)).backward()  # both cotangents of s ** s reach s, summed
        return x.grad

    _compare(monkeypatch, f, [np.array([0.3, -1.2])], [np.array([2.0, 0.1])])


def test_several_outputs_and_a_long_chain(monkeypatch):
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = x
        for _ in range(200):
            y = y * 1.0001 + 0.0001
        z = cr.sin(y)
        backward.backward([y, z], [np.ones_like(x0), np.full_like(x0, 2.0)])
        return x.grad

    _compare(monkeypatch, f, [np.array(0.5)], [np.array(-0.25)])


def _raises_as_eagerly(f, x0):
    with pytest.raises(RuntimeError) as eager:
        f(x0)
    with pytest.raises(RuntimeError) as traced:
        cr.compile(f)(x0)
    assert str(traced.value) == str(eager.value)


def test_a_value_changed_in_place_after_use_raises_as_eagerly():
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        h = x * 2.0
        y = cr.sum(h * h)
        h += 1.0
        y.backward()
        return x.grad

    _raises_as_eagerly(f, np.ones(3))


def test_a_second_backward_through_a_freed_graph_raises_as_eagerly():
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = cr.sum(cr.sin(x) * x)
        y.backward()
        y.backward()
        return x.grad

    _raises_as_eagerly(f, np.ones(3))


def test_create_graph_still_records_the_differentiable_sweep(monkeypatch):
    calls = []
    lean = backward.sweep_traced

    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = cr.sum(x ** 3)
        y.backward(create_graph=True)
        g = x.grad
        x.grad = None
        cr.sum(g * g).backward()  # d/dx sum((3x²)²) = 36 x³
        return x.grad

    x0 = np.array([0.5, -1.5, 2.0])
    monkeypatch.setattr(backward, "sweep_traced", lambda *a: calls.append(1) or lean(*a))
    c = cr.compile(f)
    got = [c(x0), c(x0)]
    assert len(calls) == 1  # the second backward only: the first is recorded for grad
    for g in got:
        np.testing.assert_allclose(np.asarray(g.data), 36 * x0**3, **TOL)
