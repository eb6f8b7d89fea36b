"""The neural-network primitives of chainrule.ops.nn, checked like every other primitive.

They are registered, so ``test_primitives.py`` runs its full battery on them (forward against
an independent formula, VJP and JVP against central differences, the inner-product identity,
second order). The independent formulas live here -- naive loops, not the im2col code --
and are added to that battery's reference table when ``test_primitives`` imports this module.
"""

import math

import numpy as np
import test_primitives

from chainrule.autodiff.primitive import REGISTRY


def _naive_unfold(x, kernel_size, stride, padding, dilation):
    n, c, h, w = x.shape
    kh, kw = kernel_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    rows = []
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                row = []
                for ch in range(c):
                    for i in range(kh):
                        for j in range(kw):
                            y, z = r * sh + i * dh - ph, s * sw + j * dw - pw
                            inside = 0 <= y < h and 0 <= z < w
                            row.append(x[b, ch, y, z] if inside else 0.0)
                rows.append(row)
    return np.array(rows)


def _naive_fold(cols, input_shape, kernel_size, stride, padding, dilation):
    n, c, h, w = input_shape
    kh, kw = kernel_size
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros(input_shape)
    k = 0
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                m = 0
                for ch in range(c):
                    for i in range(kh):
                        for j in range(kw):
                            y, z = r * sh + i * dh - ph, s * sw + j * dw - pw
                            if 0 <= y < h and 0 <= z < w:
                                out[b, ch, y, z] += cols[k, m]
                            m += 1
                k += 1
    return out


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(80)


def _erf_quadrature(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt by 80-point Gauss-Legendre."""
    x = np.asarray(x, dtype=float)
    t = 0.5 * x[..., None] * (_NODES + 1)  # nodes mapped from [-1, 1] to [0, x]
    return (2 / math.sqrt(math.pi)) * 0.5 * x * np.sum(_WEIGHTS * np.exp(-t * t), axis=-1)


NN_REFERENCE = {
    "linear": lambda x, w, b=None: np.einsum("...i,oi->...o", x, w) + (0.0 if b is None else b),
    "unfold": _naive_unfold,
    "fold": _naive_fold,
    "erf": _erf_quadrature,
    "binary_cross_entropy": lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)),
}
test_primitives.REFERENCE.update(NN_REFERENCE)


def test_erf_reference_is_right():
    xs = np.array([-3.0, -0.5, 0.0, 0.1, 1.0, 2.5])
    np.testing.assert_allclose(
        _erf_quadrature(xs), [math.erf(v) for v in xs], rtol=1e-13, atol=1e-15
    )


def test_unfold_fold_are_adjoint_on_a_strided_padded_geometry():
    rng = np.random.default_rng(0)
    geo = dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1))
    x = rng.standard_normal((2, 3, 7, 8))
    cols = REGISTRY["unfold"].forward(x, **geo)
    u = rng.standard_normal(cols.shape)
    back = REGISTRY["fold"].forward(u, input_shape=x.shape, **geo)
    assert np.isclose(np.sum(cols * u), np.sum(x * back))
    np.testing.assert_allclose(cols, _naive_unfold(x, **geo))
