"""Matrix decompositions: eigh, svd, qr, eig (real spectrum), cholesky, and log|det|, pinv.

A decomposition has several outputs (U, s, Vᵀ); each primitive here returns them packed
along the last axis of one array, and ``cr.linalg`` unpacks them with differentiable
slices, so one factorisation serves every output and the VJP receives the cotangents of
all of them at once. The rules are the standard results, written over ``xp`` so they
differentiate again (second order):

* eigh, A = V diag(w) Vᵀ:  dw = diag(Vᵀ dA V),  dV = V (F ∘ Vᵀ dA V),
  F_ij = 1/(w_j − w_i) (i ≠ j).
* svd, A = U diag(s) Vᵀ (reduced):  with dP = Uᵀ dA V,  ds = diag(dP),
  dU = U (F ∘ (dP S + S dPᵀ)) + (I − UUᵀ) dA V S⁻¹,
  dV = V (F ∘ (S dP + dPᵀ S)) + (I − VVᵀ) dAᵀ U S⁻¹,  F_ij = 1/(s_j² − s_i²).
* cholesky, A = L Lᵀ:  dL = L Φ(L⁻¹ dA L⁻ᵀ), Φ = the lower triangle with half the diagonal.
* qr (m ≥ n), A = Q R:  with M = dA R⁻¹, C = QᵀM, Ω = tril(C, −1) − tril(C, −1)ᵀ,
  dQ = Q(Ω − C) + M,  dR = (C − Ω) R.
* eig, A = V diag(w) V⁻¹ with unit columns:  P = V⁻¹ dA V,  dw = diag(P),
  dV = V (F ∘ P) − V diag(colsum(V ∘ V (F ∘ P))).

Each VJP is the adjoint of its JVP (the registry test checks <u, J v> = <Jᵀ u, v>).
Where two eigenvalues (or singular values) coincide, F is infinite and the eigenvectors
are not unique: the F entries of such pairs are set to 0, which gives the exact gradient
of any function that does not depend on the choice of basis (the eigenvalues, a
projector, ...), and a ``RuntimeWarning`` says so when the cotangent does depend on it.

NumPy reads only the lower triangle of eigh's and cholesky's input; the gradients here are
with respect to exactly what NumPy reads (the upper triangle gets 0).
"""

import warnings

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.linalg import inv, solve
from chainrule.ops.samples import normal

# Relative gap below which two eigenvalues or singular values count as equal.
_DEGENERATE = 1e-9


def _mT(x, xp):
    return xp.swapaxes(x, -1, -2)


def _values(x):
    """The plain array of an array or Tensor (masks are constants of the rule)."""
    return x if isinstance(x, np.ndarray) else np.asarray(getattr(x, "data", x))


def _diag_embed(v, xp):
    """(..., k) -> (..., k, k) with v on the diagonal."""
    k = v.shape[-1]
    return xp.expand_dims(v, -1) * np.eye(k, dtype=_values(v).dtype)


def _diag_part(m, xp):
    """(..., k, k) -> (..., k), differentiably."""
    k = m.shape[-1]
    return xp.sum(m * np.eye(k, dtype=_values(m).dtype), axis=-1)


def _symmetric_from_lower(g, xp):
    """The gradient with respect to A of a function of S = tril(A) + tril(A, −1)ᵀ, given
    the gradient ``g`` with respect to S: tril(g) + tril(gᵀ, −1)."""
    n = g.shape[-1]
    lower = np.tril(np.ones((n, n), dtype=bool))
    strict = np.tril(np.ones((n, n), dtype=bool), -1)
    return xp.where(lower, g, 0.0) + xp.where(strict, _mT(g, xp), 0.0)


def _lower_symmetrised(a):
    """What NumPy's eigh and cholesky read: the lower triangle, mirrored."""
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


