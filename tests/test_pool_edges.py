"""max_pool2d and conv2d at the edges: non-finite values (the chosen element and where its
gradient goes, as PyTorch's CPU kernel: the first maximum, the last NaN, the first element
inside the input for a window of -inf), extreme values, unbatched (C, H, W) input."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

inf, nan = math.inf, math.nan


def _pool(values, k=2, **kw):
    x = cr.tensor(np.array([[values]], dtype=np.float64), requires_grad=True)
    y = F.max_pool2d(x, k, **kw)
    y.sum().backward()
    return y.data.ravel().tolist(), x.grad.data.ravel().tolist()


@pytest.mark.parametrize(
    "values, out, grad",
    [
        ([[-inf, 1.0], [0.5, 0.2]], [1.0], [0, 1, 0, 0]),  # was nan: -inf * 0 in a product
        ([[inf, inf], [0.5, 0.2]], [inf], [1, 0, 0, 0]),  # two +inf: the first
        ([[-inf, -inf], [-inf, -inf]], [-inf], [1, 0, 0, 0]),  # all -inf: the first
        ([[1.0, nan], [nan, 2.0]], [nan], [0, 0, 1, 0]),  # NaN wins, the last one
        ([[nan, 1.0], [2.0, nan]], [nan], [0, 0, 0, 1]),
        ([[1e308, -1e308], [1e308, 0.0]], [1e308], [1, 0, 0, 0]),
        # -0 == 0: a tie, the first; the value is +0.0 (PyTorch -0.0): equal, sign not kept
        ([[-0.0, 0.0], [0.0, -1.0]], [0.0], [1, 0, 0, 0]),
    ],
)
def test_non_finite_windows(values, out, grad):
    got, g = _pool(values)
    assert np.array_equal(got, out, equal_nan=True) and math.copysign(1, got[0]) == math.copysign(
        1, out[0]
    )
    assert g == grad


def test_padding_is_never_picked_even_when_all_is_minus_inf():
    # Padding 1, kernel 2, stride 1 on a 2x3 of -inf: each window's first element inside.
    got, g = _pool([[-inf] * 3] * 2, padding=1)
    assert got == [-inf] * 4
    # windows (rows -1..0 / 0..1 at stride 2, cols -1..0 / 1..2): first inside elements
    # (0,0), (0,1), (1,0), (1,1).
    assert g == [1, 1, 0, 1, 1, 0]


def _reference(x, k, s, p, d, ceil_mode):
    """PyTorch's CPU max pooling, one window at a time in plain Python (for a 2-D x)."""
    h, w = x.shape
    oh = F._pool_out_size(h, k, s, p, d, ceil_mode)
    ow = F._pool_out_size(w, k, s, p, d, ceil_mode)
    out = np.empty((oh, ow))
    grad = np.zeros_like(x)
    for r in range(oh):
        for c in range(ow):
            taps = [(r * s - p + i * d, c * s - p + j * d) for i in range(k) for j in range(k)]
            taps = [(a, b) for a, b in taps if 0 <= a < h and 0 <= b < w]
            best, where = -inf, taps[0]
            for a, b in taps:
                v = x[a, b]
                if v > best or math.isnan(v):
                    best, where = v, (a, b)
            out[r, c] = best
            grad[where] += 1
    return out, grad


def _has_empty_window(n, size, k, s, p, d):
    return any(all(not 0 <= o * s - p + i * d < n for i in range(k)) for o in range(size))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # y.sum() of inf and -inf
def test_random_windows_with_non_finite_values_match_the_scan():
    rng = np.random.default_rng(3)
    pool = np.array([-inf, inf, nan, 1.0, 1.0, -1e308, 1e308, 0.0, 2.0])
    checked = 0
    for _ in range(150):
        h, w = rng.integers(1, 6, 2)
        k, s, d = (int(v) for v in rng.integers(1, 4, 3))
        s = min(s, 2)
        d = min(d, 2)
        p = int(rng.integers(0, k // 2 + 1))
        ceil_mode = bool(rng.integers(0, 2))
        try:
            sizes = [F._pool_out_size(n, k, s, p, d, ceil_mode) for n in (h, w)]
        except ZeroDivisionError:
            continue
        if min(sizes) < 1:
            continue
        # Skip geometries with a window of padding alone (tested apart).
        if _has_empty_window(h, sizes[0], k, s, p, d) or _has_empty_window(w, sizes[1], k, s, p, d):
            continue
        x = rng.choice(pool, (h, w))
        xt = cr.tensor(x[None, None], requires_grad=True)
        y = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil_mode)
        y.sum().backward()
        out, grad = _reference(x, k, s, p, d, ceil_mode)
        np.testing.assert_array_equal(y.data[0, 0], out)
        np.testing.assert_array_equal(xt.grad.data[0, 0], grad)
        checked += 1
    assert checked > 60


def test_a_window_of_padding_alone_is_minus_inf_without_gradient():
    # Height 1, kernel 2, dilation 2, padding 1: each window's taps are rows -1 and 1.
    x = cr.tensor(np.array([[[[5.0, 1.0, 2.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2, 2, 1, 2)
    assert y.data.ravel().tolist() == [-inf, -inf]
    y.sum().backward()
    assert x.grad.data.ravel().tolist() == [0.0, 0.0, 0.0]


def test_unbatched_input_to_pooling_and_convolution():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6)).astype(np.float32)
    pool = nn.MaxPool2d(2)
    np.testing.assert_array_equal(pool(cr.tensor(x)).data, pool(cr.tensor(x[None])).data[0])
    conv = nn.Conv2d(3, 4, 3, padding=1)
    single = conv(cr.tensor(x))
    assert single.shape == (4, 6, 6)
    np.testing.assert_allclose(single.data, conv(cr.tensor(x[None])).data[0], rtol=1e-6)
    xt = cr.tensor(x, requires_grad=True)
    conv(xt).sum().backward()
    assert xt.grad.shape == (3, 6, 6)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        conv(cr.zeros(6, 6))
    with pytest.raises(ValueError, match="unbatched"):
        conv(cr.zeros(2, 6, 6))
