"""Linear algebra: matmul, einsum, inv, det, solve.

matmul follows NumPy's rules for 1-D operands (a vector is promoted to a matrix and the
added axis removed again), and its batch axes broadcast; the engine sums the cotangents
of broadcast batch axes back.
"""

import functools
import string

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops import references
from chainrule.ops.samples import normal


def _matmul_forward(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("operands must have at least one dimension; for a scalar use multiply")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(
            f"{a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ"
        )
    return np.matmul(a, b)


def _mT(x, xp):
    return xp.swapaxes(x, -1, -2)


def _matmul_vjp_a(g, ans, a, b):
    """dL/da = g·bᵀ (with NumPy's vector cases: a dot product, a vector times a matrix)."""
    xp = namespace(g)
    if b.ndim == 1:  # ans[..., m] = sum_k a[..., m, k] b_k (a dot product if a is 1-D too)
        return g * b if a.ndim == 1 else xp.expand_dims(g, -1) * b
    if a.ndim == 1:  # ans[..., n] = sum_k a_k b[..., k, n]
        return xp.matmul(b, xp.expand_dims(g, -1))[..., 0]
    if xp is np and _transposed_matrix(a) and b.ndim == 2:
        return np.matmul(b, g.T).T  # = g bᵀ, made in a's own (transposed) layout
    return xp.matmul(g, _mT(b, xp))


def _matmul_vjp_b(g, ans, a, b):
    """dL/db = aᵀ·g (with NumPy's vector cases)."""
    xp = namespace(g)
    if a.ndim == 1:  # ans[..., n] = sum_k a_k b[..., k, n] (a dot product if b is 1-D too)
        return g * a if b.ndim == 1 else xp.expand_dims(a, -1) * xp.expand_dims(g, -2)
    if b.ndim == 1:  # ans[..., m] = sum_k a[..., m, k] b_k
        return xp.matmul(_mT(a, xp), xp.expand_dims(g, -1))[..., 0]
    if xp is np and _transposed_matrix(b) and a.ndim == 2:
        # x @ W.T: b is W's transpose, a view. (gᵀ a)ᵀ = aᵀ g in b's own layout, so
        # the transpose's VJP hands W a gradient in W's layout: no copy to reorder it.
        return np.matmul(g.T, a).T
    return xp.matmul(_mT(a, xp), g)


def _transposed_matrix(x) -> bool:
    """A 2-D array laid out as the transpose of a C-ordered one (what ``W.T`` gives)."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


matmul = Primitive(
    "matmul", _matmul_forward, vjp=(_matmul_vjp_a, _matmul_vjp_b),
    # bilinear: d(a @ b) = da @ b + a @ db
    jvp=(lambda t, ans, a, b: namespace(t).matmul(t, b),
         lambda t, ans, a, b: namespace(t).matmul(a, t)),
    formulas=("g · bᵀ", "aᵀ · g"), symbolic=lambda sp, a, b: a * b,
    samples=lambda rng: [
        ((normal(rng, 3, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 3, 4), normal(rng, 4)), {}),
        ((normal(rng, 4), normal(rng, 4)), {}),
        ((normal(rng, 2, 3, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 2, 1, 3, 4), normal(rng, 3, 4, 2)), {}),
    ],
    saves_ans=False, numpy="matmul", method=True,
    ref=references.matmul,
    doc="Matrix product a @ b (NumPy semantics).  dL/da = g·bᵀ, dL/db = aᵀ·g.",
)


# ----- einsum --------------------------------------------------------------------------


EINSUM_LETTERS = string.ascii_letters  # the labels NumPy accepts: a-z and A-Z


def _check_labels(labels: str, where: str, subscripts: str) -> None:
    for c in labels:
        if c not in EINSUM_LETTERS:
            raise ValueError(f"einsum: {c!r} in {where} of {subscripts!r} is not a subscript "
                             "letter (a-z, A-Z), ',', '->' or '...'")


def parse_einsum(subscripts: str, shapes) -> tuple[tuple[str, ...], str]:
    """Explicit input and output subscripts, with '...' replaced by letters that the
    subscripts do not use (NumPy's labels are a-z and A-Z, so these cannot clash).

    Without '->', the output is NumPy's: the '...' axes, then the letters that appear
    exactly once, in alphabetical order (upper case before lower case).

    The answer depends on the shapes only through their numbers of dimensions (how many
    axes '...' stands for), so it is cached on the subscripts and those: einsum's VJP
    rule asks again for every operand of every call. The terms come back as a tuple, so a
    caller cannot change what the next one gets.
    """
    if not isinstance(subscripts, str):
        raise TypeError(
            f"einsum: subscripts must be a string such as 'ij,jk->ik', got "
            f"{type(subscripts).__name__}"
        )
    return _parse_einsum(subscripts, tuple(len(shape) for shape in shapes))


@functools.lru_cache(maxsize=512)
def _parse_einsum(subscripts: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """:func:`parse_einsum` for operands with ``ndims`` dimensions (errors are raised
    again on every call: ``lru_cache`` keeps only answers)."""
    original = subscripts
    subscripts = subscripts.replace(" ", "")
    if subscripts.count("->") > 1:
        raise ValueError(f"einsum: {original!r} has more than one '->'")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: {len(terms)} operand subscripts for {len(ndims)} operands"
        )
    for k, term in enumerate([*terms] + ([] if out is None else [out])):
        if term.count("...") > 1:
            raise ValueError(f"einsum: '...' appears more than once in {term!r} of {original!r}")
        _check_labels(term.replace("...", ""),
                      "the output" if k == len(terms) else f"operand {k}'s subscripts", original)
    ell_dims = 0
    for k, (term, ndim) in enumerate(zip(terms, ndims)):
        if "..." in term:
            n = ndim - (len(term) - 3)
            if n < 0:
                raise ValueError(f"einsum: operand {k} has {ndim} dimensions, fewer than "
                                 f"the {len(term) - 3} letters in {term!r}")
            ell_dims = max(ell_dims, n)
    used = set(lhs + (out or ""))
    free = [c for c in EINSUM_LETTERS if c not in used]
    if ell_dims > len(free):
        raise ValueError(
            f"einsum: '...' stands for {ell_dims} axes here, but only {len(free)} of the 52 "
            f"letters (a-z, A-Z) are not used by {original!r}; use fewer distinct subscripts")
    ell = "".join(free[len(free) - ell_dims:])  # from the end (..., Y, Z): rarely used
    full = []
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            n = ndim - (len(term) - 3)
            term = term.replace("...", ell[ell_dims - n:])
        full.append(term)
    if out is None:
        named = "".join(full)
        out = ell + "".join(sorted(c for c in set(named) if named.count(c) == 1
                                   and c not in ell))
    else:
        out = out.replace("...", ell)
    return tuple(full), out


def _einsum_forward(*operands, subscripts):
    return np.einsum(subscripts, *operands, optimize=len(operands) > 2)


def _einsum_operand_grad(i, g, args, terms, out):
    """dL/d operand i: contract g with the other operands onto operand i's subscripts."""
    xp = namespace(g)
    target = terms[i]
    x = args[i]
    others = [(terms[j], args[j]) for j in range(len(args)) if j != i]
    available = set(out).union(*[set(t) for t, _ in others]) if others else set(out)
    unique = "".join(dict.fromkeys(c for c in target if c in available))
    subs = ",".join([out] + [t for t, _ in others]) + "->" + unique
    res = xp.einsum(subs, g, *[a for _, a in others])
    sizes = dict(zip(target, x.shape))
    # Letters of the operand that appear nowhere else were summed: broadcast them back.
    missing = [c for c in dict.fromkeys(target) if c not in available]
    if missing:
        res = xp.reshape(res, tuple(res.shape) + (1,) * len(missing))
        unique = unique + "".join(missing)
        res = xp.broadcast_to(res, tuple(sizes[c] for c in unique))
    if len(set(target)) != len(target):
        # Repeated letters (a diagonal): place the gradient on the diagonal with identities.
        used = set(out).union(*[set(t) for t, _ in others], target)
        fresh = iter(c for c in EINSUM_LETTERS if c not in used)
        renamed, eyes, eye_subs, seen = [], [], [], set()
        for c in target:
            if c in seen:
                d = next(fresh, None)
                if d is None:
                    raise ValueError("einsum: the gradient of a repeated subscript needs a "
                                     "letter (a-z, A-Z) that the subscripts do not use")
                renamed.append(d)
                eyes.append(np.eye(sizes[c], dtype=np.result_type(x)))
                eye_subs.append(c + d)
            else:
                seen.add(c)
                renamed.append(c)
        res = xp.einsum(",".join([unique] + eye_subs) + "->" + "".join(renamed), res, *eyes)
    elif unique != target:
        res = xp.einsum(unique + "->" + target, res)
    return res


def _einsum_vjp(i, g, ans, *operands, subscripts):
    terms, out = parse_einsum(subscripts, [np.shape(a) for a in operands])
    return _einsum_operand_grad(i, g, operands, terms, out)


def _einsum_jvp(i, t, ans, *operands, subscripts):
    """Multilinear: operand i's term of the JVP is einsum with t in its place."""
    ops = list(operands)
    ops[i] = t
    return call(einsum, *ops, subscripts=subscripts)


# One rule per operand position (einsum takes any number of operands, NumPy at most 64),
# so that only the operands that need a cotangent get one.
_MAX_OPERANDS = 64

einsum = Primitive(
    "einsum", _einsum_forward,
    vjp=tuple(functools.partial(_einsum_vjp, i) for i in range(_MAX_OPERANDS)),
    jvp=tuple(functools.partial(_einsum_jvp, i) for i in range(_MAX_OPERANDS)),
    formulas=("the other operands contracted with g",), symbolic=None,
    samples=lambda rng: [
        ((normal(rng, 3, 4), normal(rng, 4, 2)), {"subscripts": "ij,jk->ik"}),
        ((normal(rng, 3, 4),), {"subscripts": "ij->i"}),
        ((normal(rng, 3, 3),), {"subscripts": "ii->"}),
        ((normal(rng, 2, 3, 4), normal(rng, 2, 4)), {"subscripts": "bij,bj->bi"}),
        ((normal(rng, 3), normal(rng, 4)), {"subscripts": "i,j->ij"}),
        ((normal(rng, 2, 3, 4), normal(rng, 4, 5)), {"subscripts": "...j,jk->...k"}),
    ],
    saves_ans=False,
    ref=lambda *ops, subscripts: np.einsum(subscripts, *ops),
    doc="Einstein summation (NumPy's subscripts, '...' included).",
)


# ----- inverse, determinant, solve ------------------------------------------------------


def _inv_forward(a):
    return np.linalg.inv(a)


def _inv_vjp(g, ans, a):
    xp = namespace(g)
    return -xp.matmul(_mT(ans, xp), xp.matmul(g, _mT(ans, xp)))


def _inv_jvp(t, ans, a):
    xp = namespace(t)
    return -xp.matmul(ans, xp.matmul(t, ans))


inv = Primitive(
    "inv", _inv_forward, vjp=_inv_vjp, jvp=_inv_jvp,
    formulas=("-A⁻ᵀ · g · A⁻ᵀ",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 3 * np.eye(3),), {}),
                         ((normal(rng, 2, 3, 3) + 3 * np.eye(3),), {})],
    saves_args=False,
    ref=lambda a: np.linalg.solve(a, np.broadcast_to(np.eye(a.shape[-1]), a.shape)),
    doc="Matrix inverse.  d(A⁻¹) = -A⁻¹ dA A⁻¹, so dL/dA = -A⁻ᵀ g A⁻ᵀ.",
)


