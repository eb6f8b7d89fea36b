"""Linear algebra: matmul, einsum, inv, det, solve.

matmul follows NumPy's rules for 1-D operands (a vector is promoted to a matrix and the
added axis removed again), and its batch axes broadcast; the engine sums the cotangents
of broadcast batch axes back.
"""

import numpy as np

from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.samples import normal


def _matmul_forward(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension; use multiply")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(
            f"{a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ"
        )
    return np.matmul(a, b)


def _mT(x, xp):
    return xp.swapaxes(x, -1, -2)


def _matmul_vjp(g, ans, args, needs, xp, params):
    a, b = args
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:  # dot product: ans = sum_k a_k b_k
        if needs[0]:
            ga = g * b
        if needs[1]:
            gb = g * a
        return ga, gb
    if a.ndim == 1:  # ans[..., n] = sum_k a_k b[..., k, n]
        if needs[0]:
            ga = xp.matmul(b, xp.expand_dims(g, -1))[..., 0]
        if needs[1]:
            gb = xp.expand_dims(a, -1) * xp.expand_dims(g, -2)
        return ga, gb
    if b.ndim == 1:  # ans[..., m] = sum_k a[..., m, k] b_k
        if needs[0]:
            ga = xp.expand_dims(g, -1) * b
        if needs[1]:
            gb = xp.matmul(_mT(a, xp), xp.expand_dims(g, -1))[..., 0]
        return ga, gb
    if needs[0]:
        if xp is np and _transposed_matrix(a) and b.ndim == 2:
            ga = np.matmul(b, g.T).T  # = g bᵀ, made in a's own (transposed) layout
        else:
            ga = xp.matmul(g, _mT(b, xp))
    if needs[1]:
        if xp is np and _transposed_matrix(b) and a.ndim == 2:
            # x @ W.T: b is W's transpose, a view. (gᵀ a)ᵀ = aᵀ g in b's own layout, so
            # the transpose's VJP hands W a gradient in W's layout: no copy to reorder it.
            gb = np.matmul(g.T, a).T
        else:
            gb = xp.matmul(_mT(a, xp), g)
    return ga, gb


def _transposed_matrix(x) -> bool:
    """A 2-D array laid out as the transpose of a C-ordered one (what ``W.T`` gives)."""
    return x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous


def _matmul_jvp(tangents, ans, args, xp, params):
    a, b = args
    ta, tb = tangents
    out = None
    if ta is not None:
        out = xp.matmul(ta, b)
    if tb is not None:
        term = xp.matmul(a, tb)
        out = term if out is None else out + term
    return out


matmul = Primitive(
    "matmul", _matmul_forward, _matmul_vjp, _matmul_jvp,
    formulas=("g · bᵀ", "aᵀ · g"), symbolic=lambda sp, a, b: a * b,
    samples=lambda rng: [
        ((normal(rng, 3, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 3, 4), normal(rng, 4)), {}),
        ((normal(rng, 4), normal(rng, 4)), {}),
        ((normal(rng, 2, 3, 4), normal(rng, 4, 2)), {}),
        ((normal(rng, 2, 1, 3, 4), normal(rng, 3, 4, 2)), {}),
    ],
    saves_ans=False,
    doc="Matrix product a @ b (NumPy semantics).  dL/da = g·bᵀ, dL/db = aᵀ·g.",
)


# ----- einsum --------------------------------------------------------------------------


def parse_einsum(subscripts: str, shapes) -> tuple[list[str], str]:
    """Explicit input and output subscripts, with '...' replaced by capital letters."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: {len(terms)} operand subscripts for {len(shapes)} operands"
        )
    ell_dims = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            ell_dims = max(ell_dims, len(shape) - (len(term) - 3))
    ell = "".join(chr(ord("A") + i) for i in range(ell_dims))
    full = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n = len(shape) - (len(term) - 3)
            term = term.replace("...", ell[ell_dims - n:])
        full.append(term)
    if out is None:
        letters = "".join(full)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and
                                   c.islower()))
    else:
        out = out.replace("...", ell)
    return full, out


def _einsum_forward(*operands, subscripts):
    return np.einsum(subscripts, *operands, optimize=len(operands) > 2)


def _einsum_operand_grad(i, g, args, terms, out, xp):
    """dL/d operand i: contract g with the other operands onto operand i's subscripts."""
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
        fresh = iter(c for c in "abcdefghijklmnopqrstuvwxyz" if c not in target + out)
        renamed, eyes, eye_subs, seen = [], [], [], set()
        for c in target:
            if c in seen:
                d = next(fresh)
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


