"""Neural-network primitives: fused ``linear``, ``unfold``/``fold`` (im2col), and ``erf``.

* ``linear(x, w, b)`` is ``x @ w.T + b`` in one node instead of three (transpose, matmul,
  add): every dense layer runs it on every batch, forward and backward.
* ``unfold`` (im2col) copies every kernel-sized window of an image batch into a row of a
  matrix, so a convolution becomes one ``linear`` -- a single large matrix product, which
  is what makes convolutions fast in NumPy. ``fold`` (col2im) is its adjoint: it adds each
  row back onto the window it came from. Both are linear maps, each the other's transpose,
  so their VJP and JVP rules are one line each and any order of derivative works.
  Max pooling is built on ``unfold`` as well (see ``chainrule.nn.functional.max_pool2d``).
* ``erf``, the error function, for the exact GELU.
* ``binary_cross_entropy(p, y)``, elementwise, with PyTorch's clamps: each log at -100 in
  the value, ``p (1 - p)`` at 1e-12 in the gradient, so a saturated prediction (p = 0 or 1
  against its label) still gets a large, finite push, as in PyTorch.

Shapes use PyTorch's layout: images ``(N, C, H, W)``, kernels ``(O, C, kh, kw)``; the output
side of a window position is ``oh = (H + 2 p - d (kh - 1) - 1) // s + 1`` (same for width).
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops import references
from chainrule.ops.declare import elementwise, linear, unary
from chainrule.ops.samples import away_from_zero, normal, positive

# ----- linear: x @ w.T + b --------------------------------------------------------------------


def _linear_forward(x, w, b=None):
    # w.T is a view: BLAS reads it as a transposed operand, with no copy. (Copying w.T to
    # C order first was measured slower at batch 32 and 256, on one and on two threads.)
    out = np.matmul(x, w.T)
    if b is not None:
        out += b  # out is a fresh array: adding in place saves a temporary
    return out


# For y = x wᵀ + b: dL/dx = g w, dL/dw = gᵀ x (summed over all batch axes), dL/db = g
# (summed over batch axes by the engine); one rule per argument, so that a batch of data
# (which needs no gradient) costs no product.


def _linear_vjp_x(g, ans, x, w, b=None):
    return namespace(g).matmul(g, w)


def _linear_vjp_w(g, ans, x, w, b=None):
    xp = namespace(g)
    rows = math.prod(x.shape[:-1])  # not -1: that is ambiguous when x has no columns
    g2 = xp.reshape(g, (rows, w.shape[0]))
    x2 = xp.reshape(x, (rows, w.shape[1]))
    return xp.matmul(xp.transpose(g2), x2)


def _linear_jvp_x(t, ans, x, w, b=None):
    xp = namespace(t)
    return xp.matmul(t, xp.transpose(w))


def _linear_jvp_w(t, ans, x, w, b=None):
    xp = namespace(t)
    return xp.matmul(x, xp.transpose(t))


def _passed_on(v, ans, x, w, b=None):
    """dy/db = 1: the cotangent (summed back by the engine) or the tangent (broadcast)."""
    return v


linear_prim = Primitive(
    "linear",
    _linear_forward,
    vjp=(_linear_vjp_x, _linear_vjp_w, _passed_on),
    jvp=(_linear_jvp_x, _linear_jvp_w, _passed_on),
    formulas=("g · w", "gᵀ · x", "Σ_batch g"),
    symbolic=None,
    samples=lambda rng: [
        ((normal(rng, 5, 3), normal(rng, 4, 3), normal(rng, 4)), {}),
        ((normal(rng, 2, 5, 3), normal(rng, 4, 3), normal(rng, 4)), {}),
        ((normal(rng, 3), normal(rng, 2, 3)), {}),
    ],
    saves_ans=False,
    ref=lambda x, w, b=None: np.einsum("...i,oi->...o", x, w) + (0.0 if b is None else b),
    doc="y = x @ w.T + b (b optional), the dense layer.  dL/dx = g·w, dL/dw = gᵀ·x, "
        "dL/db = g summed over the batch.",
)


# ----- unfold / fold (im2col / col2im) ----------------------------------------------------------


def out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Number of window positions along one axis: ``(size + 2p - d(k-1) - 1) // s + 1``."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _geometry(shape, kernel_size, stride, padding, dilation):
    n, c, h, w = shape
    kh, kw = kernel_size
    oh = out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = out_size(w, kw, stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(
            f"a {kh}x{kw} kernel (padding {tuple(padding)}, dilation {tuple(dilation)}) does not "
            f"fit in a {h}x{w} image"
        )
    return n, c, h, w, kh, kw, oh, ow


def _window(i, j, oh, ow, stride, dilation):
    """The slices of the padded image that kernel offset (i, j) sees at every position."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (
        slice(r0, r0 + stride[0] * (oh - 1) + 1, stride[0]),
        slice(c0, c0 + stride[1] * (ow - 1) + 1, stride[1]),
    )


