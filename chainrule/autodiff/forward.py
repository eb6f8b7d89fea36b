"""Forward mode: tangents pushed through each primitive's JVP rule as the function runs.

Every active ``jvp`` has a *level*, an integer tag. A Tensor carries its tangents in a dict
``{level: tangent Tensor}``. When a primitive runs while levels are active, the tangent of
its output at level L is ``sum_i J_i t_i`` from the primitive's JVP rule, computed with
chainrule's own functions, so that an outer ``grad`` or an outer ``jvp`` can differentiate
the tangent again. While level L's rule runs, L and the levels inside it are switched off:
the rule's own operations carry only the outer levels' tangents (this keeps nested
derivatives from being confused with one another).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from chainrule.autodiff.errors import missing_rule
from chainrule.autodiff.graph import STATE
from chainrule.autodiff.namespace import recorded
from chainrule.autodiff.tensor_core import Tensor, make


def push_tangents(prim, out: Tensor, args, params) -> None:
    """Give ``out`` its tangent at every active level where some argument has one."""
    levels = STATE.jvp_levels
    xp = recorded()
    result = None
    for level in levels:
        tangents = []
        any_tangent = False
        for a in args:
            t = None
            if isinstance(a, Tensor) and a._tangent is not None:
                t = a._tangent.get(level)
                if t is not None:
                    any_tangent = True
            tangents.append(t)
        if not any_tangent:
            continue
        for i in prim.nondiff_args:
            tangents[i] = None
        outer = tuple(lv for lv in levels if lv < level)
        saved = STATE.jvp_levels
        STATE.jvp_levels = outer
        try:
            ans = make(out.data, out._node)
            ans._tangent = {lv: tv for lv, tv in (out._tangent or {}).items() if lv in outer}
            tout = push_forward(prim, tangents, ans, args, params, _zeros_for)
            if tout is None:
                continue
            if not isinstance(tout, Tensor):
                tout = make(np.asarray(tout))
            if tout.shape != out.shape:
                tout = xp.broadcast_to(tout, out.shape)
            if tout.dtype != out.dtype:
                tout = xp.astype(tout, out.dtype)
        finally:
            STATE.jvp_levels = saved
        if result is None:
            result = dict(out._tangent) if out._tangent else {}
        result[level] = tout
        out._tangent = result
    if result is not None and out._node is not None:
        out._node.out_tangent = result


def push_forward(prim, tangents, ans, args, params, zeros: Callable):
    """The JVP: the tangent of ``ans`` given the arguments' ``tangents`` (None where an
    argument has none). Per-argument rules run for the arguments with a tangent and their
    terms are summed; one rule for several arguments gets them all, ``zeros(arg)`` filled
    in where one has none. Returns None when nothing flows."""
    jvp = prim.jvp
    if type(jvp) is tuple:
        out = None
        for rule, t in zip(jvp, tangents):
            if t is None:
                continue
            term = rule(t, ans, *args, **params)
            if term is not None:
                out = term if out is None else out + term
        return out
    if jvp is None:
        raise missing_rule(prim, "jvp")
    if len(args) == 1:
        return jvp(tangents[0], ans, *args, **params)
    filled = tuple(zeros(a) if t is None else t for t, a in zip(tangents, args))
    return jvp(filled, ans, *args, **params)


def _zeros_for(arg) -> Tensor:
    """A zero tangent for an argument that has none (a JVP rule for several arguments gets
    one per argument): the argument's shape, its dtype if floating, else float64."""
    data = arg.data if isinstance(arg, Tensor) else np.asarray(arg)
    dtype = data.dtype if data.dtype.kind == "f" else np.float64
    return make(np.zeros(data.shape, dtype))


@contextlib.contextmanager
def jvp_level():
    """Open a new forward-mode level for the duration of the block; yields its tag."""
    level = STATE.next_level
    STATE.next_level += 1
    saved = STATE.jvp_levels
    STATE.jvp_levels = saved + (level,)
    try:
        yield level
    finally:
        STATE.jvp_levels = saved


def seed(x: Tensor, tangent: Tensor, level: int) -> Tensor:
    """``x`` again (an identity op if it is in a graph) carrying ``tangent`` at ``level``."""
    if x.requires_grad:
        t = recorded().copy(x)
    else:
        t = make(x.data)
        t._vcl = x._vc
        t._tangent = dict(x._tangent) if x._tangent else None
    t._tangent = dict(t._tangent) if t._tangent else {}
    t._tangent[level] = tangent
    if t._node is not None:
        t._node.out_tangent = t._tangent
    return t


def tangent_of(y: Tensor, level: int):
    """The tangent of ``y`` at ``level``, or None when ``y`` does not depend on the seed."""
    if isinstance(y, Tensor) and y._tangent is not None:
        return y._tangent.get(level)
    return None