def _pair_weights(lam, xp, squared: bool, who: str, numerators=()):
    """F_ij = 1/(λ_j − λ_i) (or 1/(λ_j² − λ_i²)), 0 on the diagonal and for (nearly)
    equal pairs; warns when a numerator that multiplies such a pair is not 0."""
    v = _values(lam)
    k = v.shape[-1]
    scale = np.maximum(np.abs(v).max(axis=-1, keepdims=True), 1e-300)[..., None]
    gap = np.abs(v[..., None, :] - v[..., :, None]) / scale
    skip = (gap < _DEGENERATE) | np.eye(k, dtype=bool)
    for num in numerators:
        off = skip & ~np.eye(k, dtype=bool)
        if np.any(off) and np.any(np.abs(_values(num))[np.broadcast_to(off, num.shape)] > 1e-12):
            warnings.warn(
                f"{who}: repeated eigenvalues or singular values make the eigenvectors "
                "or singular vectors non-unique; their derivative is taken with that freedom "
                "removed (exact for functions that do not depend on the choice of basis)",
                RuntimeWarning, stacklevel=4)
            break
    lj, li = xp.expand_dims(lam, -2), xp.expand_dims(lam, -1)
    diff = lj * lj - li * li if squared else lj - li
    return xp.where(skip, 0.0, 1 / xp.where(skip, 1.0, diff))


def _split_last(packed, sizes, shapes, xp):
    """Unpack (..., Σ sizes) into pieces of the given trailing shapes."""
    out, start = [], 0
    batch = tuple(packed.shape[:-1])
    for size, shape in zip(sizes, shapes):
        piece = packed[..., start:start + size]
        out.append(xp.reshape(piece, batch + shape) if len(shape) != 1 else piece)
        start += size
    return out


def _pack(pieces, batch, xp):
    """Pieces of shapes batch + (k,) or batch + (m, n), joined along one last axis."""
    batch = tuple(batch)
    flat = [p if len(p.shape) == len(batch) + 1 else xp.reshape(p, batch + (-1,))
            for p in pieces]
    return xp.concatenate(flat, axis=-1)


def fix_signs(vectors, *others):
    """Each column of ``vectors`` (and the matching column or row of the others) flipped so
    that its entry of largest magnitude is positive: a deterministic choice among the
    equally valid signs LAPACK may return. ``others``: pairs (array, axis) flipped alike."""
    idx = np.argmax(np.abs(vectors), axis=-2)[..., None, :]
    sign = np.where(np.take_along_axis(vectors, idx, axis=-2) < 0, -1.0, 1.0)
    out = [vectors * sign]
    for arr, axis in others:
        out.append(arr * (sign if axis == -1 else np.swapaxes(sign, -1, -2)))
    return out


# ----- eigh -------------------------------------------------------------------------------------


def _eigh_forward(a):
    w, v = np.linalg.eigh(a)
    (v,) = fix_signs(v)
    return _pack([w, v], np.shape(a)[:-2], np)


def _eigh_parts(packed, n, xp):
    return _split_last(packed, (n, n * n), ((n,), (n, n)), xp)


def _eigh_vjp(g, ans, a):
    xp = namespace(g)
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n, xp)
    gw, gv = _eigh_parts(g, n, xp)
    vt_gv = xp.matmul(_mT(v, xp), gv)
    f = _pair_weights(w, xp, False, "eigh", (vt_gv,))
    inner = _diag_embed(gw, xp) + f * vt_gv
    gs = xp.matmul(v, xp.matmul(inner, _mT(v, xp)))
    return _symmetric_from_lower(gs, xp)


def _eigh_jvp(t, ans, a):
    xp = namespace(t)
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n, xp)
    ts = xp.where(np.tril(np.ones((n, n), dtype=bool)), t, 0.0)
    ts = ts + _mT(xp.where(np.tril(np.ones((n, n), dtype=bool), -1), t, 0.0), xp)
    p = xp.matmul(_mT(v, xp), xp.matmul(ts, v))
    f = _pair_weights(w, xp, False, "eigh", (p,))
    dw = _diag_part(p, xp)
    dv = xp.matmul(v, f * p)
    return _pack([dw, dv], a.shape[:-2], xp)