def _unfold_forward(x, kernel_size, stride, padding, dilation, pad_value=0.0):
    r"""im2col: rows are window positions ``(n, oh, ow)``, columns are ``(c, i, j)``.

    ``cols[(n, r, s), (c, i, j)] = x_padded[n, c, r*sh + i*dh, s*sw + j*dw]``
    """
    if x.ndim != 4:
        raise ValueError(f"expected an image batch of shape (N, C, H, W), got shape {x.shape}")
    n, c, h, w, kh, kw, oh, ow = _geometry(x.shape, kernel_size, stride, padding, dilation)
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    cols = np.empty((n, oh, ow, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _window(i, j, oh, ow, stride, dilation)
            cols[:, :, :, :, i, j] = x[:, :, rows, columns].transpose(0, 2, 3, 1)
    return cols.reshape(n * oh * ow, c * kh * kw)


def _fold_forward(cols, input_shape, kernel_size, stride, padding, dilation):
    r"""col2im, the adjoint of im2col: add each row back onto its window.

    ``x[n, c, y, z] = sum of cols[(n, r, s), (c, i, j)] over r*sh + i*dh - ph = y,
    s*sw + j*dw - pw = z``
    """
    n, c, h, w, kh, kw, oh, ow = _geometry(input_shape, kernel_size, stride, padding, dilation)
    ph, pw = padding
    if cols.shape != (n * oh * ow, c * kh * kw):
        raise ValueError(
            f"fold: columns of shape {cols.shape} do not match an input of shape "
            f"{tuple(input_shape)} (expected {(n * oh * ow, c * kh * kw)})"
        )
    blocks = cols.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _window(i, j, oh, ow, stride, dilation)
            out[:, :, rows, columns] += blocks[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out[:, :, ph : ph + h, pw : pw + w]


def _unfold_transpose(g, ans, x, kernel_size, stride, padding, dilation, pad_value=0.0):
    return call(
        fold,
        g,
        input_shape=tuple(x.shape),
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


def _fold_transpose(g, ans, cols, input_shape, kernel_size, stride, padding, dilation):
    return call(
        unfold, g, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )


_GEOMETRIES = [
    dict(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1)),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(0, 1), dilation=(1, 2)),
]


def _unfold_samples(rng):
    return [
        ((normal(rng, 2, 3, 5, 6),), _GEOMETRIES[0]),
        ((normal(rng, 1, 2, 6, 7),), _GEOMETRIES[1]),
    ]


def _fold_samples(rng):
    out = []
    for shape, geo in [((2, 3, 5, 6), _GEOMETRIES[0]), ((1, 2, 6, 7), _GEOMETRIES[1])]:
        n, c, h, w, kh, kw, oh, ow = _geometry(shape, **geo)
        out.append(((normal(rng, n * oh * ow, c * kh * kw),), dict(geo, input_shape=shape)))
    return out


unfold = linear(
    "unfold",
    forward=_unfold_forward,
    vjp=_unfold_transpose,
    formulas=("copy of each window (im2col)",),
    samples=_unfold_samples,
    ref=references.unfold,
    doc="im2col: every kernel window of an (N, C, H, W) batch as a row, "
    "shape (N*oh*ow, C*kh*kw). Linear; its adjoint is fold.",
)

fold = linear(
    "fold",
    forward=_fold_forward,
    vjp=_fold_transpose,
    formulas=("sum over the windows that cover each pixel (col2im)",),
    samples=_fold_samples,
    ref=references.fold,
    doc="col2im: the adjoint of unfold; adds each row back onto its window.",
)


# ----- erf --------------------------------------------------------------------------------------

# math.erf is correctly rounded; NumPy has no erf and SciPy is not a dependency. Applied
# elementwise it costs ~0.1 µs per element, fine for GELU on the layer sizes used here.
_erf_ufunc = np.frompyfunc(math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_forward(x):
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.asarray(_erf_ufunc(x), dtype=dtype)


erf = elementwise(
    "erf",
    forward=_erf_forward,
    derivative=lambda x: _TWO_OVER_SQRT_PI * namespace(x).exp(-(x * x)),
    formulas=("2/√π·exp(-x²)",),
    symbolic=lambda sp, x: sp.erf(x),
    samples=lambda rng: [((normal(rng, 3, 4),), {}), ((normal(rng),), {})],
    saves_ans=False, expr="erf",
    ref=references.erf,
    doc="The error function erf(x) = 2/√π ∫₀ˣ exp(-t²) dt.  d/dx = 2/√π·exp(-x²).",
)


# ----- binary cross-entropy ---------------------------------------------------------------------

# PyTorch's floor on p (1 - p) in the gradient: 1e-12 as a float32 constant, as there.
_BCE_EPS = float(np.float32(1e-12))


def _bce_forward(p, y):
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log1p(-p), -100.0)
    return -(y * log_p + (1 - y) * log_q)


binary_cross_entropy = elementwise(
    "binary_cross_entropy",
    forward=_bce_forward,
    vjp=(
        lambda g, ans, p, y: g * ((p - y) / namespace(g).maximum(p * (1 - p), _BCE_EPS)),
        lambda g, ans, p, y: g * (namespace(g).log1p(-p) - namespace(g).log(p)),
    ),
    formulas=("(p - y)/(p·(1 - p))", "log(1 - p) - log(p)"),
    symbolic=None,
    samples=lambda rng: [
        ((positive(rng, 3, 4, low=0.05, high=0.95), positive(rng, 3, 4, low=0.0, high=1.0)), {}),
        ((positive(rng, 5, low=0.05, high=0.95), positive(rng, 1, low=0.0, high=1.0)), {}),
    ],
    saves_ans=False,
    ref=lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)),
    doc="-(y log p + (1 - y) log(1 - p)), each log clamped at -100 (PyTorch's BCE). "
    "d/dp = (p - y)/max(p(1 - p), 1e-12), d/dy = log(1 - p) - log(p).",
)


