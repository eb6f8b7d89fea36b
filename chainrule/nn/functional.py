"""``cr.nn.functional``: activations, layers and losses as functions (``F.relu(x)``).

Everything here is composed from registered primitives (``chainrule.ops``), so it is
differentiable to any order without rules of its own; the losses live in
:mod:`chainrule.nn.losses` and are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import numpy_api as api
from chainrule.compile.effects import effect, traced_function
from chainrule.habits import axis_alias
from chainrule.nn.dtype_policy import check_input_dtype
from chainrule.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from chainrule.ops import nn as _ops
from chainrule.tensor import Tensor

__all__ = [
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "dropout",
    "linear",
    "conv2d",
    "max_pool2d",
    "erf",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return int(v), int(v)
    if (
        isinstance(v, tuple | list)
        and len(v) == 2
        and all(isinstance(i, int | np.integer) for i in v)
    ):
        return int(v[0]), int(v[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")


def relu(x):
    """max(x, 0); d/dx = 1 for x > 0, else 0 (0 at the kink, as PyTorch)."""
    return api.relu(x)


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, else negative_slope * x; d/dx = 1 or negative_slope (at 0: slope)."""
    return api.where(x > 0, x, x * negative_slope)


def sigmoid(x):
    """1 / (1 + exp(-x)); d/dx = s (1 - s)."""
    return api.sigmoid(x)


def tanh(x):
    """tanh(x); d/dx = 1 - tanh(x)^2."""
    return api.tanh(x)


def erf(x):
    """The error function; d/dx erf(x) = 2/sqrt(pi) exp(-x^2)."""
    return _ops.erf(x)


def gelu(x, approximate: str = "none"):
    r"""GELU(x) = x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2.

    ``approximate="tanh"``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch.
    """
    if approximate == "none":
        return 0.5 * x * (1.0 + _ops.erf(x * _SQRT1_2))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + api.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    if beta == 1.0:
        soft = api.softplus(x)
    else:
        soft = api.softplus(x * beta) / beta
    return api.where(x * beta > threshold, x, soft)


def softmax(x, axis: int | None = None, dim: int | None = None):
    """exp(x_i) / sum_j exp(x_j) along ``axis`` (default the last; ``dim`` is PyTorch's
    name for it)."""
    return api.softmax(x, axis=axis_alias(axis, dim, "softmax"))


def log_softmax(x, axis: int | None = None, dim: int | None = None):
    """x_i - logsumexp(x) along ``axis`` (default the last; ``dim`` is PyTorch's name)."""
    return api.log_softmax(x, axis=axis_alias(axis, dim, "log_softmax"))


def _random_state() -> np.random.Generator:
    return api.random_generator()


def dropout(x, p: float = 0.5, training: bool = True):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted
    dropout), so the expectation is unchanged; the identity when not training.

    The mask comes from chainrule's global generator (``cr.manual_seed``).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if p == 1.0:
        return x * np.zeros_like(data)
    return x * _dropout_mask(data.shape, p, data.dtype)


@effect("a fresh dropout mask from chainrule's generator")
def _dropout_mask(shape: tuple, p: float, dtype) -> np.ndarray:
    """Keep each element with probability 1 - p, scaled by 1 / (1 - p) (compiled code draws
    a fresh mask on every call, in the eager order)."""
    keep = _random_state().random(shape) >= p
    return keep.astype(dtype) / np.asarray(1.0 - p, dtype=dtype)


@traced_function
def _max_mask(flat, widths, k, s, p, d) -> np.ndarray:
    """Boolean mask of the element PyTorch's max pooling picks in each window (see
    :func:`_window_choice`); all False for a window of padding alone."""
    raw = flat.data if isinstance(flat, Tensor) else np.asarray(flat)
    real = np.ones(raw.shape, bool)  # where the input is (not padding)
    if widths is not None:
        raw = np.pad(raw, widths, constant_values=-np.inf)
        real = np.pad(real, widths, constant_values=False)
    geo = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    windows = _ops._unfold_forward(raw, pad_value=-np.inf, **geo)
    inside = _ops._unfold_forward(real, pad_value=False, **geo)
    mask = np.zeros(windows.shape, dtype=bool)
    rows = np.flatnonzero(inside.any(axis=1))
    mask[rows, _window_choice(windows[rows], inside[rows])] = True
    return mask


