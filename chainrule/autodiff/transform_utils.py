"""The machinery under the transforms: arguments in, results out, and the two sweeps.

* inputs: the differentiated arguments flattened to leaves (numbers become float64 arrays,
  integers and booleans are refused), and their fresh copies for reverse mode;
* outputs: results as NumPy arrays for plain inputs, as Tensors for Tensor inputs (or while
  they still take part in an enclosing differentiation);
* reverse mode: :class:`_Reverse` runs the function on fresh leaves and does backward
  sweeps, recorded only when an enclosing transform needs them;
* forward mode: inputs seeded with tangents at a level, output tangents read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autodiff import backward as _backward
from chainrule.autodiff import forward as _forward
from chainrule.autodiff.graph import STATE, Node, enable_grad, tracing
from chainrule.autodiff.namespace import recorded
from chainrule.autodiff.pytree import TreeDef, tree_flatten, tree_paths, tree_unflatten
from chainrule.autodiff.tensor_core import Tensor, make

# ----- inputs ------------------------------------------------------------------------------------


def _where(who: str, argnum: int, path: str) -> str:
    return f"{who}: argument {argnum}{path}"


def _as_input(x, where):
    """A differentiable input leaf: a float Tensor or a float ndarray (numbers -> float64).

    ``where`` names the leaf in error messages; it may be a function computing the name
    (paths are only worked out when something is wrong).
    """
    if type(x) is Tensor and x.data.dtype.kind == "f":
        return x
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x
    if callable(where):
        where = where()
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
        for i in argnums:
            leaves, treedef = tree_flatten(args[i])
            self.defs.append(treedef)
            self.counts.append(len(leaves))
            for k, leaf in enumerate(leaves):
                self.leaves.append(_as_input(
                    leaf, lambda i=i, k=k, d=treedef: _where(who, i, tree_paths(d)[k])))
        self.any_tensor = any(isinstance(x, Tensor) for x in self.leaves)

    @property
    def labels(self) -> list[str]:
        """``"argument 0['w']"`` per leaf, for messages."""
        out = []
        for i, treedef in zip(self.argnums, self.defs):
            out.extend(f"argument {i}{path}" for path in tree_paths(treedef))
        return out

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
            return recorded().copy(x)
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
        with enable_grad(), tracing():
            self.result = f(*call_args, **kwargs)
        self.outside = True  # until scan() has looked at the outputs' graph
        self.outer_inputs_need_graph = connect and any(
            isinstance(x, Tensor) and x.requires_grad for x in self.inputs.leaves)

    def scan(self, outputs: list[Tensor]) -> None:
        """Note whether the graph of all ``outputs`` reaches beyond this call's leaves."""
        self.outside = _reaches_outside(outputs, self.leaves)

    def needs_graph(self, extra=()) -> bool:
        """Must the backward sweep be recorded, for an enclosing reverse differentiation?"""
        if not self.outer_recording:
            return False
        if self.outer_inputs_need_graph or self.outside:
            return True
        return any(isinstance(e, Tensor) and e.requires_grad for e in extra)

    def gradients(self, roots: list[Tensor], cotangents: list, create_graph: bool,
                  retain_graph: bool = True) -> list:
        """d<roots, cotangents>/d(leaves): one backward sweep; zeros for unused leaves."""
        live = [(r, c) for r, c in zip(roots, cotangents) if r.requires_grad]
        if not live:
            grads = [None] * len(self.leaves)
        elif not (create_graph or STATE.jvp_levels or self.outside):
            # Nothing but this call's own leaves can receive a gradient: the engine's lean
            # NumPy sweep accumulates into their .grad, which no one else can see.
            for leaf in self.leaves:
                leaf.grad = None
            _backward.run([r for r, _ in live], [c for _, c in live],
                          retain_graph=retain_graph)
            grads = []
            for leaf in self.leaves:
                grads.append(leaf.grad)
                leaf.grad = None
        else:
            grads = _backward.grad([r for r, _ in live], self.leaves, [c for _, c in live],
                                   retain_graph=retain_graph, create_graph=create_graph)
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
    if keep_graph or not isinstance(y, Tensor) or not (y.requires_grad or y._tangent):
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


def _as_cotangent(c, y: Tensor, where):
    """A (co)tangent leaf matched to ``y``: same shape, ``y``'s dtype; Tensors kept.

    ``where`` (a string, or a function giving one) names the leaf in error messages.
    """
    ydata = y.data
    if type(c) is np.ndarray and c.shape == ydata.shape:  # the common case, no questions
        return c if c.dtype == ydata.dtype else c.astype(ydata.dtype)
    if callable(where):
        where = where()
    if isinstance(c, Tensor):
        if c.shape != y.shape:
            raise ValueError(f"{where} has shape {c.shape} but must have shape {y.shape}")
        if c.data.dtype != y.data.dtype:
            c = recorded().astype(c, y.data.dtype)
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
    for k, (x, t) in enumerate(zip(args.leaves, t_leaves)):
        xt = x if isinstance(x, Tensor) else make(x)
        tt = _as_cotangent(t, xt, lambda k=k: f"{who}: the tangent of {args.labels[k]}")
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


def _scalar_gradient(who: str, rev: _Reverse, has_aux: bool):
    """The gradient of the scalar ``rev.result``: (output, aux, gradients, graph kept?)."""
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
    rev.scan([y])
    create = rev.needs_graph()
    grads = rev.gradients([y], [None], create, retain_graph=create)
    return y, aux, grads, create