def _sym_samples(rng):
    return [((normal(rng, 3, 3),), {}), ((normal(rng, 2, 4, 4),), {})]


def _eigh_ref(a):
    """Independently: the general eigen-solver on the mirrored lower triangle, sorted,
    columns normalised, signs fixed as the forward's."""
    s = _lower_symmetrised(np.asarray(a, dtype=np.float64))
    w, v = np.linalg.eig(s)
    w, v = w.real, v.real
    order = np.argsort(w, axis=-1)
    w = np.take_along_axis(w, order, axis=-1)
    v = np.take_along_axis(v, order[..., None, :], axis=-1)
    v = v / np.linalg.norm(v, axis=-2, keepdims=True)
    (v,) = fix_signs(v)
    return _pack([w, v], s.shape[:-2], np)


eigh = Primitive(
    "eigh", _eigh_forward, vjp=_eigh_vjp, jvp=_eigh_jvp,
    formulas=("V (diag(ḡ_w) + F ∘ Vᵀḡ_V) Vᵀ",), symbolic=None,
    samples=_sym_samples, saves_args=True, saves_ans=True, ref=_eigh_ref,
    doc="Eigenvalues w (ascending) and orthonormal eigenvectors V of the symmetric matrix "
        "NumPy reads from A's lower triangle, packed [w | V.ravel()].  dw = diag(Vᵀ dA V), "
        "dV = V (F ∘ Vᵀ dA V), F_ij = 1/(w_j − w_i).",
)


# ----- svd (reduced) --------------------------------------------------------------------------