# The gradient of det is the transposed adjugate, adj(A)ᵀ = det(A)·A⁻ᵀ where A is invertible.
# adj(A) exists for every square A (its entries are cofactors), so does the gradient: at a
# singular A it comes from the SVD, with no inverse (JAX gives it too, from the LU).


def _mT_np(x):
    return np.swapaxes(x, -1, -2)


def _products_before_after(s):
    """The products of the elements before and after each position of the last axis."""
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return before, after


def _exclusive_products(s):
    """``p_i = prod_{j != i} s_j`` along the last axis, without division (zeros welcome):
    the product of the elements before i times that of the elements after i."""
    before, after = _products_before_after(s)
    return before * after


def _pair_exclusive_products(s):
    """``q_ij = prod_{l not in {i, j}} s_l`` for i ≠ j (0 on the diagonal), without division.

    For i < j it is (product before i)·(product strictly between i and j)·(product after
    j); the middle one is a running product along each row, so O(n²) in all.
    """
    n = s.shape[-1]
    before, after = _products_before_after(s)
    idx = np.arange(n)
    # running[..., i, m] = prod_{i < l <= m} s_l, so between[..., i, j] = running[..., i, j-1]
    running = np.cumprod(np.where(idx > idx[:, None], s[..., None, :], 1.0), axis=-1)
    between = np.concatenate([np.ones_like(running[..., :1]), running[..., :-1]], axis=-1)
    upper = np.triu(before[..., :, None] * between * after[..., None, :], 1)
    return upper + _mT_np(upper)