def _einsum_vjp(g, ans, args, needs, xp, params):
    terms, out = parse_einsum(params["subscripts"], [np.shape(a) for a in args])
    return [
        _einsum_operand_grad(i, g, args, terms, out, xp) if need else None
        for i, need in enumerate(needs)
    ]


def _einsum_jvp(tangents, ans, args, xp, params):
    result = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        ops = list(args)
        ops[i] = t
        term = call(einsum, xp, *ops, **params)
        result = term if result is None else result + term
    return result


einsum = Primitive(
    "einsum", _einsum_forward, _einsum_vjp, _einsum_jvp,
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
    doc="Einstein summation (NumPy's subscripts, '...' included).",
)


# ----- inverse, determinant, solve ------------------------------------------------------


def _inv_forward(a):
    return np.linalg.inv(a)


inv = Primitive(
    "inv", _inv_forward,
    lambda g, ans, args, needs, xp, params: (-xp.matmul(_mT(ans, xp), xp.matmul(g, _mT(ans, xp))),),
    lambda tangents, ans, args, xp, params: -xp.matmul(ans, xp.matmul(tangents[0], ans)),
    formulas=("-A⁻ᵀ · g · A⁻ᵀ",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 3 * np.eye(3),), {}),
                         ((normal(rng, 2, 3, 3) + 3 * np.eye(3),), {})],
    saves_args=False,
    doc="Matrix inverse.  d(A⁻¹) = -A⁻¹ dA A⁻¹, so dL/dA = -A⁻ᵀ g A⁻ᵀ.",
)


def _det_vjp(g, ans, args, needs, xp, params):
    a = args[0]
    scale = xp.expand_dims(xp.expand_dims(g * ans, -1), -1)
    return (scale * _mT(call(inv, xp, a), xp),)


def _det_jvp(tangents, ans, args, xp, params):
    a = args[0]
    # d det(A) = det(A) · trace(A⁻¹ dA)
    prod = xp.matmul(call(inv, xp, a), tangents[0])
    return ans * xp.einsum("...ii->...", prod)


det = Primitive(
    "det", lambda a: np.linalg.det(a), _det_vjp, _det_jvp,
    formulas=("det(A)·A⁻ᵀ",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 2 * np.eye(3),), {}),
                         ((normal(rng, 2, 2, 2) + 2 * np.eye(2),), {})],
    doc="Determinant (needs an invertible matrix for the gradient).  dL/dA = g·det(A)·A⁻ᵀ.",
)


def _solve_forward(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if b.ndim == a.ndim - 1:  # a vector (or a batch of vectors) right-hand side
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


def _solve_vjp(g, ans, args, needs, xp, params):
    a, b = args
    vector = b.ndim == a.ndim - 1
    gb = call(solve, xp, _mT(a, xp), g)  # A⁻ᵀ g
    ga = None
    if needs[0]:
        if vector:
            ga = -xp.expand_dims(gb, -1) * xp.expand_dims(ans, -2)
        else:
            ga = -xp.matmul(gb, _mT(ans, xp))
    return ga, gb if needs[1] else None


def _solve_jvp(tangents, ans, args, xp, params):
    a, b = args
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        ta_x = xp.matmul(ta, ans)
        rhs = -ta_x if rhs is None else rhs - ta_x
    return call(solve, xp, a, rhs)


solve = Primitive(
    "solve", _solve_forward, _solve_vjp, _solve_jvp,
    formulas=("-A⁻ᵀg·xᵀ", "A⁻ᵀ·g"), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 3) + 3 * np.eye(3), normal(rng, 3)), {}),
                         ((normal(rng, 3, 3) + 3 * np.eye(3), normal(rng, 3, 2)), {})],
    doc="x with A x = b.  dL/db = A⁻ᵀ g, dL/dA = -(A⁻ᵀ g) xᵀ.",
)
