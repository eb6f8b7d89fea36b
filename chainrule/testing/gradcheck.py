"""``check_grads``: derivatives from the transforms against central differences, to any order.

For a function ``F`` of inputs ``x_1..x_n`` and a random direction ``v_i`` per input:

* the numerical JVP ``(F(x + eps v_i) - F(x - eps v_i)) / (2 eps)`` approximates ``J_i v_i``
  with error ``O(eps²)`` (``x + eps v_i`` moves input ``i`` only);
* **forward mode** is checked directly: ``jvp(F, x, v_i)`` against the numerical JVP,
  elementwise within ``atol + rtol * |expected|``;
* **reverse mode** is checked through the inner-product identity
  ``<J_iᵀ u, v_i> = <u, J_i v_i>`` with a random output cotangent ``u``: the left side from
  ``vjp``, the right from the numerical JVP. The sum over all elements accumulates rounding
  error, so its tolerance grows with the size: ``atol * sqrt(size) + rtol * sum|terms|``;
* **higher orders** recurse: the JVP ``(x, v) -> J(x) v`` and the VJP ``x -> J(x)ᵀ u`` are
  themselves functions, checked the same way with order - 1 (so ``order=2`` covers
  forward-over-forward, reverse-over-forward, forward-over-reverse and reverse-over-reverse).

Directions come from a fixed seed, so a check passes or fails the same way every time.
Default tolerances follow the lowest floating precision involved (float64: 1e-5,
float32: 2e-3, float16: 1e-2, as JAX's), and the step ``eps`` too (float64: 1e-5,
float32: 2⁻⁸ ≈ 3.9e-3, near the cube root of the precision, where truncation and rounding
errors balance).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff.graph import no_grad
from chainrule.autodiff.pytree import tree_flatten, tree_paths, tree_unflatten
from chainrule.autodiff.transforms import jvp, vjp
from chainrule.tensor import Tensor

__all__ = ["check_grads"]

_TOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 2e-3, np.dtype(np.float64): 1e-5}
_EPS = {np.dtype(np.float16): 2.0**-5, np.dtype(np.float32): 2.0**-8,
        np.dtype(np.float64): 1e-5}
_MODE_NAMES = {"fwd": "JVP", "rev": "VJP"}


def check_grads(
    f: Callable,
    args,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
) -> None:
    """Check ``f``'s derivatives up to ``order`` in forward (``"fwd"``) and reverse (``"rev"``)
    mode against central differences; raise ``AssertionError`` on a mismatch.

    ``args`` is the tuple of positional arguments (a single non-tuple value is one argument),
    numbers, arrays, Tensors or nests of them; floating leaves are differentiated, the others
    held fixed. The error names the mode, the order, the argument (and output), the
    expected and computed values, and the worst relative error.

    >>> cr.check_grads(lambda x, y: cr.sin(x) * y, (0.5, np.array([1.0, 2.0])), order=3)
    """
    modes = tuple(modes)
    if isinstance(modes, str) or not modes or any(m not in _MODE_NAMES for m in modes):
        raise ValueError(f"check_grads: modes must be a subset of ('fwd', 'rev'), got {modes!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be an int >= 1, got {order!r}")
    if not isinstance(args, (tuple, list)):
        args = (args,)
    leaves, treedef = tree_flatten(tuple(args))
    paths = tree_paths(treedef)
    names = _parameter_names(f, len(args))
    diff, xs, labels = [], [], []
    for k, (leaf, path) in enumerate(zip(leaves, paths)):
        arr = _float_array(leaf)
        if arr is not None:
            diff.append(k)
            xs.append(arr)
            labels.append(_label(path, names))
    if not xs:
        raise ValueError("check_grads: no floating-point argument to differentiate")

    def call(*vals):
        full = list(leaves)
        for k, v in zip(diff, vals):
            full[k] = v
        return f(*tree_unflatten(treedef, full))

    # Which outputs are differentiable, and what they are called.
    with no_grad():
        out = call(*xs)
    out_leaves, out_def = tree_flatten(out)
    keep = [k for k, y in enumerate(out_leaves) if _float_array(y) is not None]
    if not keep:
        raise ValueError("check_grads: the function has no floating-point output")
    out_paths = tree_paths(out_def)
    out_labels = [f"output{out_paths[k]}" if out_paths[k] else "the output" for k in keep]

    def F(*vals):  # noqa: N802  (the function under test, on its differentiable leaves)
        ys = tree_flatten(call(*vals))[0]
        return tuple(ys[k] for k in keep)

    dtypes = [x.dtype for x in xs] + [np.asarray(_data(out_leaves[k])).dtype for k in keep]
    tol = max(_TOL.get(dt, 1e-5) for dt in dtypes)
    step = eps if eps is not None else max(_EPS.get(x.dtype, 1e-5) for x in xs)
    settings = _Settings(step, tol if atol is None else atol, tol if rtol is None else rtol,
                         modes)
    _check(F, xs, labels, out_labels, order, [], settings)


class _Settings:
    def __init__(self, eps, atol, rtol, modes):
        self.eps, self.atol, self.rtol, self.modes = eps, atol, rtol, modes


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _float_array(x):
    """A float leaf as a fresh ndarray (numbers are float64); None for anything else."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, Tensor) or isinstance(x, np.ndarray):
        arr = np.array(_data(x))
        return arr if arr.dtype.kind == "f" else None
    if isinstance(x, np.floating):
        return np.array(x)
    if isinstance(x, (int, float)):
        return np.array(float(x))
    return None


def _parameter_names(f, nargs: int) -> list:
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return [None] * nargs
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            break
    return names + [None] * (nargs - len(names))