def _svd_parts(a):
    """A = U·diag(s)·Vᵀ, and c = det(U)·det(V) (±1)."""
    u, s, vh = np.linalg.svd(a)
    c = np.sign(np.linalg.det(u) * np.linalg.det(vh))
    return u, s, vh, c


def _adjugate_T_svd(a):
    """adj(A)ᵀ for any square A: with A = U S Vᵀ, adj(A) = adj(Vᵀ)·adj(S)·adj(U)
    = det(U)det(V) · V·diag(p)·Uᵀ, where p_i = prod_{j != i} s_j; so
    adj(A)ᵀ = det(U)det(V) · U·diag(p)·Vᵀ."""
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros_like(a)
    u, s, vh, c = _svd_parts(a)
    return c[..., None, None] * np.matmul(u * _exclusive_products(s)[..., None, :], vh)


# Beyond this 1-norm condition number det(A)·A⁻¹ (and its derivative) loses more than about
# 1e-8 of its relative accuracy (the error grows as cond·eps): the SVD takes over.
_COND_LIMIT = 1e8


def _stable_inverse(a, ans):
    """A⁻¹ where every matrix of the stack is invertible and well conditioned (so that
    det(A)·A⁻ᵀ is accurate), else None. Non-finite entries keep this path (NaN out)."""
    a = np.asarray(a)
    if a.shape[-1] == 0 or not np.all(np.asarray(ans) != 0):
        return None
    try:
        ainv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return None
    cond = np.linalg.norm(a, 1, axis=(-2, -1)) * np.linalg.norm(ainv, 1, axis=(-2, -1))
    if np.all(cond < _COND_LIMIT) or not np.all(np.isfinite(a)):
        return ainv
    return None


