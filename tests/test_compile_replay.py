"""cr.compile's replay of scalar programs (Python-float code): the ``.grad`` it leaves.

A micrograd-style step (one 0-d Tensor per weight, ``backward()`` inside) compiles to
Python-float code whose gradients are written together at the end (``scalar_grads``).
Each ``.grad`` must still be what eager backward leaves: a new Tensor per call around its
own writable 0-d float64 array, equal to eager's; parameters changed outside are read
again; ``p.grad = None`` inside behaves as eagerly."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import codegen
from chainrule.tensor import Tensor, make

TOL = dict(rtol=1e-12, atol=1e-12)


def _scalars(values):
    return [cr.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]


def _mlp(seed=0, sizes=(3, 4, 4, 1)):
    """A scalar MLP's parameters (weights then biases, per layer) and its input."""
    r = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = [_scalars(r.uniform(-1, 1, fan_in)) for _ in range(fan_out)]
        b = _scalars(r.uniform(-0.1, 0.1, fan_out))
        layers.append((w, b))
    return layers, [float(v) for v in r.uniform(-1, 1, sizes[0])]


def _params(layers):
    return [p for w, b in layers for row in w for p in row] + \
        [p for _, b in layers for p in b]


def _forward(layers, x):
    h = x
    for k, (w, b) in enumerate(layers):
        out = []
        for row, bias in zip(w, b):
            act = bias
            for wi, xi in zip(row, h):
                act = act + wi * xi
            out.append(cr.tanh(act) if k < len(layers) - 1 else act)
        h = out
    return h[0]


def _step_of(layers, x, params):
    def step():
        for p in params:
            p.grad = None
        loss = (_forward(layers, x) - 1.0) ** 2
        loss.backward()
        return loss
    return step


def _grads(params):
    return [None if p.grad is None else np.array(p.grad.data) for p in params]


def test_scalar_step_grads_equal_eager_and_are_fresh_tensors():
    layers, x = _mlp(0)
    params = _params(layers)
    step = _step_of(layers, x, params)
    compiled = cr.compile(step)
    assert "_scalar_grads(" in (compiled(), compiled.source)[1]
    held = params[0].grad  # a gradient kept from an earlier call must not change
    held_value = float(held.data)
    for seed in range(3):
        r = np.random.default_rng(seed + 10)
        for p in params:  # parameters changed outside between calls are read again
            p.data = np.array(r.uniform(-1, 1), dtype=np.float64)
        loss = compiled()
        got = _grads(params)
        want_loss = step()
        np.testing.assert_allclose(float(np.asarray(loss)), want_loss.item(), **TOL)
        for g, p in zip(got, params):
            np.testing.assert_allclose(g, p.grad.data, **TOL)
    compiled()
    assert float(held.data) == held_value and params[0].grad is not held
    for p in params:
        g = p.grad
        assert type(g) is Tensor and type(g.data) is np.ndarray
        assert g.data.shape == () and g.data.dtype == np.float64 and g.data.flags.writeable
        assert not g.requires_grad and g.grad is None and g.name is None
    # Each gradient is its own number: writing into one changes no other.
    before = _grads(params)
    params[0].grad.data[...] = 123.0
    assert float(params[0].grad.data) == 123.0
    for g, p in zip(before[1:], params[1:]):
        assert float(p.grad.data) == float(g)


def test_grad_set_to_none_inside_is_none_after_the_call():
    a, b, c = _scalars([0.5, -1.5, 2.0])

    def step():
        c.grad = None  # before backward, which then writes it
        loss = a * b + b * b + c * c
        loss.backward()
        b.grad = None  # dropped after backward
        return loss

    compiled = cr.compile(step)
    for k in range(3):
        b.grad = c.grad = make(np.array(7.0))
        b.data = np.array(k - 1.5)
        compiled()
        assert b.grad is None
        np.testing.assert_allclose(a.grad.data, b.data, **TOL)
        np.testing.assert_allclose(c.grad.data, 2 * c.data, **TOL)


def test_input_tensor_holders_and_partial_order():
    """Gradients written into the call's input Tensors (T) and into some of the states."""
    w = _scalars([0.3, -0.7])

    def step(x, y):
        loss = cr.sin(x * w[1]) + y * y
        loss.backward()
        return loss

    compiled = cr.compile(step)
    for v in (0.2, 1.1):
        x, y = _scalars([v, 2 * v])
        x2, y2 = _scalars([v, 2 * v])
        w[1].grad = None
        compiled(x, y)
        got = [x.grad.data, y.grad.data, w[1].grad.data]
        w[1].grad = None
        step(x2, y2)
        for g, want in zip(got, [x2.grad.data, y2.grad.data, w[1].grad.data]):
            np.testing.assert_allclose(g, want, **TOL)
        assert w[0].grad is None


def test_scalar_grads_sets_every_slot_make_sets():
    """If Tensor gains a slot, scalar_grads (which builds Tensors without calling make)
    must set it too: compare every slot with make's."""
    holders = _scalars([1.0, 2.0, 3.0])
    codegen.scalar_grads(holders, (4.0, 5.0))
    assert holders[2].grad is None
    reference = make(np.array(4.0))
    for name in Tensor.__slots__:
        if name in ("__weakref__", "data"):
            continue
        assert getattr(holders[0].grad, name) == getattr(reference, name), name
    assert [float(h.grad.data) for h in holders[:2]] == [4.0, 5.0]