# ----- activations in the expression language ---------------------------------------------------
# cr.nn.functional's gelu and leaky_relu are written from primitives (and take PyTorch's
# options); these declarations put the textbook forms into cr.explain's language.

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_forward(x):
    x = np.asarray(x)
    return 0.5 * x * (1.0 + _erf_forward(x * _SQRT1_2))


def _gelu_symbolic(sp, x):
    return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


gelu = unary(
    "gelu", forward=_gelu_forward,
    # d/dx x·Φ(x) = Φ(x) + x·φ(x)
    derivative=lambda x: 0.5 * (1.0 + call(erf, x * _SQRT1_2))
    + x * _INV_SQRT_2PI * namespace(x).exp(-0.5 * x * x),
    symbolic=_gelu_symbolic, formula="(1 + erf(x/√2))/2 + x·exp(-x²/2)/√(2·π)", numpy=(),
    method=False, expr="gelu",
    samples=normal, ref=lambda x: x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) / 2,
    doc="GELU(x) = x·Φ(x), Φ the standard normal CDF (exact, PyTorch's default).  "
        "d/dx = Φ(x) + x·φ(x).",
)

_LEAKY_SLOPE = 0.01  # PyTorch's default negative_slope

leaky_relu = unary(
    "leaky_relu",
    forward=lambda x: np.where(np.asarray(x) > 0, x, np.asarray(x) * _LEAKY_SLOPE),
    derivative=lambda x: namespace(x).where(x > 0, 1.0, _LEAKY_SLOPE),
    symbolic=lambda sp, x: sp.Max(x, x * sp.Rational(1, 100)),
    formula="1 if x > 0 else 0.01", numpy=(), method=False, expr="leaky_relu",
    samples=away_from_zero, ref=lambda x: np.maximum(x, 0.01 * x),
    doc="x for x > 0, else 0.01·x (PyTorch's default slope).  d/dx = 1 or 0.01.",
)
