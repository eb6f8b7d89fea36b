"""The one place where chainrule reads reference counts: may a gradient array be kept as is?

At the end of a backward pass each leaf receives its cotangent. When nothing else holds
that array (nor its memory, for a view), it can become the leaf's ``.grad`` as it is; a
copy would cost a pass over memory per parameter per step. PyTorch, too, steals an
unshared gradient. Whether anything else holds it is what ``sys.getrefcount`` tells; the
count it returns depends on the interpreter (how a call passes its arguments), so the
counts of an array known to be unshared are measured here at import, through the same
calls, rather than assumed. tests/test_backward_refcount.py fails if a new interpreter
breaks this (a shared array stolen, or an unshared one copied).
"""

from __future__ import annotations

import sys

import numpy as np


def reference_counts(g: np.ndarray) -> tuple[int, int]:
    """``sys.getrefcount`` of ``g`` as seen from here, and of the ndarray that owns a view's
    memory (0 when ``g`` is no view, or the memory is not an ndarray's own: bytes, a
    memoryview... something else may share it)."""
    base = g.base
    if base is None:
        return sys.getrefcount(g), 0
    if type(base) is not np.ndarray or base.base is not None or not base.flags.owndata:
        return sys.getrefcount(g), -1
    return sys.getrefcount(g), sys.getrefcount(base)


def unshared(g) -> bool:
    """Whether the array ``g`` is held by one variable of the caller only (and a view's
    memory by ``g`` only): then the caller may keep it, and write into it, as its own.

    Call it in an assignment of its own (``mine = unshared(g)``): inside a longer
    expression, such as the arguments of another call, ``g`` may also sit on the caller's
    evaluation stack, and the count is then one more than measured."""
    return type(g) is np.ndarray and reference_counts(g) == _UNSHARED[g.base is not None]


def _as_unshared_sees(g) -> tuple[int, int]:
    # Stands where `unshared` stands (one call below a caller that holds `g` in one local
    # variable), so the counts measured through it are the ones `unshared` will see.
    return reference_counts(g)


def _measure() -> tuple[tuple[int, int], tuple[int, int]]:
    cot = {0: np.empty(1)}
    _, g = cot.popitem()  # as backward hands out a leaf's cotangent
    alone = _as_unshared_sees(g)
    cot = {0: np.empty(2)[::2]}
    _, g = cot.popitem()
    view = _as_unshared_sees(g)
    return alone, view


_UNSHARED = _measure()  # (for an array that owns its memory, for a view), both unshared
