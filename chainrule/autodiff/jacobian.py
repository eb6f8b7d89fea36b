"""Full Jacobians, assembled from one sweep per row (reverse) or per column (forward).

For ``y = f(x)`` with ``m`` output and ``n`` input elements, the Jacobian ``J`` (m x n) is

* row by row in reverse mode: row ``k`` is ``e_kᵀ J``, one VJP per output element;
* column by column in forward mode: column ``k`` is ``J e_k``, one JVP per input element.

``mode="auto"`` takes the mode with fewer passes (forward when ``n < m``). Entry ``[j][i]``
of the result, for output leaf ``y_j`` and input leaf ``x_i``, has shape
``y_j.shape + x_i.shape``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autodiff import forward as _forward
from chainrule.autodiff.graph import STATE, tracing
from chainrule.autodiff.namespace import recorded
from chainrule.autodiff.pytree import tree_flatten, tree_paths, tree_unflatten
from chainrule.autodiff.tensor_core import Tensor, make
from chainrule.autodiff.transform_utils import (
    _Args,
    _check_output,
    _finish,
    _live,
    _normalize_argnums,
    _Reverse,
    _tangents_out,
)


def jacobian_call(f, args: tuple, kwargs: dict, argnums, mode: str):
    """Evaluate ``jacobian(f, argnums, mode)(*args, **kwargs)``."""
    who = "jacobian"
    nums, single = _normalize_argnums(who, argnums, len(args))
    if mode == "fwd":
        return _forward_jacobian(who, f, args, kwargs, nums, single)
    rev = _Reverse(who, f, args, kwargs, nums)
    out_leaves, out_def = tree_flatten(rev.result)
    ys = [_check_output(who, y, f"output{p}" if p else "the output")
          for y, p in zip(out_leaves, tree_paths(out_def))]
    m = sum(y.data.size for y in ys)
    n = sum(np.size(x.data if isinstance(x, Tensor) else x) for x in rev.inputs.leaves)
    if mode == "auto" and n < m:
        # Forward mode needs n passes, reverse m: the recorded evaluation above is dropped.
        return _forward_jacobian(who, f, args, kwargs, nums, single)
    return _reverse_jacobian(rev, ys, out_def, single)


def _assemble(pieces: list, axis: int, shape: tuple):
    """Stack rows/columns into one block of ``shape``, differentiably when they are live."""
    if any(_live(p) for p in pieces) or STATE.compile_tracer is not None:
        api = recorded()
        return api.reshape(api.stack(pieces, axis=axis), shape)
    arrays = [p.data if isinstance(p, Tensor) else p for p in pieces]
    if not arrays:
        return np.zeros(shape)
    return np.stack(arrays, axis=axis).reshape(shape)


def _shape(x) -> tuple:
    return (x.data if isinstance(x, Tensor) else x).shape


def _dtype(x):
    return (x.data if isinstance(x, Tensor) else x).dtype


def _result(blocks, inputs: _Args, out_def, single: bool):
    """``blocks[j][i]`` arranged as output structure of (input structure per argnum)."""
    per_output = []
    for row in blocks:
        per_arg = inputs.rebuild(row)
        per_output.append(per_arg[0] if single else tuple(per_arg))
    return tree_unflatten(out_def, per_output)


def _reverse_jacobian(rev: _Reverse, ys: list, out_def, single: bool):
    rev.scan(ys)
    create = rev.needs_graph()
    leaves = rev.leaves
    blocks = []
    for y in ys:
        rows: list[list] = [[] for _ in leaves]
        for k in range(y.data.size):
            e = np.zeros(y.shape, y.data.dtype)
            e.flat[k] = 1
            for i, g in enumerate(rev.gradients([y], [e], create)):
                rows[i].append(g)
        blocks.append([
            _assemble(r, 0, y.shape + _shape(x)) if r else np.zeros(
                y.shape + _shape(x), _dtype(x))
            for r, x in zip(rows, leaves)
        ])
    return _finish(_result(blocks, rev.inputs, out_def, single), rev.tensors)


def _forward_jacobian(who: str, f, args: tuple, kwargs: dict, nums, single: bool):
    inputs = _Args(who, args, nums)
    tensors = inputs.any_tensor or any(
        isinstance(leaf, Tensor)
        for i, a in enumerate(args) if i not in nums
        for leaf in tree_flatten(a)[0])
    base = [x if isinstance(x, Tensor) else make(x) for x in inputs.leaves]

    def call(leaves):
        call_args = list(args)
        for i, sub in zip(nums, inputs.rebuild(leaves)):
            call_args[i] = sub
        with tracing():
            return f(*call_args, **kwargs)

    columns = None  # columns[j][i]: the tangents of output leaf j along the basis of leaf i
    ys = out_def = None
    for i, x in enumerate(base):
        for k in range(x.data.size):
            e = np.zeros(x.shape, x.data.dtype)
            e.flat[k] = 1
            with _forward.jvp_level() as level:
                leaves = list(base)
                leaves[i] = _forward.seed(x, make(e), level)
                ys, ts, out_def = _tangents_out(who, call(leaves), level)
            if columns is None:
                columns = [[[] for _ in base] for _ in ys]
            for j, t in enumerate(ts):
                columns[j][i].append(t)
    if columns is None:  # no input elements at all: one evaluation gives the output shapes
        result = call(base)
        out_leaves, out_def = tree_flatten(result)
        ys = [_check_output(who, y) for y in out_leaves]
        columns = [[[] for _ in base] for _ in ys]
    blocks = []
    for y, cols in zip(ys, columns):
        blocks.append([
            _assemble(c, -1, y.shape + x.shape) if c else np.zeros(
                y.shape + x.shape, y.data.dtype)
            for c, x in zip(cols, base)
        ])
    return _finish(_result(blocks, inputs, out_def, single), tensors)

