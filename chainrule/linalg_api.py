"""``cr.linalg``'s decompositions, with NumPy's names, arguments and results.

Each calls one primitive of :mod:`chainrule.ops.decompositions`, which returns its outputs
packed into one array, and unpacks them with differentiable slices: ``U, s, Vh =
cr.linalg.svd(A, full_matrices=False)`` is one SVD whose three outputs all carry
gradients. Eigenvectors and singular vectors are signed so that each one's entry of
largest magnitude is positive (NumPy leaves the sign to LAPACK); everything else matches
``numpy.linalg``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule.ops import decompositions as dec
from chainrule.ops import shape as shape_ops
from chainrule.tensor import Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class EigResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _square(a, who: str):
    shape = np.shape(_data(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"linalg.{who}: expected a square matrix (..., M, M), got shape {shape}")
    return shape


def _matrix(a, who: str):
    shape = np.shape(_data(a))
    if len(shape) < 2:
        raise ValueError(f"linalg.{who}: expected a matrix (..., M, N), got shape {shape}")
    return shape


def _unpack(packed, shapes):
    """Slices of the last axis of ``packed``, reshaped to ``batch + shape`` each."""
    batch = packed.shape[:-1]
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        piece = packed[..., start:start + size]
        out.append(piece if len(shape) == 1 else shape_ops.reshape(piece, shape=batch + shape))
        start += size
    return out


def eigh(a, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric
    matrix, read from its lower (``UPLO='L'``) or upper triangle, as NumPy.

    dw = diag(Vᵀ dA V), dV = V (F ∘ Vᵀ dA V) with F_ij = 1/(w_j − w_i). At repeated
    eigenvalues the eigenvectors are not unique: see :mod:`chainrule.ops.decompositions`.
    """
    n = _square(a, "eigh")[-1]
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if UPLO == "U":
        a = shape_ops.transpose(a, axes=tuple(range(np.ndim(_data(a)) - 2))
                                + (np.ndim(_data(a)) - 1, np.ndim(_data(a)) - 2))
    w, v = _unpack(dec.eigh(a), ((n,), (n, n)))
    return EighResult(w, v)


def eigvalsh(a, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric matrix, ascending: dw_i = v_iᵀ dA v_i."""
    return eigh(a, UPLO).eigenvalues


def eig(a) -> EigResult:
    """Eigenvalues and unit eigenvectors of a real matrix whose eigenvalues are real (a
    ``ValueError`` otherwise: chainrule's arrays are real)."""
    n = _square(a, "eig")[-1]
    w, v = _unpack(dec.eig(a), ((n,), (n, n)))
    return EigResult(w, v)


def eigvals(a) -> Tensor:
    """The eigenvalues of a real matrix with a real spectrum."""
    return eig(a).eigenvalues


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition A = U diag(S) Vh, S descending (NumPy's results).

    Differentiable with ``full_matrices=False`` (the reduced factors), or with any
    ``full_matrices`` for a square matrix and for ``compute_uv=False``; the extra columns
    of a full U or V of a non-square matrix are not determined by A, so asking for their
    gradient is an error (as in JAX). ``hermitian`` is accepted for NumPy code.
    """
    m, n = _matrix(a, "svd")[-2:]
    k = min(m, n)
    full_extra = full_matrices and compute_uv and m != n
    if full_extra and isinstance(a, Tensor) and a.requires_grad:
        raise ValueError(
            f"linalg.svd: the full U and V of a {m}×{n} matrix have columns that A does not "
            "determine, so they have no gradient; pass full_matrices=False (U is then "
            f"{m}×{k} and Vh {k}×{n})")
    if full_extra:
        u, s, vh = np.linalg.svd(_data(a), full_matrices=True)
        return SVDResult(Tensor(u), Tensor(s), Tensor(vh))
    u, s, vh = _unpack(dec.svd(a), ((m, k), (k,), (k, n)))
    return SVDResult(u, s, vh) if compute_uv else s


def svdvals(a) -> Tensor:
    """The singular values, descending: ds_i = u_iᵀ dA v_i."""
    return svd(a, full_matrices=False, compute_uv=False)


def cholesky(a, upper: bool = False) -> Tensor:
    """L with A = L Lᵀ (or U = Lᵀ with ``upper=True``) for a positive definite A, read
    from its lower triangle.  dL = L Φ(L⁻¹ dA L⁻ᵀ), Φ = lower triangle, half diagonal."""
    _square(a, "cholesky")
    try:
        low = dec.cholesky(a)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(f"linalg.cholesky: {err}: the matrix is not positive "
                                    "definite") from None
    if upper:
        nd = low.ndim
        return shape_ops.transpose(low, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))
    return low


def slogdet(a) -> SlogdetResult:
    """(sign, log|det A|): the sign (no gradient) and the logarithm of the absolute
    determinant, accurate where det would under- or overflow.  d log|det A| = A⁻ᵀ."""
    _square(a, "slogdet")
    sign = np.linalg.slogdet(_data(a))[0]
    return SlogdetResult(Tensor(np.asarray(sign)), dec.logabsdet(a))


def qr(a, mode: str = "reduced") -> QRResult | Tensor:
    """A = Q R with orthonormal columns Q and upper-triangular R (NumPy's ``'reduced'``,
    ``'complete'`` for square or wide A, and ``'r'``). A wide A = [X | Y] (m < n) is
    Q R_X = X and R = [R_X | Qᵀ Y], so every shape is differentiable."""
    m, n = _matrix(a, "qr")[-2:]
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if mode == "complete" and m > n:
        if isinstance(a, Tensor) and a.requires_grad:
            raise ValueError(
                f"linalg.qr: the complete Q of a tall {m}×{n} matrix has columns that A does "
                "not determine, so they have no gradient; use mode='reduced'")
        q, r = np.linalg.qr(_data(a), mode="complete")
        return QRResult(Tensor(q), Tensor(r))
    if m >= n:
        q, r = _unpack(dec.qr_tall(a), ((m, n), (n, n)))
    else:
        x, y = a[..., :m], a[..., m:]
        q, rx = _unpack(dec.qr_tall(x), ((m, m), (m, m)))
        nd = q.ndim
        qt = shape_ops.transpose(q, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))
        r = shape_ops.concatenate(rx, qt @ y, axis=nd - 1)
    return r if mode == "r" else QRResult(q, r)


def pinv(a, rcond=None, hermitian: bool = False, *, rtol=None) -> Tensor:
    """The Moore–Penrose pseudo-inverse A⁺ (singular values below ``rtol``·s_max, or
    ``rcond``·s_max, count as 0; NumPy's default ``rtol`` is max(M, N)·eps).
    Differentiable where the rank does not change."""
    m, n = _matrix(a, "pinv")[-2:]
    if rcond is not None and rtol is not None:
        raise ValueError("linalg.pinv: give rcond or rtol, not both")
    tol = rtol if rtol is not None else rcond
    if tol is None:
        tol = max(m, n) * np.finfo(np.result_type(_data(a), np.float32)).eps
    return dec.pinv(a, rtol=float(tol))


#: What ``cr.linalg`` adds to inv, det, solve and norm.
FUNCTIONS = {f.__name__: f for f in (eigh, eigvalsh, eig, eigvals, svd, svdvals, cholesky,
                                     slogdet, qr, pinv)}