def _label(path: str, names: list) -> str:
    # path is "[i]..." for argument i
    end = path.index("]")
    i = int(path[1:end])
    rest = path[end + 1:]
    name = names[i] if i < len(names) else None
    return f"argument {i}" + (f" ({name}{rest})" if name else rest)


# ----- the checks --------------------------------------------------------------------------------


def _numeric(F, xs, i, v, eps) -> list[np.ndarray]:
    """Central-difference JVP of F along v in input i alone (float64 results)."""
    plus = list(xs)
    minus = list(xs)
    plus[i] = (xs[i] + eps * v).astype(xs[i].dtype)
    minus[i] = (xs[i] - eps * v).astype(xs[i].dtype)
    with no_grad():
        fp = [np.asarray(_data(y), dtype=np.float64) for y in F(*plus)]
        fm = [np.asarray(_data(y), dtype=np.float64) for y in F(*minus)]
    return [(a - b) / (2 * eps) for a, b in zip(fp, fm)]


def _describe_chain(chain: list[str], mode: str) -> str:
    names = [_MODE_NAMES[m] for m in [mode, *reversed(chain)]]
    return " of the ".join(names)


def _check(F, xs, labels, out_labels, order, chain, s: _Settings) -> None:
    level = len(chain) + 1
    rng = np.random.default_rng(level)
    vs = [rng.standard_normal(x.shape).astype(x.dtype) for x in xs]
    numeric = [_numeric(F, xs, i, v, s.eps) for i, v in enumerate(vs)]

    if "fwd" in s.modes:
        where = f"mode 'fwd' ({_describe_chain(chain, 'fwd')}), order {level}"
        for i, v in enumerate(vs):
            ts = [np.zeros_like(x) for x in xs]
            ts[i] = v
            _, t_out = jvp(F, tuple(xs), tuple(ts))
            for j, (got, exp) in enumerate(zip(t_out, numeric[i])):
                _compare(np.asarray(_data(got), dtype=np.float64), exp, s,
                         f"{where}, {labels[i]}, {out_labels[j]}: the JVP J·v")
        if order > 1:
            n = len(xs)

            def G(*vals):  # noqa: N802  ((x, t) -> J(x) t)
                return tuple(jvp(F, tuple(vals[:n]), tuple(vals[n:]))[1])

            _check(G, [*xs, *vs], [*labels, *[f"the tangent of {lb}" for lb in labels]],
                   [f"the tangent of {lb}" for lb in out_labels], order - 1,
                   [*chain, "fwd"], s)

    if "rev" in s.modes:
        where = f"mode 'rev' ({_describe_chain(chain, 'rev')}), order {level}"
        out, vjp_fn = vjp(F, *xs)
        us = [rng.standard_normal(np.shape(_data(y))).astype(np.asarray(_data(y)).dtype)
              for y in out]
        cts = vjp_fn(tuple(us))
        for i, v in enumerate(vs):
            got_terms = np.asarray(_data(cts[i]), dtype=np.float64) * v
            exp_terms = np.concatenate([(u * n).ravel() for u, n in zip(us, numeric[i])])
            got, exp = float(got_terms.sum()), float(exp_terms.sum())
            size = max(exp_terms.size, got_terms.size, 1)
            bound = s.atol * np.sqrt(size) + s.rtol * float(
                np.abs(exp_terms).sum() + np.abs(got_terms).sum()) / 2
            if not abs(got - exp) <= bound:
                rel = abs(got - exp) / max(abs(exp), np.finfo(float).tiny)
                raise AssertionError(
                    f"check_grads: {where}, {labels[i]}: the VJP Jᵀu disagrees with central "
                    f"differences in <Jᵀu, v> = <u, J v>: expected {exp:.10g} (from central "
                    f"differences), got {got:.10g}; relative error {rel:.3g} "
                    f"(allowed {bound:.3g} absolute; atol={s.atol:g}, rtol={s.rtol:g}, "
                    f"eps={s.eps:g})"
                )
        if order > 1:
            fixed_us = tuple(us)

            def H(*vals):  # noqa: N802  (x -> J(x)ᵀ u)
                return tuple(vjp(F, *vals)[1](fixed_us))

            _check(H, list(xs), labels, [f"the VJP wrt {lb}" for lb in labels], order - 1,
                   [*chain, "rev"], s)


def _compare(got: np.ndarray, exp: np.ndarray, s: _Settings, what: str) -> None:
    if got.shape != exp.shape:
        raise AssertionError(
            f"check_grads: {what} has shape {got.shape}, expected {exp.shape}")
    err = np.abs(got - exp)
    allowed = s.atol + s.rtol * np.abs(exp)
    bad = ~(err <= allowed)  # NaN counts as bad
    if not bad.any():
        return
    rel = err / np.maximum(np.abs(exp), np.finfo(float).tiny)
    rel = np.where(np.isnan(rel), np.inf, rel)
    flat_worst = int(np.argmax(np.where(bad, rel, -1)))
    worst = tuple(int(i) for i in np.unravel_index(flat_worst, exp.shape))
    with np.printoptions(precision=6, threshold=20, edgeitems=3):
        raise AssertionError(
            f"check_grads: {what} disagrees with central differences at "
            f"{int(bad.sum())} of {exp.size} elements\n"
            f"  expected (central differences): {exp!r}\n"
            f"  got:                            {got!r}\n"
            f"  worst relative error {float(rel[worst]):.3g} at index {worst}: expected "
            f"{float(exp[worst]):.10g}, got {float(got[worst]):.10g} "
            f"(atol={s.atol:g}, rtol={s.rtol:g}, eps={s.eps:g})"
        )