def test_an_argument_named_like_the_helper():
    def f(_scalar_grads):
        y = _scalar_grads * _scalar_grads
        y.backward()
        return y

    compiled = cr.compile(f)
    for v in (1.5, -2.0):
        t = cr.tensor(np.array(v), requires_grad=True)
        compiled(t)
        np.testing.assert_allclose(t.grad.data, 2 * v, **TOL)


@pytest.mark.parametrize("n", [1, 70])
def test_many_and_single_scalar_gradients(n):
    params = _scalars(np.linspace(-1, 1, n))

    def step():
        loss = params[0] * 0.0
        for k, p in enumerate(params):
            loss = loss + (k + 1) * cr.exp(p)
        loss.backward()
        return loss

    compiled = cr.compile(step)
    for _ in range(2):
        for p in params:
            p.grad = None
        compiled()
    for k, p in enumerate(params):
        np.testing.assert_allclose(p.grad.data, (k + 1) * np.exp(p.data), **TOL)


def test_a_model_held_by_a_plain_object_is_guarded():
    """A step closing over a plain object (a trainer) that holds the model: switching the
    model to eval mode must trace again, not replay the training-mode code."""

    class Trainer:  # neither a Module nor callable
        def __init__(self):
            self.model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Dropout(0.5))

        def run(self, x):
            return self.model(x).sum()

    trainer = Trainer()
    closure = cr.compile(lambda x: trainer.model(x).sum())
    method = cr.compile(trainer.run)
    x = cr.tensor(np.ones((2, 3), dtype=np.float32))
    for compiled in (closure, method):
        trainer.model.train()
        compiled(x)
        compiled(x)
        trainer.model.eval()
        np.testing.assert_allclose(compiled(x).item(), trainer.model(x).sum().item(),
                                   rtol=1e-6)
        assert "training" in compiled.cache_info().retraces[-1] or \
            "module" in compiled.cache_info().retraces[-1]


def test_modules_inside_another_are_guarded_once():
    from chainrule.compile import guards

    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))
    layers = [model[0], model[2]]
    loss = cr.nn.MSELoss()
    found = guards.find_modules(lambda: (layers, model, loss))
    assert sorted(map(id, found)) == sorted([id(model), id(loss)])
    before = guards.module_key(found)
    layers[1].eval()  # a layer's flag is still part of the key, through the model's
    assert guards.module_key(found) != before


def test_objects_that_answer_every_attribute_do_not_break_the_module_search():
    from unittest import mock

    class Trainer:
        def __init__(self):
            self.model = cr.nn.Linear(2, 1)
            self.log = mock.Mock()  # has .param_groups and .step, like an optimizer

    trainer = Trainer()
    compiled = cr.compile(lambda x: trainer.model(x).sum())
    x = cr.tensor(np.ones((3, 2), dtype=np.float32))
    compiled(x)
    np.testing.assert_allclose(compiled(x).item(), trainer.model(x).sum().item(), rtol=1e-6)
    assert compiled._modules == [trainer.model]


def _scalar_registry_cases():
    """(name, 0-d float64 values) for each primitive with a Python-float form, from the
    first element of each argument of its first sample (so, within its domain)."""
    from chainrule.compile import adapter

    return [(name, [float(np.ravel(a)[0]) for a in args])
            for name, args in adapter.float_form_samples()]


def test_registry_scalar_steps_leave_the_grads_eager_leaves():
    """One step over every primitive with a scalar form: each applied to its own 0-d
    parameters, backward() of their sum; the compiled step (Python-float code, its .grad
    written by scalar_grads) must leave the .grad eager leaves, at 1e-12."""
    from chainrule.autodiff.primitive import REGISTRY

    candidates = _scalar_registry_cases()

    def build(cases):
        params = [_scalars(values) for _, values in cases]

        def step():
            total = params[0][0] * 0.0
            for (name, _), ps in zip(cases, params):
                total = total + REGISTRY[name](*ps)
            total.backward()
            return total
        return params, step

    def on_floats(case) -> bool:  # is its step Python-float code? (abs's rule needs sign)
        compiled = cr.compile(build([case])[1])
        compiled()
        return "_scalar_grads(" in compiled.source

    cases = [case for case in candidates if on_floats(case)]
    assert len(cases) >= 15 and len(cases) >= len(candidates) - 3, [n for n, _ in cases]
    params, step = build(cases)
    twins, eager_step = build(cases)
    compiled = cr.compile(step)
    compiled()
    assert "_scalar_grads(" in compiled.source and "math." in compiled.source
    for k in range(2):
        for ps, qs in zip(params, twins):
            for p, q in zip(ps, qs):
                p.grad = q.grad = None
                p.data = q.data = np.array(float(p.data) * (1 + 0.01 * k))
        compiled()
        eager_step()
        for (name, _), ps, qs in zip(cases, params, twins):
            for p, q in zip(ps, qs):
                assert type(p.grad) is Tensor and p.grad.data.shape == (), name
                np.testing.assert_allclose(p.grad.data, q.grad.data, **TOL, err_msg=name)