def _det_grad_np(a, ans):
    """d det(A)/dA = adj(A)ᵀ: det(A)·A⁻ᵀ where every matrix is well conditioned (the fast
    path), else from the SVD (exact at singular matrices, where A⁻¹ does not exist)."""
    ainv = _stable_inverse(a, ans)
    if ainv is None:
        return _adjugate_T_svd(a)
    return np.asarray(ans)[..., None, None] * _mT_np(ainv)


def _adjugate_T_derivative(a, x):
    """The derivative of B(A) = adj(A)ᵀ (the Hessian of det) applied to X, for any A.

    With A = U S Vᵀ: adj(U (S + E) Vᵀ)ᵀ = c·U·adj(S + E)ᵀ·Vᵀ, and at a diagonal S,
    d adj(S)[E] = diag(Σ_k q_ik E_kk) - q ∘ E with q_ij = prod_{l not in {i,j}} s_l, a
    symmetric map. So dB[H] = c·U·F(Êᵀ)·Vᵀ with Ê = Uᵀ H V; the map is self-adjoint (a
    Hessian), so the VJP of a cotangent G is the same expression in G.
    """
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros(np.broadcast_shapes(a.shape, np.shape(x)), dtype=np.result_type(a, x))
    u, s, vh, c = _svd_parts(a)
    e = _mT_np(np.matmul(_mT_np(u), np.matmul(x, _mT_np(vh))))  # (Uᵀ X V)ᵀ
    q = _pair_exclusive_products(s)
    f = -q * e
    diag = np.einsum("...ik,...kk->...i", q, e)
    idx = np.arange(a.shape[-1])
    f[..., idx, idx] += diag
    return c[..., None, None] * np.matmul(u, np.matmul(f, vh))


