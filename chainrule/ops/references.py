"""Independent implementations of the primitives, for the registry tests (``ref=``).

Each is the textbook definition written plainly (naive loops, quadrature, other NumPy
routines), never the primitive's own forward: the registry tests compare the two on every
sample. The short ones sit in their declarations; these are the long ones.
"""

from __future__ import annotations

import math

import numpy as np


def logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def sum(x, axis=None, keepdims=False):  # noqa: A001  (the primitive's name)
    if axis is None and not keepdims:
        return np.add.reduce(x.reshape(-1))
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    if axis is not None:
        return np.multiply.reduce(x, axis=axis, keepdims=keepdims)
    return np.multiply.reduce(x.reshape(-1)).reshape((1,) * x.ndim if keepdims else ())


def index_add(g, shape, index):
    out = np.zeros(shape)
    flat_positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    values = np.broadcast_to(g, np.shape(flat_positions))
    for pos, val in zip(np.ravel(flat_positions), np.ravel(values)):
        out.flat[pos] += val
    return out


def index_put(x, v, index):
    out = np.array(x, dtype=float)
    out[index] = v
    return out


_MATMUL_SUBSCRIPTS = {(2, 2): "ij,jk->ik", (1, 2): "j,jk->k", (2, 1): "ij,j->i", (1, 1): "i,i->",
                      (3, 2): "bij,jk->bik", (4, 3): "abij,bjk->abik"}


def matmul(a, b):
    return np.einsum(_MATMUL_SUBSCRIPTS[(np.ndim(a), np.ndim(b))], a, b)


def solve(a, b):
    # NumPy 2's rule: b is a vector only when it is 1-D, else a (broadcast) stack of matrices
    if b.ndim == 1:
        return (np.linalg.inv(a) @ b[:, None])[..., 0]
    return np.linalg.inv(a) @ b


def unfold(x, kernel_size, stride, padding, dilation):
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


def fold(cols, input_shape, kernel_size, stride, padding, dilation):
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


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt by 80-point Gauss-Legendre."""
    nodes, weights = np.polynomial.legendre.leggauss(80)
    x = np.asarray(x, dtype=float)
    t = 0.5 * x[..., None] * (nodes + 1)  # nodes mapped from [-1, 1] to [0, x]
    return (2 / math.sqrt(math.pi)) * 0.5 * x * np.sum(weights * np.exp(-t * t), axis=-1)
