"""Products and the ``cr.linalg`` namespace: ``dot``, ``outer``, ``einsum``, ``tensordot``,
``inner``, ``kron``, ``cross``, and ``linalg.inv/det/solve/norm`` with the decompositions of
:mod:`chainrule.linalg_api`.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from chainrule import linalg_api
from chainrule.numpy_api.arranging import moveaxis
from chainrule.numpy_api.math_functions import norm
from chainrule.numpy_api.shape import (
    _axis,
    _data,
    _ndim,
    _operand,
    _shape,
    broadcast_to,
    getitem,
    reshape,
    stack,
)
from chainrule.ops import arithmetic
from chainrule.ops import linalg as linalg_ops
from chainrule.tensor import Tensor

# ----- linear algebra ---------------------------------------------------------------------------


def dot(a, b) -> Tensor:
    """NumPy's ``dot``: products for scalars, matmul up to 2-D, else sum over the last axis
    of a and the second-to-last of b."""
    a, b = _operand(a), _operand(b)
    na, nb = np.ndim(_data(a)), np.ndim(_data(b))
    if na == 0 or nb == 0:
        return arithmetic.multiply(a, b)
    if na <= 2 and nb <= 2:
        return linalg_ops.matmul(a, b)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = letters[:na]
    if nb == 1:
        sb = sa[-1]
    else:
        sb = letters[na:na + nb - 2] + sa[-1] + letters[na + nb - 2]
    out = sa[:-1] + sb.replace(sa[-1], "")
    return einsum(f"{sa},{sb}->{out}", a, b)


def outer(a, b) -> Tensor:
    """The outer product of two flattened arrays: ``out[i, j] = a[i]·b[j]``."""
    return arithmetic.multiply(reshape(_operand(a), (-1, 1)), reshape(_operand(b), (1, -1)))


def _sublist(labels) -> str:
    try:
        letters = linalg_ops.EINSUM_LETTERS
        return "".join("..." if lab is Ellipsis else letters[operator.index(lab)]
                       for lab in labels)
    except (TypeError, IndexError):
        raise ValueError(f"einsum: a sublist holds integers 0..51 and Ellipsis, got "
                         f"{labels!r}") from None


def _sublists_to_subscripts(args) -> tuple[str, list]:
    """NumPy's interleaved form (operand, sublist, operand, sublist, ..., [output]) as a
    subscripts string and the operands."""
    operands = list(args[0::2])
    terms = [_sublist(sub) for sub in args[1::2]]
    out = _sublist(operands.pop()) if len(args) % 2 else None  # odd: the output sublist last
    if len(terms) != len(operands):
        raise ValueError("einsum: the interleaved form needs one sublist per operand")
    return ",".join(terms) + ("" if out is None else "->" + out), operands


def einsum(subscripts: str, *operands, optimize=False) -> Tensor:
    """Einstein summation with NumPy's subscripts (including '...').

    ``optimize`` is accepted for NumPy code and ignored: the operands are contracted in
    NumPy's default order (the same result, perhaps slower for long chains of operands).
    """
    if not isinstance(subscripts, str):  # NumPy's form einsum(a, [0, 1], b, [1, 2], [0, 2])
        subscripts, operands = _sublists_to_subscripts((subscripts, *operands))
    operands = [_operand(o) for o in operands]
    terms, out = linalg_ops.parse_einsum(subscripts, [np.shape(_data(o)) for o in operands])
    return linalg_ops.einsum(*operands, subscripts=",".join(terms) + "->" + out)


class linalg:  # noqa: N801  (a namespace, as numpy.linalg)
    """``cr.linalg``: inv, det, solve, norm, and the decompositions eigh, eigvalsh, eig,
    eigvals, svd, svdvals, cholesky, slogdet, qr, pinv (all differentiable)."""

    inv = staticmethod(linalg_ops.inv)
    det = staticmethod(linalg_ops.det)
    solve = staticmethod(linalg_ops.solve)
    norm = staticmethod(norm)


for _name, _fn in linalg_api.FUNCTIONS.items():
    setattr(linalg, _name, staticmethod(_fn))


# ----- products --------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tensordot(a, b, axes=2) -> Tensor:
    """Sum of products over the last ``axes`` axes of a and the first of b (an int), or
    over the axes paired in ``axes = (axes_a, axes_b)``."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > builtins.min(na, nb):
            raise ValueError(f"tensordot: axes={n} does not fit arrays of dimensions {na} "
                             f"and {nb}")
        axes_a, axes_b = list(range(na - n, na)), list(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise ValueError("tensordot: axes must be an int or a pair of axis "
                             "sequences") from None
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: the two axis sequences must have the same length")
        axes_a = [_axis(i, na, "tensordot: axes") for i in axes_a]
        axes_b = [_axis(i, nb, "tensordot: axes") for i in axes_b]
    for i, j in zip(axes_a, axes_b):
        if _shape(a)[i] != _shape(b)[j]:
            raise ValueError(f"tensordot: shape mismatch for sum over axis {i} of a "
                             f"{_shape(a)} and axis {j} of b {_shape(b)}")
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in axes_a] + \
          [c for j, c in enumerate(sb) if j not in axes_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def inner(a, b) -> Tensor:
    """Sum of products over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``."""
    a, b = _operand(a), _operand(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return arithmetic.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a, b) -> Tensor:
    """The Kronecker product: blocks ``a[i, j]·b`` (arrays of any dimension, the smaller
    one padded with leading axes of length 1)."""
    a, b = _operand(a), _operand(b)
    nd = builtins.max(_ndim(a), _ndim(b))
    sa = (1,) * (nd - _ndim(a)) + _shape(a)
    sb = (1,) * (nd - _ndim(b)) + _shape(b)
    # interleave: a's axes at even positions, b's at odd ones, then merge each pair
    a2 = reshape(a, tuple(s for n in sa for s in (n, 1)))
    b2 = reshape(b, tuple(s for n in sb for s in (1, n)))
    return reshape(arithmetic.multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None) -> Tensor:
    """The cross product of 3-vectors (or 2-vectors, taken with z = 0; two 2-vectors give
    the z component alone), along ``axis`` or ``axisa``/``axisb``/``axisc``."""
    a, b = _operand(a), _operand(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must "
                         f"be 2 or 3), got {na} and {nb}")

    def part(v, i, n):
        return getitem(v, (Ellipsis, i)) if i < n else None

    a0, a1, a2 = (part(a, i, na) for i in range(3))
    b0, b1, b2 = (part(b, i, nb) for i in range(3))
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    x = (a1 * b2 if b2 is not None else 0) - (a2 * b1 if a2 is not None else 0)
    y = (a2 * b0 if a2 is not None else 0) - (a0 * b2 if b2 is not None else 0)
    x, y = (broadcast_to(_operand(v), _shape(z)) for v in (x, y))
    out = stack([x, y, z], axis=-1)
    return moveaxis(out, -1, axisc)