def _third_order_error():
    return NotImplementedError(
        "det: derivatives of third or higher order at a singular matrix are not supported "
        "(first and second order are; at an invertible matrix every order is)")


def _adjugate_T_deriv_in_a(v, ans, a, x):
    raise _third_order_error()


def _adjugate_T_deriv_in_x(v, ans, a, x):
    """Linear and self-adjoint in x: the VJP of a cotangent and the JVP of a tangent are
    the map applied to it."""
    return call(adjugate_T_deriv, a, v)


# adj(A)ᵀ and its derivative as operations of their own, for the recorded backward of det
# at a singular matrix (create_graph=True, or forward mode over it): their rules give det's
# second derivative there. Not registered (the registry's test needs a reference formula
# in tests/test_primitives.py); tested with det in tests/test_conformance.py.
adjugate_T_deriv = Primitive(
    "adjugate_T_deriv", _adjugate_T_derivative,
    vjp=(_adjugate_T_deriv_in_a, _adjugate_T_deriv_in_x),
    jvp=(_adjugate_T_deriv_in_a, _adjugate_T_deriv_in_x),
    formulas=("d³det(A)", "d adj(A)ᵀ"), symbolic=None, saves_ans=False,
    reads=((0, 1), (0,)), register=False,
    doc="The derivative of adj(A)ᵀ (the Hessian of det) applied to x; linear in x.",
)

adjugate_T = Primitive(
    "adjugate_T", _adjugate_T_svd,
    vjp=lambda g, ans, a: call(adjugate_T_deriv, a, g),
    jvp=lambda t, ans, a: call(adjugate_T_deriv, a, t),
    formulas=("d adj(A)ᵀ",), symbolic=None, saves_ans=False, register=False,
    doc="adj(A)ᵀ, the gradient of det(A), for any square A (via the SVD).",
)


def _det_grad(a, ans):
    """adj(A)ᵀ = d det(A)/dA, computed with ``namespace(ans)``. Recorded (on Tensors) through
    inv and det where every matrix is well conditioned, so differentiable to any order
    there; through ``adjugate_T`` (the SVD) where one is singular or nearly (up to second
    order)."""
    xp = namespace(ans)
    if xp is np:
        return _det_grad_np(a, ans)
    if _stable_inverse(_data(a), _data(ans)) is not None:
        return xp.expand_dims(xp.expand_dims(ans, -1), -1) * _mT(call(inv, a), xp)
    return call(adjugate_T, a)


def _data(x):
    return x if isinstance(x, np.ndarray) else getattr(x, "data", x)


def _det_vjp(g, ans, a):
    xp = namespace(g)
    scale = xp.expand_dims(xp.expand_dims(g, -1), -1)
    return scale * _det_grad(a, ans)


def _det_jvp(t, ans, a):
    # d det(A) = trace(adj(A) dA) = sum over i, j of adj(A)ᵀ_ij dA_ij
    return namespace(t).sum(_det_grad(a, ans) * t, axis=(-2, -1))


det = Primitive(
    "det", lambda a: np.linalg.det(a), vjp=_det_vjp, jvp=_det_jvp,
    formulas=("det(A)·A⁻ᵀ",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 2 * np.eye(3),), {}),
                         ((normal(rng, 2, 2, 2) + 2 * np.eye(2),), {})],
    ref=lambda a: np.exp(np.linalg.slogdet(a)[1]) * np.linalg.slogdet(a)[0],
    doc="Determinant.  dL/dA = g·adj(A)ᵀ = g·det(A)·A⁻ᵀ; exact at singular A too "
        "(the adjugate, from the SVD).",
)