def linear(x, weight, bias=None):
    """x @ weight.T + bias, weight of shape (out_features, in_features)."""
    in_features = weight.shape[-1]
    if x.shape[-1:] != (in_features,):
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} has {x.shape[-1] if x.ndim else 0} "
            f"features, but the weight of shape {tuple(weight.shape)} expects {in_features}"
        )
    check_input_dtype("linear", x, weight, bias)
    return _linear(x, weight, bias)


def _linear(x, weight, bias):
    """linear's primitive without linear's checks, for callers that made them (Linear,
    conv2d)."""
    if bias is None:
        return _ops.linear_prim(x, weight)
    return _ops.linear_prim(x, weight, bias)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    r"""2-D cross-correlation, as PyTorch's ``conv2d``.

    ``out[n, o, r, s] = b[o] + sum_{c,i,j} w[o, c, i, j] x_pad[n, c, r*sh + i*dh, s*sw + j*dw]``

    Computed as ``unfold`` (im2col) followed by one ``linear``: each output position's window
    becomes a row, and the kernel a matrix. ``x``: (N, C, H, W); ``weight``:
    (O, C / groups, kh, kw); ``padding`` an int, a pair, or ``"same"``/``"valid"``.  An
    unbatched input (C, H, W) gives an unbatched output, as in PyTorch.
    """
    return _conv2d(x, weight, bias, stride, padding, dilation, groups, "conv2d")


