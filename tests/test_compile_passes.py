"""cr.compile's simplification (constants folded, identities, common subexpressions, dead
code) against eager chainrule: each compiled function runs on inputs other than those it
was traced with, and its results, ``.grad`` and parameters must equal eager's."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import compiled as compiled_module
from chainrule.compile import passes

TOL = dict(rtol=1e-12, atol=1e-12)


def _data(v):
    return v.data if isinstance(v, cr.Tensor) else np.asarray(v)


def _same_as_eager(fn, inputs):
    """Compile ``fn``; for each input, the compiled results equal eager ``fn``'s."""
    compiled = cr.compile(fn)
    for x in inputs:
        got = compiled(x)
        want = fn(cr.tensor(x))
        for g, w in zip(got, want):
            np.testing.assert_allclose(_data(g), _data(w), **TOL)
    return compiled


# ----- values overwritten in place -------------------------------------------------------

def _shared_then_written(x):
    a = x * 2
    b = x * 2  # the same expression as a, but a changes below
    a += 1
    return a, b


def _identity_then_written(x):
    h = x + 0.5
    a = h * 1.0  # equal to h, but a changes below
    a += 1
    return h, a


def _operand_written_after_identity(x):
    h = x + 0.5
    a = h * 1.0  # equal to h as computed; h changes below, a must not
    h += 1
    return h, a


def _constant_then_written(x):
    w = cr.ones(3, dtype=np.float64) * 2  # constant when computed
    d = w * 3  # read before the write: stays 6
    w += x
    return w * 1.0, d


@pytest.mark.parametrize("fn", [_shared_then_written, _identity_then_written,
                                _operand_written_after_identity, _constant_then_written])
def test_a_value_written_in_place_is_not_shared_replaced_or_folded(fn):
    r = np.random.default_rng(0)
    _same_as_eager(fn, [r.standard_normal(3) for _ in range(3)])


# ----- lazy folding ----------------------------------------------------------------------

def _count_constants(monkeypatch) -> list:
    """The values simplification makes hoisted constants of, in order."""
    made = []
    real = passes.simplify

    def counting(instrs, outputs, values, new_const):
        def counted(value):
            made.append(value)
            return new_const(value)
        return real(instrs, outputs, values, counted)

    monkeypatch.setattr(compiled_module.passes, "simplify", counting)
    return made


@pytest.mark.parametrize("shape", [(), (4,)], ids=["floats", "arrays"])
def test_a_constant_backward_chain_makes_one_constant(monkeypatch, shape):
    """y = y * a + b, n times: every link of the backward pass is constant, so x.grad is
    the constant a**n; folding makes that one constant, not one per link."""
    made = _count_constants(monkeypatch)
    n, a, b = 200, 1.0001, 0.0001

    def chain(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = x
        for _ in range(n):
            y = y * a + b
        y.sum().backward()
        return y, x.grad

    r = np.random.default_rng(1)
    compiled = _same_as_eager(chain, [r.standard_normal(shape) for _ in range(3)])
    assert len(made) == 1
    np.testing.assert_allclose(made[0], np.full(shape, a ** n), **TOL)
    _, grad = compiled(np.zeros(shape))
    np.testing.assert_allclose(grad, np.full(shape, a ** n), **TOL)


def test_a_folded_value_read_by_kept_ops_an_output_a_grad_and_a_write(monkeypatch):
    """A folded value ``c`` read by two kept Ops, an output, a parameter's ``.grad`` (the
    gradient of sum(p * c) is c) and an in-place update of the parameter: one constant,
    and every reader sees it as eager does, call after call."""
    made = _count_constants(monkeypatch)
    w = np.linspace(0.5, 1.5, 3)

    def make():
        params = [cr.tensor(np.ones(3), requires_grad=True)]

        def step(x):
            p = params[0]
            p.grad = None
            c = cr.exp(cr.tensor(w)) * 2  # constant: folded
            loss = cr.sum(p * c)
            loss.backward()
            grad = p.grad.data.copy()
            with cr.no_grad():
                p -= 0.1 * c  # a write that reads the folded value
            return x * c + x / c, c, grad
        return params[0], step

    p_eager, eager = make()
    p_compiled, step = make()
    compiled = cr.compile(step)
    r = np.random.default_rng(2)
    for _ in range(3):
        x = r.standard_normal(3)
        got, want = compiled(x), eager(cr.tensor(x))
        for g, e in zip(got, want):
            np.testing.assert_allclose(_data(g), _data(e), **TOL)
        np.testing.assert_allclose(p_compiled.data, p_eager.data, **TOL)
        np.testing.assert_allclose(p_compiled.grad.data, p_eager.grad.data, **TOL)
        p_compiled.grad.data[...] = 99.0  # a fresh .grad each call: the constant is safe
    # One constant each for c, the gradient (equal to c, but another value of the
    # program) and 0.1 * c; none for exp(w) or the links of the backward pass.
    c = 2 * np.exp(w)
    assert len(made) == 3
    for m, v in zip(made, [c, c, 0.1 * c]):
        np.testing.assert_allclose(m, v, **TOL)


def test_identities_and_common_subexpressions_on_folded_values():
    """A folded value equal to one is an identity (``x * ones``: nothing left); two equal
    expressions of the same folded value are computed once."""
    ones = np.ones(3)
    w = np.arange(1.0, 4.0)

    def f(x):
        one = cr.tensor(ones) * 1.0  # folded: ones
        c = cr.tensor(w) + 1.0  # folded
        return x * one, cr.sin(x * c) + cr.sin(x * c)

    r = np.random.default_rng(3)
    compiled = _same_as_eager(f, [r.standard_normal(3) for _ in range(2)])
    src = compiled.source
    assert src.count("np.sin") == 1
    assert src.count(" * ") == 1  # x * c once; x * one is x


def test_folded_values_inside_nested_arguments_and_parameters():
    """Folded values read inside a list argument of an Op with parameters (concatenate)
    become constants there; Ops with parameters of folded values fold (a sum over an
    axis, an index)."""
    w = np.arange(1.0, 4.0)

    def f(x):
        c = cr.exp(cr.tensor(w)) - 1.0  # folded
        lo = cr.sum(cr.tensor(w), axis=0) * -0.1  # folded, through an Op with parameters
        joined = cr.concatenate([x, c, x * c], axis=0)
        return cr.maximum(joined, lo), cr.sum(joined * c[0], axis=0)

    r = np.random.default_rng(4)
    compiled = _same_as_eager(f, [r.standard_normal(3) * 3 for _ in range(3)])
    assert "np.exp" not in compiled.source