def _solve_forward(a, b):
    """x with A x = b, by NumPy 2's rule: b is a vector only when ``b.ndim == 1`` (then
    x has A's batch shape and length M), otherwise a stack of matrices (..., M, K) whose
    batch axes broadcast against A's."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"a must be a square matrix (M, M) or a stack of them (..., M, M), "
                         f"got shape {a.shape}")
    m = a.shape[-1]
    if b.ndim == 0:
        raise ValueError("b must be a vector (M,) or a stack of matrices (..., M, K), got a "
                         "0-d array")
    if b.ndim == 1:
        if b.shape[0] != m:
            raise ValueError(f"the vector b of shape {b.shape} must have length {m} to match "
                             f"a of shape {a.shape}")
        return _solve_matrices(a, b[:, None])[..., 0]
    if b.shape[-2] != m:
        raise ValueError(
            f"b of shape {b.shape} must have {m} rows (b.shape[-2]) to match a of shape "
            f"{a.shape}: as in NumPy 2, a b with two or more dimensions is a stack of "
            "matrices (..., M, K); for a stack of vectors pass b[..., None]")
    return _solve_matrices(a, b)


def _solve_matrices(a, b):
    """np.linalg.solve on matrix right-hand sides, the batch axes broadcast explicitly (so
    that no NumPy version reads b as a stack of vectors)."""
    if a.shape[:-2] != b.shape[:-2]:
        try:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"the batch shapes of a {a.shape} and b {b.shape} do not "
                             "broadcast") from None
        a = np.broadcast_to(a, batch + a.shape[-2:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
    return np.linalg.solve(a, b)


def _solve_vec(a, v, xp):
    """A⁻¹ v for v of shape (..., M), a stack of vectors: solved as matrices (..., M, 1)."""
    return call(solve, a, xp.expand_dims(v, -1))[..., 0]


def _solve_vjp(g, ans, a, b):
    """dL/db = A⁻ᵀ g and dL/dA = -(A⁻ᵀ g) xᵀ: one rule for both, which share A⁻ᵀ g."""
    xp = namespace(g)
    if b.ndim == 1:  # x[..., i] = (A⁻¹ b)_i: g and x are stacks of vectors
        gb = _solve_vec(_mT(a, xp), g, xp)  # A⁻ᵀ g, summed over A's batch by the engine
        return -xp.expand_dims(gb, -1) * xp.expand_dims(ans, -2), gb
    gb = call(solve, _mT(a, xp), g)
    return -xp.matmul(gb, _mT(ans, xp)), gb


def _solve_jvp(ts, ans, a, b):
    # dx = A⁻¹ (db - dA x)
    xp = namespace(ans)
    ta, tb = ts
    if b.ndim == 1:
        rhs = tb - xp.matmul(ta, xp.expand_dims(ans, -1))[..., 0]
        return _solve_vec(a, rhs, xp)
    return call(solve, a, tb - xp.matmul(ta, ans))


solve = Primitive(
    "solve", _solve_forward, vjp=_solve_vjp, jvp=_solve_jvp,
    formulas=("-(A⁻ᵀ · g) · ansᵀ", "A⁻ᵀ · g"), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 3 * np.eye(3), normal(rng, 3)), {}),
                         ((normal(rng, 3, 3) + 3 * np.eye(3), normal(rng, 3, 2)), {}),
                         ((normal(rng, 4, 3, 3) + 3 * np.eye(3), normal(rng, 3)), {}),
                         ((normal(rng, 2, 3, 3) + 3 * np.eye(3), normal(rng, 1, 3, 2)), {}),
                         ((normal(rng, 3, 3) + 3 * np.eye(3), normal(rng, 2, 3, 2)), {}),
                         ((normal(rng, 2, 3, 3) + 3 * np.eye(3), normal(rng, 3, 2)), {})],
    ref=references.solve,
    doc="x with A x = b (NumPy 2's shapes: b is a vector only when 1-D).  "
        "dL/db = A⁻ᵀ g, dL/dA = -(A⁻ᵀ g) xᵀ.",
)