def _conv2d(x, weight, bias, stride, padding, dilation, groups: int, layer: str):
    """``conv2d``, its dtype error naming ``layer`` (``"conv2d"``, or ``"Conv2d"`` for the
    module, which calls this rather than ``conv2d`` so that the input is checked once)."""
    unbatched = getattr(x, "ndim", None) == 3
    if not unbatched and x.ndim != 4:
        raise ValueError(
            f"conv2d: expected input of shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}"
        )
    if weight.ndim != 4:
        raise ValueError(f"conv2d: expected weight of shape (O, C, kh, kw), got {weight.shape}")
    check_input_dtype(layer, x, weight, bias)  # on x as given: "a NumPy array" stays one
    if unbatched:
        x = api.expand_dims(x, 0)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if c != cg * groups:
        raise ValueError(
            f"conv2d: input has {c} channels, but the weight of shape {tuple(weight.shape)} "
            f"with groups={groups} expects {cg * groups}"
        )
    if o % groups:
        raise ValueError(f"conv2d: out channels {o} not divisible by groups={groups}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise ValueError("conv2d: padding='same' needs stride 1")
        tot = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
        padding = (tot[0] // 2, tot[1] // 2)
        if tot[0] % 2 or tot[1] % 2:
            # An odd total (even kernel extent): the extra row/column goes on the bottom/right,
            # as PyTorch. Pad explicitly, then convolve without padding.
            x = api.pad(
                x,
                (
                    (0, 0),
                    (0, 0),
                    (padding[0], tot[0] - padding[0]),
                    (padding[1], tot[1] - padding[1]),
                ),
            )
            h, w = x.shape[2], x.shape[3]
            padding = (0, 0)
    padding = _pair(padding, "padding")
    geo = dict(kernel_size=(kh, kw), stride=stride, padding=padding, dilation=dilation)
    oh = _ops.out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = _ops.out_size(w, kw, stride[1], padding[1], dilation[1])
    outs = []
    og = o // groups
    for gi in range(groups):
        xg = x if groups == 1 else x[:, gi * cg : (gi + 1) * cg]
        wg = weight if groups == 1 else weight[gi * og : (gi + 1) * og]
        bg = bias if bias is None or groups == 1 else bias[gi * og : (gi + 1) * og]
        cols = _ops.unfold(xg, **geo)  # (N*oh*ow, cg*kh*kw)
        w2 = api.reshape(wg, (og, cg * kh * kw))
        out = _linear(cols, w2, bg)  # x and the weight were just checked
        outs.append(out)
    out = outs[0] if groups == 1 else api.concatenate(outs, axis=1)
    out = api.transpose(api.reshape(out, (n, oh, ow, o)), (0, 3, 1, 2))
    return out[0] if unbatched else out


def _pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Window positions along one axis, as PyTorch's pooling: with ``ceil_mode`` the count is
    rounded up, but a last window that would start in the right padding is dropped."""
    span = size + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return out


def _window_choice(windows: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The column PyTorch's max pooling picks in each row of ``windows`` (row-major
    scan, ``if val > best or isnan(val)``, starting from the first element inside the
    input with best = -inf): the first maximum, the last NaN, or the first inside."""
    nan = np.isnan(windows) & inside
    scores = np.where(inside & ~nan, windows, -np.inf)
    pick = np.argmax(scores, axis=1)
    rows = np.arange(len(pick))
    flat = scores[rows, pick] == -np.inf  # nothing above -inf: the first element inside
    pick[flat] = np.argmax(inside[flat], axis=1)
    has_nan = nan.any(axis=1)
    last_nan = nan.shape[1] - 1 - np.argmax(nan[:, ::-1], axis=1)
    pick[has_nan] = last_nan[has_nan]
    return pick


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
    """Maximum over each window, as PyTorch's ``max_pool2d`` (implicit -inf padding).

    ``ceil_mode=True`` rounds the number of windows up: the last window may start inside the
    (padded) input and run past its end, where it sees only -inf; a window that would start
    in the right padding is dropped (PyTorch's rule).

    Each window's output is one of its elements, chosen as PyTorch's CPU kernel does, and
    the gradient goes to it: the first maximum (ties); if the window holds NaN, the last
    NaN (the output is NaN); if it holds only -inf, its first element inside the input
    (never the padding); a window that holds only padding gives -inf and no gradient
    (PyTorch 2.13 reads out of bounds there).  Built from ``unfold``: the windows as rows,
    one element picked per row by indexing (so ``inf`` and ``-inf`` pass through exactly;
    a one-hot product would give ``inf * 0 = nan``).  An unbatched input (C, H, W) gives
    an unbatched output.
    """
    if getattr(x, "ndim", None) == 3:
        out = max_pool2d(api.expand_dims(x, 0), kernel_size, stride, padding, dilation, ceil_mode)
        return out[0]
    if x.ndim != 4:
        raise ValueError(
            f"max_pool2d: expected input (N, C, H, W) or (C, H, W), got shape {tuple(x.shape)}"
        )
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"max_pool2d: padding {p} should be at most half the kernel size {k}")
    n, c, h, w = x.shape
    oh = _pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    # Extra rows/columns past the right edge that the last (ceil_mode) window reaches.
    eh = max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]))
    ew = max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]))
    flat = api.reshape(x, (n * c, 1, h, w))
    widths = None
    if eh or ew:
        # Asymmetric padding: pad explicitly (zeros on the recorded path, -inf for the
        # argmax), then take the windows without further padding.
        widths = ((0, 0), (0, 0), (p[0], p[0] + eh), (p[1], p[1] + ew))
        mask = _max_mask(flat, widths, k, s, (0, 0), d)
        flat = api.pad(flat, widths)
        p = (0, 0)
    else:
        mask = _max_mask(flat, None, k, s, p, d)
    geo = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    cols = _ops.unfold(flat, **geo)  # (N*C*oh*ow, kh*kw)
    # The element picked in each window, by indexing through a boolean mask (no product:
    # inf * 0 would be nan); a window of padding alone picks nothing and gives -inf.
    out = api.sum(api.where(mask, cols, 0.0), axis=1)
    out = api.where(api.any(mask, axis=1), out, -np.inf)
    # Rows of `cols` run over (n*c, oh, ow): a reshape puts them back as (N, C, oh, ow).
    return api.reshape(out, (n, c, oh, ow))
