"""Backward keeps an unshared gradient array as ``.grad`` (no copy), and copies a shared one.

Whether an array is shared is read from ``sys.getrefcount``, whose counts depend on the
interpreter (chainrule.autodiff.refcount). These tests fail if a new interpreter changes
them: a shared array kept (``.grad`` would alias someone else's memory, a silent bug) or
an unshared one copied (a pass over memory per parameter per step).
"""

import weakref

import numpy as np

import chainrule as cr
from chainrule.autodiff.refcount import unshared


def _leaf_gradient(make_cotangent):
    """``x.grad`` after backward through a primitive whose VJP returns make_cotangent(g)."""
    ident = cr.primitive(lambda x: x.copy(), name="ident",
                         vjp=lambda g, ans, x: make_cotangent(g))
    x = cr.tensor(np.zeros(3), requires_grad=True)
    ident(x).backward(np.ones(3))
    return x.grad.data


def test_an_unshared_gradient_array_becomes_grad_as_it_is():
    returned = []

    def fresh(g):
        arr = np.asarray(g) * 2.0
        returned.append(weakref.ref(arr))
        return arr

    grad = _leaf_gradient(fresh)
    assert returned[0]() is grad
    np.testing.assert_array_equal(grad, [2.0, 2.0, 2.0])


def test_an_unshared_view_is_kept_too():
    returned = []

    def fresh_view(g):
        arr = np.concatenate([np.asarray(g) * 3.0, np.zeros(3)])[:3]  # base held by it only
        returned.append(weakref.ref(arr))
        return arr

    grad = _leaf_gradient(fresh_view)
    assert returned[0]() is grad
    np.testing.assert_array_equal(grad, [3.0, 3.0, 3.0])


def test_a_gradient_array_held_elsewhere_is_copied():
    kept = np.full(3, 5.0)
    grad = _leaf_gradient(lambda g: kept)
    assert grad is not kept and not np.shares_memory(grad, kept)
    grad += 1.0
    np.testing.assert_array_equal(kept, [5.0, 5.0, 5.0])


def test_a_view_of_memory_held_elsewhere_is_copied():
    kept = np.full(6, 7.0)
    grad = _leaf_gradient(lambda g: kept[:3])
    assert not np.shares_memory(grad, kept)


def test_unshared_reads_the_callers_one_reference():
    a = np.ones(4)
    assert unshared(a)
    other = a
    assert not unshared(a)
    del other
    assert unshared(a)
    view = np.ones(8)[:4]
    assert unshared(view)
    base = view.base
    assert not unshared(view)
    del base
    assert not unshared(np.frombuffer(bytearray(32)))  # memory that is not an ndarray's
    assert not unshared([1.0])