def _svd_forward(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    u, vh = fix_signs(u, (vh, -2))
    return _pack([u, s, vh], np.shape(a)[:-2], np)


def _svd_parts(packed, m, n, xp):
    k = min(m, n)
    return _split_last(packed, (m * k, k, k * n), ((m, k), (k,), (k, n)), xp)


def _svd_vjp(g, ans, a):
    xp = namespace(g)
    m, n = a.shape[-2:]
    u, s, vh = _svd_parts(ans, m, n, xp)
    gu, gs, gvh = _svd_parts(g, m, n, xp)
    v, gv = _mT(vh, xp), _mT(gvh, xp)
    ut_gu = xp.matmul(_mT(u, xp), gu)
    vt_gv = xp.matmul(vh, gv)
    skew_u = ut_gu - _mT(ut_gu, xp)
    skew_v = vt_gv - _mT(vt_gv, xp)
    f = _pair_weights(s, xp, True, "svd", (skew_u, skew_v))
    s_row, s_col = xp.expand_dims(s, -2), xp.expand_dims(s, -1)
    core = (f * skew_u) * s_row + _diag_embed(gs, xp) + s_col * (f * skew_v)
    ga = xp.matmul(u, xp.matmul(core, vh))
    inv_s = 1 / s_row
    if m > n:  # the part of gu outside U's columns: (I − UUᵀ) gu S⁻¹ Vᵀ
        gu_perp = gu - xp.matmul(u, ut_gu)
        ga = ga + xp.matmul(gu_perp * inv_s, vh)
    if n > m:  # U S⁻¹ gvᵀ (I − VVᵀ)
        gv_perp = gv - xp.matmul(v, vt_gv)
        ga = ga + xp.matmul(u * inv_s, _mT(gv_perp, xp))
    return ga


def _svd_jvp(t, ans, a):
    xp = namespace(t)
    m, n = a.shape[-2:]
    u, s, vh = _svd_parts(ans, m, n, xp)
    v = _mT(vh, xp)
    dp = xp.matmul(_mT(u, xp), xp.matmul(t, v))
    s_row, s_col = xp.expand_dims(s, -2), xp.expand_dims(s, -1)
    sym_u = dp * s_row + s_col * _mT(dp, xp)     # dP S + S dPᵀ
    sym_v = s_col * dp + _mT(dp, xp) * s_row     # S dP + dPᵀ S
    f = _pair_weights(s, xp, True, "svd", (sym_u, sym_v))
    ds = _diag_part(dp, xp)
    du = xp.matmul(u, f * sym_u)
    dv = xp.matmul(v, f * sym_v)
    if m > n:
        tv = xp.matmul(t, v)
        du = du + (tv - xp.matmul(u, xp.matmul(_mT(u, xp), tv))) / s_row
    if n > m:
        ttu = xp.matmul(_mT(t, xp), u)
        dv = dv + (ttu - xp.matmul(v, xp.matmul(vh, ttu))) / s_row
    return _pack([du, ds, _mT(dv, xp)], a.shape[:-2], xp)


def _svd_ref(a):
    """Independently: from the eigen-decomposition of AᵀA (or AAᵀ), s = sqrt of its
    eigenvalues in descending order, the other factor as A v / s; signs fixed as the
    forward's."""
    a = np.asarray(a, dtype=np.float64)
    m, n = a.shape[-2:]
    wide = m < n
    b = np.swapaxes(a, -1, -2) if wide else a
    w, v = np.linalg.eig(np.swapaxes(b, -1, -2) @ b)
    order = np.argsort(-w.real, axis=-1)
    w = np.take_along_axis(w.real, order, axis=-1)
    v = np.take_along_axis(v.real, order[..., None, :], axis=-1)
    v = v / np.linalg.norm(v, axis=-2, keepdims=True)
    s = np.sqrt(np.maximum(w, 0))
    u = (b @ v) / s[..., None, :]
    if wide:
        u, v = v, u
    u, vh = fix_signs(u, (np.swapaxes(v, -1, -2), -2))
    return _pack([u, s, vh], np.shape(a)[:-2], np)


svd = Primitive(
    "svd", _svd_forward, vjp=_svd_vjp, jvp=_svd_jvp,
    formulas=("U (F∘(Uᵀḡ_U − ḡ_Uᵀ U) S + diag(ḡ_s) + S F∘(Vᵀḡ_V − ḡ_Vᵀ V)) Vᵀ + …",),
    symbolic=None,
    samples=lambda rng: [((normal(rng, 4, 3),), {}), ((normal(rng, 3, 4),), {}),
                         ((normal(rng, 2, 3, 3),), {})],
    ref=_svd_ref,
    doc="Reduced SVD A = U diag(s) Vᵀ (s descending), packed [U | s | Vᵀ]; singular vectors "
        "signed so each U column's largest entry is positive.",
)


# ----- cholesky ---------------------------------------------------------------------------------


def _phi(x, xp):
    """The lower triangle of x with half its diagonal."""
    n = x.shape[-1]
    weights = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    return x * weights.astype(_values(x).dtype)


def _cholesky_forward(a):
    return np.linalg.cholesky(a)


def _cholesky_jvp(t, ans, a):
    xp = namespace(t)
    n = t.shape[-1]
    sym = xp.where(np.tril(np.ones((n, n), dtype=bool)), t, 0.0) + \
        _mT(xp.where(np.tril(np.ones((n, n), dtype=bool), -1), t, 0.0), xp)
    linv_t = call(solve, ans, sym)                       # L⁻¹ dA
    x = _mT(call(solve, ans, _mT(linv_t, xp)), xp)      # L⁻¹ dA L⁻ᵀ
    return xp.matmul(ans, _phi(x, xp))


def _cholesky_vjp(g, ans, a):
    xp = namespace(g)
    inner = _phi(xp.matmul(_mT(ans, xp), g), xp)             # Φ(Lᵀ ḡ)
    lt = _mT(ans, xp)
    left = call(solve, lt, inner)                        # L⁻ᵀ Φ(Lᵀ ḡ)
    gs = _mT(call(solve, lt, _mT(left, xp)), xp)         # … L⁻¹
    return _symmetric_from_lower(gs, xp)


def _spd_samples(rng):
    def spd(*batch):
        b = normal(rng, *batch, 3, 3)
        return b @ np.swapaxes(b, -1, -2) + 3 * np.eye(3) + np.triu(normal(rng, *batch, 3, 3), 1)
    return [((spd(),), {}), ((spd(2),), {})]


def _cholesky_ref(a):
    """The Cholesky–Banachiewicz recurrence on the mirrored lower triangle."""
    s = _lower_symmetrised(np.asarray(a, dtype=np.float64))
    out = np.zeros_like(s)
    for idx in np.ndindex(s.shape[:-2]):
        m, low = s[idx], out[idx]
        for i in range(m.shape[0]):
            for j in range(i + 1):
                acc = m[i, j] - low[i, :j] @ low[j, :j]
                low[i, j] = np.sqrt(acc) if i == j else acc / low[j, j]
    return out


cholesky = Primitive(
    "cholesky", _cholesky_forward, vjp=_cholesky_vjp, jvp=_cholesky_jvp,
    formulas=("L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹",), symbolic=None,
    samples=_spd_samples, saves_args=False, ref=_cholesky_ref,
    doc="Lower-triangular L with A = L Lᵀ (A positive definite; NumPy reads its lower "
        "triangle).  dL = L Φ(L⁻¹ dA L⁻ᵀ).",
)


# ----- log |det| --------------------------------------------------------------------------------


def _logabsdet_forward(a):
    return np.linalg.slogdet(a)[1]


def _logabsdet_vjp(g, ans, a):
    xp = namespace(g)
    return xp.expand_dims(xp.expand_dims(g, -1), -1) * _mT(call(inv, a), xp)


def _logabsdet_jvp(t, ans, a):
    xp = namespace(t)
    return xp.sum(_mT(call(inv, a), xp) * t, axis=(-2, -1))


logabsdet = Primitive(
    "logabsdet", _logabsdet_forward, vjp=_logabsdet_vjp, jvp=_logabsdet_jvp,
    formulas=("A⁻ᵀ",), symbolic=None, saves_ans=False,
    samples=lambda rng: [((normal(rng, 3, 3) + 2 * np.eye(3),), {}),
                         ((normal(rng, 2, 3, 3) - 2 * np.eye(3),), {})],
    ref=lambda a: np.log(np.abs(np.linalg.det(a))),
    doc="log|det(A)|, accurate where det(A) would under- or overflow.  d/dA = A⁻ᵀ.",
)


# ----- qr (m >= n, reduced) ---------------------------------------------------------------------


def _qr_forward(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return _pack([q, r], np.shape(a)[:-2], np)


def _qr_parts(packed, m, n, xp):
    return _split_last(packed, (m * n, n * n), ((m, n), (n, n)), xp)


def _qr_jvp(t, ans, a):
    xp = namespace(t)
    m, n = a.shape[-2:]
    q, r = _qr_parts(ans, m, n, xp)
    dx_rinv = _mT(call(solve, _mT(r, xp), _mT(t, xp)), xp)    # dA R⁻¹
    c = xp.matmul(_mT(q, xp), dx_rinv)
    low = xp.where(np.tril(np.ones((n, n), dtype=bool), -1), c, 0.0)
    omega = low - _mT(low, xp)
    dq = xp.matmul(q, omega - c) + dx_rinv
    dr = xp.matmul(c - omega, r)
    return _pack([dq, dr], a.shape[:-2], xp)


def _qr_vjp(g, ans, a):
    xp = namespace(g)
    m, n = a.shape[-2:]
    q, r = _qr_parts(ans, m, n, xp)
    gq, gr = _qr_parts(g, m, n, xp)
    b = xp.matmul(gr, _mT(r, xp)) - xp.matmul(_mT(q, xp), gq)
    e = b - xp.where(np.tril(np.ones((n, n), dtype=bool), -1), b - _mT(b, xp), 0.0)
    lhs = gq + xp.matmul(q, e)                                       # (Q̄ + Q E) R⁻ᵀ
    return _mT(call(solve, r, _mT(lhs, xp)), xp)


def _qr_ref(a):
    """Modified Gram–Schmidt, with R's diagonal signed as LAPACK's (Householder) result."""
    a = np.asarray(a, dtype=np.float64)
    m, n = a.shape[-2:]
    q = np.zeros(a.shape[:-2] + (m, n))
    r = np.zeros(a.shape[:-2] + (n, n))
    for idx in np.ndindex(a.shape[:-2]):
        v = a[idx].copy()
        for j in range(n):
            r[idx][j, j] = np.linalg.norm(v[:, j])
            q[idx][:, j] = v[:, j] / r[idx][j, j]
            r[idx][j, j + 1:] = q[idx][:, j] @ v[:, j + 1:]
            v[:, j + 1:] -= np.outer(q[idx][:, j], r[idx][j, j + 1:])
    # LAPACK's signs: match the diagonal of NumPy's R (a convention, not a computation)
    sign = np.sign(np.diagonal(np.linalg.qr(a)[1], axis1=-2, axis2=-1))
    return _pack([q * sign[..., None, :], r * sign[..., :, None]], np.shape(a)[:-2], np)


qr_tall = Primitive(
    "qr", _qr_forward, vjp=_qr_vjp, jvp=_qr_jvp,
    formulas=("(ḡ_Q + Q E) R⁻ᵀ",), symbolic=None,
    samples=lambda rng: [((normal(rng, 4, 3),), {}), ((normal(rng, 2, 3, 3),), {})],
    ref=_qr_ref,
    doc="Reduced QR of a tall or square A (m ≥ n), packed [Q | R].  With M = dA R⁻¹, "
        "C = QᵀM, Ω = tril(C,−1) − tril(C,−1)ᵀ: dQ = Q(Ω − C) + M, dR = (C − Ω) R.",
)


# ----- pinv ---------------------------------------------------------------------------------------


def _pinv_forward(a, rtol):
    return np.linalg.pinv(a, rtol=rtol)


def _pinv_vjp(g, ans, a, rtol):
    """−Pᵀ g Pᵀ + (I − A P) gᵀ P Pᵀ + Pᵀ P gᵀ (I − P A), P = A⁺ (where the rank is fixed)."""
    xp = namespace(g)
    p = ans
    pt, gt = _mT(p, xp), _mT(g, xp)
    ap, pa = xp.matmul(a, p), xp.matmul(p, a)
    m, n = a.shape[-2:]
    out = -xp.matmul(pt, xp.matmul(g, pt))
    out = out + xp.matmul(np.eye(m) - ap, xp.matmul(gt, xp.matmul(p, pt)))
    out = out + xp.matmul(xp.matmul(pt, p), xp.matmul(gt, np.eye(n) - pa))
    return out


def _pinv_jvp(t, ans, a, rtol):
    xp = namespace(t)
    p = ans
    m, n = a.shape[-2:]
    tt = _mT(t, xp)
    out = -xp.matmul(p, xp.matmul(t, p))
    out = out + xp.matmul(xp.matmul(p, _mT(p, xp)), xp.matmul(tt, np.eye(m) - xp.matmul(a, p)))
    out = out + xp.matmul(np.eye(n) - xp.matmul(p, a), xp.matmul(tt, xp.matmul(_mT(p, xp), p)))
    return out


pinv = Primitive(
    "pinv", _pinv_forward, vjp=_pinv_vjp, jvp=_pinv_jvp,
    # −Pᵀ g Pᵀ + (I − A P) gᵀ P Pᵀ + Pᵀ P gᵀ (I − P A), P = ans, multiplied out
    formulas=("-ansᵀ · g · ansᵀ + gᵀ · ans · ansᵀ - A · ans · gᵀ · ans · ansᵀ"
              " + ansᵀ · ans · gᵀ - ansᵀ · ans · gᵀ · ans · A",), symbolic=None,
    samples=lambda rng: [((normal(rng, 4, 3),), {"rtol": 1e-12}),
                         ((normal(rng, 3, 4),), {"rtol": 1e-12}),
                         ((normal(rng, 2, 3, 3),), {"rtol": 1e-12})],
    ref=lambda a, rtol: np.linalg.solve(np.swapaxes(a, -1, -2) @ a, np.swapaxes(a, -1, -2))
    if a.shape[-2] >= a.shape[-1] else
    np.swapaxes(a, -1, -2) @ np.linalg.inv(a @ np.swapaxes(a, -1, -2)),
    doc="Moore–Penrose pseudo-inverse P = A⁺ (singular values below rtol·s_max dropped); "
        "differentiable where the rank does not change.",
)


# ----- eig (real spectrum) ---------------------------------------------------------------------


def _eig_forward(a):
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w):
        if np.any(np.abs(w.imag) > 1e-12 * np.maximum(1.0, np.abs(w).max())):
            raise ValueError(
                "linalg.eig: this matrix has complex eigenvalues, and chainrule differentiates "
                "real arrays only; for a symmetric matrix use cr.linalg.eigh")
        w, v = w.real, v.real
    (v,) = fix_signs(v)
    return _pack([w, v], np.shape(a)[:-2], np)


def _eig_jvp(t, ans, a):
    xp = namespace(t)
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n, xp)
    p = call(solve, v, xp.matmul(t, v))             # V⁻¹ dA V
    f = _pair_weights(w, xp, False, "eig", (p,))
    dv0 = xp.matmul(v, f * p)
    dv = dv0 - v * xp.sum(v * dv0, axis=-2, keepdims=True)        # keep unit columns
    return _pack([_diag_part(p, xp), dv], a.shape[:-2], xp)


