"""Products and the ``cr.linalg`` namespace: ``dot``, ``outer``, ``einsum``, and
``linalg.inv/det/solve/norm`` with the decompositions of :mod:`chainrule.linalg_api`.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule import linalg_api
from chainrule.numpy_api.math_functions import norm
from chainrule.numpy_api.shape import _data, _operand, reshape
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
