"""Property tests (hypothesis): gradients through broadcasting, indexing and random graphs.

The expected gradients are built independently: for broadcasting, by summing ones over
the broadcast axes with NumPy; for indexing, by counting how often each element is picked;
for random graphs, by the ``autograd`` library.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=4))
    a_shape, b_shape = shapes.input_shapes
    a = draw(hnp.arrays(np.float64, a_shape, elements=st.floats(-3, 3)))
    b = draw(hnp.arrays(np.float64, b_shape, elements=st.floats(-3, 3)))
    return a, b, shapes.result_shape


@SETTINGS
@given(broadcastable_pair(), st.sampled_from(["add", "subtract", "multiply", "maximum"]))
def test_broadcast_gradients_have_input_shapes_and_right_values(pair, op):
    a, b, out_shape = pair
    ta = cr.tensor(a, requires_grad=True)
    tb = cr.tensor(b, requires_grad=True)
    w = np.arange(int(np.prod(out_shape)), dtype=np.float64).reshape(out_shape) % 5 - 2
    (getattr(cr, op)(ta, tb) * cr.tensor(w)).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    A = np.broadcast_to(a, out_shape)
    B = np.broadcast_to(b, out_shape)
    local = {
        "add": (np.ones(out_shape), np.ones(out_shape)),
        "subtract": (np.ones(out_shape), -np.ones(out_shape)),
        "multiply": (B, A),
        "maximum": ((A > B) + 0.5 * (A == B), (B > A) + 0.5 * (A == B)),
    }[op]

    def reduce_to(full, shape):
        # sum over leading axes and over axes where the input had length 1
        lead = full.ndim - len(shape)
        full = full.sum(axis=tuple(range(lead))) if lead else full
        for ax, n in enumerate(shape):
            if n == 1:
                full = full.sum(axis=ax, keepdims=True)
        return full.reshape(shape)

    np.testing.assert_allclose(ta.grad.data, reduce_to(w * local[0], a.shape), atol=1e-12)
    np.testing.assert_allclose(tb.grad.data, reduce_to(w * local[1], b.shape), atol=1e-12)


@st.composite
def array_and_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    kind = draw(st.sampled_from(["basic", "int_array", "bool_mask"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int_array":
        index = tuple(
            draw(hnp.arrays(np.int64, draw(st.integers(1, 6)),
                            elements=st.integers(-n, n - 1)))
            if i == 0 else slice(None)
            for i, n in enumerate(shape)
        )
    else:
        index = draw(hnp.arrays(np.bool_, shape))
    return shape, index


@SETTINGS
@given(array_and_index())
def test_index_gradients_count_how_often_each_element_is_picked(case):
    shape, index = case
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    t = cr.tensor(x, requires_grad=True)
    out = t[index]
    np.testing.assert_array_equal(out.data, x[index])
    (out * 2.0).sum().backward()
    # Expected: 2 × the number of times each element appears in x[index].
    ids = np.arange(x.size).reshape(shape)[index]
    counts = np.bincount(np.ravel(ids), minlength=x.size).reshape(shape)
    np.testing.assert_array_equal(t.grad.data, 2.0 * counts)


@SETTINGS
@given(array_and_index(), st.floats(-5, 5))
def test_setitem_gradient_routes_to_the_value_and_the_untouched_elements(case, v):
    shape, index = case
    if not isinstance(index, np.ndarray) and not all(
        isinstance(i, (slice, int, type(None), type(Ellipsis))) for i in
        (index if isinstance(index, tuple) else (index,))
    ):
        return  # integer arrays may repeat an element: which write wins is unspecified
    base = cr.tensor(np.ones(shape), requires_grad=True)
    value = cr.tensor(np.float64(v), requires_grad=True)
    x = base * 1.0
    x[index] = value * 3.0
    x.sum().backward()
    picked = np.zeros(shape, dtype=bool)
    picked[index] = True
    np.testing.assert_array_equal(base.grad.data, (~picked).astype(float))
    np.testing.assert_allclose(value.grad.data, 3.0 * picked.sum())


# ----- random graphs: chains, diamonds, a value used twice by one op --------------------------

_GRAPH_OPS = ("sin", "tanh", "multiply", "add", "subtract", "affine", "square", "double")


@st.composite
def random_program(draw):
    """Leaves of shape (3,), () or (1, 3); then steps, each an op on one or two earlier
    values (the same one twice is allowed); the output sums some of the values."""
    shapes = draw(st.lists(st.sampled_from([(3,), (), (1, 3)]), min_size=1, max_size=3))
    leaves = [draw(hnp.arrays(np.float64, s, elements=st.floats(-2, 2))) for s in shapes]
    steps = []
    for k in range(draw(st.integers(1, 14))):
        available = len(leaves) + k
        steps.append((draw(st.sampled_from(_GRAPH_OPS)),
                      draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))))
    outputs = draw(st.lists(st.integers(0, len(leaves) + len(steps) - 1), min_size=1,
                            max_size=3))
    return leaves, steps, outputs


def _run_program(steps, outputs, leaves, xp):
    values = list(leaves)
    for op, i, j in steps:
        a, b = values[i], values[j]
        if op == "sin":
            values.append(xp.sin(a))
        elif op == "tanh":
            values.append(xp.tanh(a))
        elif op == "multiply":
            values.append(a * b)
        elif op == "add":
            values.append(a + b)
        elif op == "subtract":
            values.append(a - b)
        elif op == "square":  # one value as both arguments of one op
            values.append(a * a)
        elif op == "double":
            values.append(a + a)
        else:
            values.append(a * 0.5 + 0.1)
    total = xp.sum(values[outputs[0]])
    for k in outputs[1:]:
        total = total + xp.sum(values[k])
    return total


@pytest.mark.filterwarnings("ignore:Output seems independent of input")  # autograd's, for a
@settings(max_examples=150, deadline=None)  # leaf the output does not use: expected 0 then
@given(random_program())
def test_backward_through_random_graphs_matches_autograd(program):
    leaves, steps, outputs = program
    tensors = [cr.tensor(v, requires_grad=True) for v in leaves]
    _run_program(steps, outputs, tensors, cr).backward()

    def f(*xs):
        return _run_program(steps, outputs, xs, anp)

    for k, (leaf, t) in enumerate(zip(leaves, tensors)):
        expected = autograd.grad(f, k)(*leaves)
        got = np.zeros_like(leaf) if t.grad is None else t.grad.data
        assert got.shape == leaf.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