def _eig_vjp(g, ans, a):
    xp = namespace(g)
    n = a.shape[-1]
    w, v = _eigh_parts(ans, n, xp)
    gw, gv = _eigh_parts(g, n, xp)
    gv = gv - v * xp.sum(v * gv, axis=-2, keepdims=True)
    vt_gv = xp.matmul(_mT(v, xp), gv)
    f = _pair_weights(w, xp, False, "eig", (vt_gv,))
    pbar = _diag_embed(gw, xp) + f * vt_gv
    # Ā = V⁻ᵀ P̄ Vᵀ
    return call(solve, _mT(v, xp), xp.matmul(pbar, _mT(v, xp)))


def _eig_samples(rng):
    def real_spectrum(*batch):
        basis = normal(rng, *batch, 3, 3) + 3 * np.eye(3)
        w = np.array([-1.5, 0.5, 2.0])
        return basis @ (w[:, None] * np.linalg.inv(basis))
    return [((real_spectrum(),), {}), ((real_spectrum(2),), {})]


def _eig_ref(a):
    """Eigenvalues as roots of the characteristic polynomial, each eigenvector as the null
    vector of A − λI (from its SVD); NumPy's order, unit columns, signs fixed."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[-1]
    w = np.linalg.eig(a)[0].real  # only the order is taken from here
    out_w = np.empty_like(w)
    out_v = np.empty(a.shape)
    for idx in np.ndindex(a.shape[:-2]):
        roots = np.sort(np.roots(np.poly(a[idx])).real)
        for j, lam in enumerate(w[idx]):
            root = roots[np.argmin(np.abs(roots - lam))]
            out_w[idx][j] = root
            out_v[idx][:, j] = np.linalg.svd(a[idx] - root * np.eye(n))[2][-1]
    (out_v,) = fix_signs(out_v)
    return _pack([out_w, out_v], np.shape(a)[:-2], np)


eig = Primitive(
    "eig", _eig_forward, vjp=_eig_vjp, jvp=_eig_jvp,
    formulas=("V⁻ᵀ (diag(ḡ_w) + F ∘ Vᵀḡ_V′) Vᵀ",), symbolic=None,
    samples=_eig_samples, ref=_eig_ref,
    doc="Eigenvalues and unit eigenvectors of a real matrix with a real spectrum, packed "
        "[w | V.ravel()]; complex eigenvalues raise ValueError.",
)
