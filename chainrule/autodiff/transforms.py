"""Function transforms, JAX-style: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``hvp``.

A transform takes a function and returns a function (or evaluates one), built on the
engine's two sweeps:

* reverse mode: run ``f`` on fresh leaves that require grad, then one backward sweep per
  output cotangent (``grad``, ``vjp``, ``jacobian(mode="rev")``);
* forward mode: run ``f`` once with tangents attached to the inputs at a new level; each
  primitive's JVP rule pushes them along (``jvp``, ``jacobian(mode="fwd")``). No reverse
  pass is involved.

**Inputs and outputs.** Arguments may be numbers, arrays, Tensors, or nested tuples/lists/
dicts of them (pytrees, see :mod:`chainrule.autodiff.pytree`). Python numbers are float64.
With plain inputs (no Tensor anywhere in the arguments) results are NumPy arrays (0-d for
scalars); with Tensor inputs they are Tensors, still connected to the graph of their inputs,
so they can be differentiated again.

**Composition.** When a transform runs inside another (``grad(grad(f))``, ``jvp(grad(f))``,
a ``grad`` called inside a function given to ``grad``), the outer one hands the inner one
Tensors that require grad or carry tangents. The inner backward sweep is then recorded
(``create_graph``) or computed on Tensors that carry the tangents, so the outer transform can
differentiate it. Perturbations of different transforms never mix: reverse mode uses fresh
leaves per call, forward mode a fresh level per call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff import backward as _backward
from chainrule.autodiff import forward as _forward
from chainrule.autodiff.graph import STATE, Node, enable_grad
from chainrule.autodiff.pytree import TreeDef, tree_flatten, tree_paths, tree_unflatten
from chainrule.tensor import Tensor, make

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp"]


# ----- inputs ------------------------------------------------------------------------------------


def _where(who: str, argnum: int, path: str) -> str:
    return f"{who}: argument {argnum}{path}"


def _as_input(x, where: str):
    """A differentiable input leaf: a float Tensor or a float ndarray (numbers -> float64)."""
    if isinstance(x, Tensor):
        if x.data.dtype.kind != "f":
            raise TypeError(
                f"{where} is a Tensor of dtype {x.data.dtype}; only floating-point inputs can "
                "be differentiated (convert with .astype(cr.float64))"
            )
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f":
            raise TypeError(
                f"{where} is an array of dtype {x.dtype}; only floating-point inputs can be "
                "differentiated (convert with .astype(np.float64))"
            )
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{where} is a bool, which cannot be differentiated")
    if isinstance(x, np.floating):
        return np.asarray(x)
    if isinstance(x, (int, float)):
        return np.asarray(float(x), dtype=np.float64)
    if isinstance(x, np.integer):
        raise TypeError(
            f"{where} is a NumPy integer ({type(x).__name__}), which cannot be differentiated; "
            "pass a float"
        )
    raise TypeError(
        f"{where} is a {type(x).__name__}; transforms differentiate numbers, arrays, Tensors "
        "and nested tuples/lists/dicts of them"
    )


class _Args:
    """The differentiated arguments of one call, flattened: leaves, structures, labels."""

    def __init__(self, who: str, args: Sequence, argnums: tuple[int, ...]):
        self.argnums = argnums
        self.defs: list[TreeDef] = []
        self.leaves: list = []  # converted leaves (Tensor or ndarray)
        self.counts: list[int] = []
        self.labels: list[str] = []
        for i in argnums:
            leaves, treedef = tree_flatten(args[i])
            paths = tree_paths(treedef)
            self.defs.append(treedef)
            self.counts.append(len(leaves))
            for leaf, path in zip(leaves, paths):
                self.leaves.append(_as_input(leaf, _where(who, i, path)))
                self.labels.append(f"argument {i}{path}")
        self.any_tensor = any(isinstance(x, Tensor) for x in self.leaves)

    def rebuild(self, flat: list) -> list:
        """Per differentiated argument, the pytree with ``flat`` as its leaves."""
        out = []
        k = 0
        for treedef, n in zip(self.defs, self.counts):
            out.append(tree_unflatten(treedef, flat[k:k + n]))
            k += n
        return out


def _normalize_argnums(who: str, argnums, nargs: int) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, (tuple, list)) or not nums:
        raise TypeError(
            f"{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}"
        )
    out = []
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{who}: argnums must hold ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: argnums={argnums!r} is out of range: the function was called with "
                f"{nargs} positional argument{'s' if nargs != 1 else ''}"
            )
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums={argnums!r} repeats an argument")
    return tuple(out), single


def _any_tensor(tree) -> bool:
    return any(isinstance(x, Tensor) for x in tree_flatten(tree)[0])


def _fresh_leaf(x, connect: bool) -> Tensor:
    """A Tensor that requires grad, for reverse mode: the input ``x`` seen afresh.

    When ``x`` is itself in a graph (and recording is on), the fresh input is ``copy(x)``,
    an identity op, so that what this transform computes stays differentiable with respect to
    ``x`` by an outer transform. Otherwise it is a new leaf (sharing ``x``'s memory), which
    keeps any forward-mode tangents ``x`` carries.
    """
    if isinstance(x, Tensor):
        if connect and x.requires_grad:
            from chainrule.numpy_api import copy

            return copy(x)
        t = make(x.data)
        if x._tangent:
            t._tangent = dict(x._tangent)
    else:
        t = make(x)
    t.requires_grad = True
    return t


# ----- outputs -----------------------------------------------------------------------------------


def _live(x) -> bool:
    """Does ``x`` still take part in an outer differentiation (graph or live tangent)?"""
    if not isinstance(x, Tensor):
        return False
    if x.requires_grad:
        return True
    if x._tangent:
        levels = STATE.jvp_levels
        return any(lv in levels for lv in x._tangent)
    return False


def _finish(tree, tensors: bool):
    """Results as Tensors, or, for plain inputs, as NumPy arrays.

    Plain results stay Tensors when some leaf is still live (it depends on an enclosing
    transform's variable through a closure): dropping it would cut the outer derivative.
    """
    leaves, treedef = tree_flatten(tree)
    if not tensors and any(_live(x) for x in leaves):
        tensors = True
    if tensors:
        leaves = [x if isinstance(x, Tensor) or not isinstance(x, np.ndarray) else make(x)
                  for x in leaves]
    else:
        leaves = [x.data if isinstance(x, Tensor) else x for x in leaves]
    return tree_unflatten(treedef, leaves)


def _check_output(who: str, y, where: str = "the output"):
    """``y`` as a Tensor with a floating dtype (numbers become float64 constants)."""
    if isinstance(y, Tensor):
        dt = y.data.dtype
    elif isinstance(y, np.ndarray):
        dt = y.dtype
    elif isinstance(y, (bool, np.bool_)):
        dt = np.dtype(bool)
    elif isinstance(y, (int, float, np.number)):
        dt = np.asarray(y).dtype
        if dt.kind in "iu" and isinstance(y, int):
            dt = np.dtype(np.int64)
    else:
        raise TypeError(
            f"{who}: {where} of the function is a {type(y).__name__}; it must be a number, an "
            "array or a Tensor (or nested tuples/lists/dicts of them)"
        )
    if dt.kind != "f":
        raise TypeError(
            f"{who}: {where} of the function has dtype {dt}, which is not differentiable; "
            "only floating-point outputs have derivatives (return integer or boolean results "
            "as auxiliary data with has_aux=True, or cast with .astype(cr.float64))"
        )
    if isinstance(y, Tensor):
        return y
    return make(np.asarray(y, dtype=dt))


def _zeros_like(x) -> np.ndarray:
    data = x.data if isinstance(x, Tensor) else x
    return np.zeros(data.shape, data.dtype)


# ----- reverse mode ----------------------------------------------------------------------------


def _reaches_outside(outputs: list[Tensor], inner: list[Tensor]) -> bool:
    """Does the graph of ``outputs`` reach a leaf requiring grad other than ``inner``?

    Then ``f`` closed over a variable of an enclosing differentiation (or over a user's
    Tensor that requires grad), and the backward sweep must be recorded for it.
    """
    inner_ids = {id(t) for t in inner}
    stack = [y._node for y in outputs if y._node is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for p in node.parents:
            if p is None:
                continue
            if type(p) is Node:
                if id(p) not in seen:
                    stack.append(p)
            elif id(p) not in inner_ids:
                return True
    return False


class _Reverse:
    """``f`` evaluated on fresh leaves that require grad, ready for backward sweeps."""

    def __init__(self, who: str, f: Callable, args: tuple, kwargs: dict,
                 argnums: tuple[int, ...]):
        self.who = who
        self.inputs = _Args(who, args, argnums)
        self.tensors = self.inputs.any_tensor or any(
            _any_tensor(a) for i, a in enumerate(args) if i not in argnums)
        self.outer_recording = STATE.grad_enabled
        connect = self.outer_recording
        self.leaves = [_fresh_leaf(x, connect) for x in self.inputs.leaves]
        call_args = list(args)
        for i, sub in zip(argnums, self.inputs.rebuild(self.leaves)):
            call_args[i] = sub
        # A transform differentiates whatever the caller's grad mode: recording is switched
        # on for f (as torch.func.grad ignores an enclosing no_grad).
        with enable_grad():
            self.result = f(*call_args, **kwargs)
        self.outer_inputs_need_graph = connect and any(
            isinstance(x, Tensor) and x.requires_grad for x in self.inputs.leaves)

    def needs_graph(self, roots: list[Tensor], extra=()) -> bool:
        """Must the backward sweep be recorded, for an enclosing reverse differentiation?"""
        if not self.outer_recording:
            return False
        if self.outer_inputs_need_graph:
            return True
        if any(isinstance(e, Tensor) and e.requires_grad for e in extra):
            return True
        return _reaches_outside(roots, self.leaves)

    def gradients(self, roots: list[Tensor], cotangents: list, create_graph: bool) -> list:
        """d<roots, cotangents>/d(leaves): one backward sweep; zeros for unused leaves."""
        live = [(r, c) for r, c in zip(roots, cotangents) if r.requires_grad]
        if not live:
            grads = [None] * len(self.leaves)
        else:
            grads = _backward.grad([r for r, _ in live], self.leaves, [c for _, c in live],
                                   retain_graph=True, create_graph=create_graph)
        out = []
        for g, x in zip(grads, self.leaves):
            if g is None:
                out.append(make(_zeros_like(x)))
            elif not create_graph and g.requires_grad:
                out.append(_detached(g))
            else:
                out.append(g)
        return out


def _detached(t: Tensor) -> Tensor:
    """``t`` cut from its graph but keeping its tangents (themselves cut from theirs)."""
    d = make(t.data)
    if t._tangent:
        d._tangent = {lv: _detached(v) for lv, v in t._tangent.items()}
    return d


def _value(y: Tensor, keep_graph: bool):
    """A transform's returned value: with its graph only when an outer transform needs it."""
    if keep_graph or not isinstance(y, Tensor) or y._node is None:
        return y
    return _detached(y)


def _values(tree, keep_graph: bool):
    """``_value`` on every Tensor leaf of ``tree`` (auxiliary outputs)."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [_value(x, keep_graph) if isinstance(x, Tensor) else x
                                    for x in leaves])


def _split_aux(who: str, result, has_aux: bool):
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(
            f"{who}(has_aux=True): the function must return a pair (output, aux), got "
            f"{type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        )
    return result[0], result[1]


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """``f`` and its gradient together: ``value_and_grad(f)(x) -> (f(x), df/dx)``.

    ``f`` must return a scalar (a one-element float result). ``argnums`` picks the
    positional argument(s) to differentiate (an int: the gradient has that argument's
    structure; a tuple: a tuple of gradients). With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the result is ``((value, aux), grad)``.

    >>> cr.value_and_grad(lambda x: cr.sum(x ** 2))(np.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """
    who = "value_and_grad"

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single = _normalize_argnums(who, argnums, len(args))
        rev = _Reverse(who, f, args, kwargs, nums)
        out, aux = _split_aux(who, rev.result, has_aux)
        if isinstance(out, (tuple, list, dict)):
            raise TypeError(
                f"{who}: the function must return a scalar, got a {type(out).__name__}; use "
                "cr.jacobian or cr.vjp for several outputs"
                + (" (or has_aux=True if the rest is auxiliary data)" if not has_aux else "")
            )
        y = _check_output(who, out)
        if y.data.size != 1:
            raise TypeError(
                f"{who}: the function must return a scalar to be differentiated, but its "
                f"output has shape {y.shape}; reduce it (e.g. cr.sum) or use cr.jacobian/cr.vjp"
            )
        create = rev.needs_graph([y])
        grads = rev.gradients([y], [None], create)
        per_arg = rev.inputs.rebuild(grads)
        tensors = rev.tensors
        value = _value(y, create)
        g = per_arg[0] if single else tuple(per_arg)
        value, g = _finish((value, g), tensors)
        if has_aux:
            return (value, _finish(_values(aux, create), tensors)), g
        return value, g

    return wrapper


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The gradient of a scalar function: ``grad(f)(x) = df/dx``, of ``x``'s shape and dtype.

    Reverse mode, one backward sweep. ``grad(grad(f))`` and deeper work (``d^n/dx^n``), as
    does a ``grad`` inside a function differentiated by another transform. See
    :func:`value_and_grad` for ``argnums`` and ``has_aux`` (then ``(grad, aux)``).

    >>> dsin = cr.grad(cr.sin)
    >>> dsin(0.0), cr.grad(dsin)(0.0)      # cos(0), -sin(0)
    (array(1.), array(-0.))
    """
    vg = value_and_grad(f, argnums=argnums, has_aux=has_aux)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return wrapper


def vjp(f: Callable, *primals, has_aux: bool = False):
    """Vector-Jacobian product: ``out, vjp_fn = vjp(f, *primals)``; ``vjp_fn(u) = uᵀ J``.

    ``u`` has the structure, shapes (and dtypes) of ``out``; ``vjp_fn`` returns a tuple
    with one cotangent per primal, each of that primal's structure. ``vjp_fn`` may be
    called many times (the graph is kept). With ``has_aux=True`` returns
    ``(out, vjp_fn, aux)``.

    >>> out, vjp_fn = cr.vjp(lambda x: x * 3.0, np.array([1.0, 2.0]))
    >>> vjp_fn(np.array([1.0, 10.0]))
    (array([ 3., 30.]),)
    """
    who = "vjp"
    rev = _Reverse(who, f, primals, {}, tuple(range(len(primals))))
    result, aux = _split_aux(who, rev.result, has_aux)
    out_leaves, out_def = tree_flatten(result)
    out_paths = tree_paths(out_def)
    ys = [_check_output(who, y, f"output{p}" if p else "the output")
          for y, p in zip(out_leaves, out_paths)]

    def vjp_fn(cotangent):
        ct_leaves, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise TypeError(
                f"vjp_fn: the cotangent has structure {ct_def._describe()} but the output of "
                f"the function has structure {out_def._describe()}; they must match"
            )
        cts = []
        for c, y, p in zip(ct_leaves, ys, out_paths):
            c = _as_cotangent(c, y, f"vjp_fn: cotangent{p}")
            cts.append(c)
        create = rev.needs_graph(ys, cts)
        grads = rev.gradients(ys, cts, create)
        per_arg = rev.inputs.rebuild(grads)
        return tuple(_finish(tuple(per_arg), rev.tensors or _any_tensor(cotangent)))

    keep = rev.needs_graph(ys)
    out = _finish(tree_unflatten(out_def, [_value(y, keep) for y in ys]), rev.tensors)
    if has_aux:
        return out, vjp_fn, _finish(_values(aux, keep), rev.tensors)
    return out, vjp_fn


def _as_cotangent(c, y: Tensor, where: str):
    """A (co)tangent leaf matched to ``y``: same shape, ``y``'s dtype; Tensors kept."""
    if isinstance(c, Tensor):
        if c.shape != y.shape:
            raise ValueError(f"{where} has shape {c.shape} but must have shape {y.shape}")
        if c.data.dtype != y.data.dtype:
            from chainrule.numpy_api import astype

            c = astype(c, y.data.dtype)
        return c
    if c is None or isinstance(c, (str, bytes)):
        raise TypeError(f"{where} is {c!r}; expected a number, an array or a Tensor")
    try:
        arr = np.asarray(c)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot convert {type(c).__name__} to an array") from exc
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{where} has dtype {arr.dtype}; expected numbers")
    if arr.shape != y.shape:
        raise ValueError(f"{where} has shape {arr.shape} but must have shape {y.shape}")
    return arr.astype(y.data.dtype, copy=False)


# ----- forward mode ----------------------------------------------------------------------------


def _split_primals(who: str, primals, tangents):
    """Primals and tangents as argument tuples (a lone non-sequence means one argument)."""
    single = not isinstance(primals, (tuple, list))
    if single:
        primals = (primals,)
        tangents = (tangents,)
    elif not isinstance(tangents, (tuple, list)):
        raise TypeError(
            f"{who}: primals is a {type(primals).__name__} of {len(primals)} arguments, so "
            f"tangents must be one too, got {type(tangents).__name__}"
        )
    p_def = tree_flatten(tuple(primals))[1]
    t_def = tree_flatten(tuple(tangents))[1]
    if p_def != t_def:
        raise TypeError(
            f"{who}: primals and tangents must have the same structure, got "
            f"{p_def._describe()} and {t_def._describe()}"
        )
    return tuple(primals), tuple(tangents), single


def _seeded_inputs(who: str, primals: tuple, tangents: tuple, level: int):
    """The primals as Tensors carrying their tangents at ``level``, and the tensor flag."""
    args = _Args(who, primals, tuple(range(len(primals))))
    t_leaves = tree_flatten(tangents)[0]
    seeded = []
    for x, t, label in zip(args.leaves, t_leaves, args.labels):
        xt = x if isinstance(x, Tensor) else make(x)
        tt = _as_cotangent(t, xt, f"{who}: the tangent of {label}")
        if not isinstance(tt, Tensor):
            tt = make(tt)
        seeded.append(_forward.seed(xt, tt, level))
    tensors = args.any_tensor or _any_tensor(tangents)
    return args, seeded, tensors


def _tangents_out(who: str, result, level: int):
    """The output leaves (checked) and their tangents at ``level`` (zeros where none)."""
    out_leaves, out_def = tree_flatten(result)
    ys, ts = [], []
    for y, p in zip(out_leaves, tree_paths(out_def)):
        y = _check_output(who, y, f"output{p}" if p else "the output")
        t = _forward.tangent_of(y, level)
        ys.append(y)
        ts.append(make(_zeros_like(y)) if t is None else t)
    return ys, ts, out_def


def _drop_level(y, level: int):
    """``y`` without its (finished) tangent at ``level``; other levels' tangents kept."""
    if isinstance(y, Tensor) and y._tangent and level in y._tangent:
        rest = {k: v for k, v in y._tangent.items() if k != level}
        z = make(y.data, y._node)
        z._vc = y._vc
        z.requires_grad = y.requires_grad
        z._tangent = rest or None
        return z
    return y


def jvp(f: Callable, primals, tangents):
    """Jacobian-vector product by true forward mode: ``(f(*primals), J · tangents)``.

    ``primals`` is a tuple (or list) of arguments and ``tangents`` has the same structure
    and shapes (a single non-sequence primal is accepted as one argument). One evaluation
    of ``f`` pushes the tangents through every primitive's JVP rule; no reverse pass.
    The output tangent has the structure of the output (zeros where it does not depend on
    the inputs).

    >>> cr.jvp(cr.sin, (0.0,), (2.0,))           # (sin 0, cos(0) * 2)
    (array(0.), array(2.))
    """
    who = "jvp"
    primals, tangents, _ = _split_primals(who, primals, tangents)
    with _forward.jvp_level() as level:
        args, seeded, tensors = _seeded_inputs(who, primals, tangents, level)
        result = f(*args.rebuild(seeded))
        ys, ts, out_def = _tangents_out(who, result, level)
    ys = [_drop_level(y, level) for y in ys]
    out = tree_unflatten(out_def, ys)
    t_out = tree_unflatten(out_def, ts)
    return _finish(out, tensors), _finish(t_out, tensors)


def hvp(f: Callable, primals, tangents):
    """Hessian-vector product ``(f(*primals), H · tangents)`` without forming ``H``.

    Forward-over-reverse: the JVP of ``grad(f)`` along ``tangents``, so its cost is a small
    constant times one gradient. ``f`` returns a scalar; ``H`` is its Hessian with respect to
    all the primals, and the result has the structure of ``primals`` (a tuple of one entry
    per argument; a single non-sequence primal gives a single result), as
    ``torch.autograd.functional.hvp``.

    >>> f = lambda x: cr.sum(x ** 3)                      # H = diag(6x)
    >>> cr.hvp(f, np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    (array(9.), array([ 6., 12.]))
    """
    who = "hvp"
    primals, tangents, single = _split_primals(who, primals, tangents)
    nums = tuple(range(len(primals)))
    vg = value_and_grad(f, argnums=nums)
    (value, _), (_, h) = jvp(lambda *xs: vg(*xs), primals, tangents)
    return value, (h[0] if single else h)


# ----- Jacobians ---------------------------------------------------------------------------------


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto"):
    """The Jacobian ``d out / d in``: for ``out`` of shape S and ``x`` of shape T, shape S + T.

    ``mode="rev"`` runs one backward sweep per output element (cheap for few outputs),
    ``mode="fwd"`` one forward-mode pass per input element (cheap for few inputs), and
    ``"auto"`` picks the mode with fewer passes. Outputs and inputs may be pytrees: the
    result has the output's structure, each leaf holding the input's structure (a tuple
    over ``argnums`` when it is a tuple), as ``jax.jacobian``.

    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> cr.jacobian(lambda x: A @ x)(np.zeros(2))       # the matrix of a linear map
    array([[1., 2.],
           [3., 4.],
           [5., 6.]])
    """
    if mode not in ("auto", "rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'auto', 'rev' or 'fwd', got {mode!r}")
    from chainrule.autodiff.jacobian import jacobian_call

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return jacobian_call(f, args, kwargs, argnums, mode)

    return wrapper


def hessian(f: Callable, argnums: int | Sequence[int] = 0):
    """The Hessian ``d² f / d in²`` (shape out + in + in): forward-over-reverse.

    ``jacobian(jacobian(f, mode="rev"), mode="fwd")``: each column is one Hessian-vector
    product. For a quadratic form ``f(x) = xᵀ A x`` it is ``A + Aᵀ``.

    >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> cr.hessian(lambda x: x @ (A @ x))(np.ones(2))
    array([[2., 2.],
           [2., 6.]])
    """
    return jacobian(jacobian(f, argnums, mode="rev"), argnums, mode="fwd")
