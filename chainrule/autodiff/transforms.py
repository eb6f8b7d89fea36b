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
so they can be differentiated again. (A result that depends, through a closure, on a
variable of an enclosing differentiation stays a Tensor too, for the same reason.)
The machinery lives in :mod:`chainrule.autodiff.transform_utils`; full Jacobians in
:mod:`chainrule.autodiff.jacobian`.

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

from chainrule.autodiff import forward as _forward
from chainrule.autodiff.graph import tracing
from chainrule.autodiff.jacobian import jacobian_call
from chainrule.autodiff.pytree import tree_flatten, tree_paths, tree_unflatten
from chainrule.autodiff.tensor_core import make
from chainrule.autodiff.transform_utils import (
    _any_tensor,
    _as_cotangent,
    _check_output,
    _drop_level,
    _finish,
    _normalize_argnums,
    _Reverse,
    _scalar_gradient,
    _seeded_inputs,
    _split_aux,
    _split_primals,
    _tangents_out,
    _value,
    _values,
    _zeros_like,
)

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp"]


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """``f`` and its gradient together: ``value_and_grad(f)(x) -> (f(x), df/dx)``.

    ``f`` must return a scalar (a one-element float result). ``argnums`` picks the
    positional argument(s) to differentiate (an int: the gradient has that argument's
    structure; a tuple: a tuple of gradients). With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the result is ``((value, aux), grad)``.

    >>> cr.value_and_grad(lambda x: cr.sum(x ** 2))(np.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def _value_and_grad(f: Callable, argnums, has_aux: bool, who: str):
    """:func:`value_and_grad`, its errors prefixed by ``who``: the name of the transform
    the user called (``grad:`` for ``cr.grad``)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single = _normalize_argnums(who, argnums, len(args))
        rev = _Reverse(who, f, args, kwargs, nums)
        y, aux, grads, create = _scalar_gradient(who, rev, has_aux)
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
    An input Tensor that requires grad gets a gradient that is itself differentiable with
    respect to it (the sweep is recorded, which costs more): pass arrays, or
    ``t.detach()``, when only the numbers are wanted.

    >>> dsin = cr.grad(cr.sin)
    >>> dsin(0.0), cr.grad(dsin)(0.0)      # cos(0), -sin(0)
    (array(1.), array(-0.))
    """
    vg = _value_and_grad(f, argnums, has_aux, "grad")

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
        create = rev.needs_graph(cts)
        grads = rev.gradients(ys, cts, create)
        per_arg = rev.inputs.rebuild(grads)
        return tuple(_finish(tuple(per_arg), rev.tensors or _any_tensor(cotangent)))

    rev.scan(ys)
    keep = rev.needs_graph()
    out = _finish(tree_unflatten(out_def, [_value(y, keep) for y in ys]), rev.tensors)
    if has_aux:
        return out, vjp_fn, _finish(_values(aux, keep), rev.tensors)
    return out, vjp_fn


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
        with tracing():
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
    # jvp(grad(f)) written out: one level, one reverse sweep on Tensors carrying tangents.
    with _forward.jvp_level() as level:
        args, seeded, tensors = _seeded_inputs(who, primals, tangents, level)
        rev = _Reverse(who, f, tuple(args.rebuild(seeded)), {}, tuple(range(len(primals))))
        y, _, grads, create = _scalar_gradient(who, rev, False)
        hv = []
        for g in grads:
            t = _forward.tangent_of(g, level)
            hv.append(make(_zeros_like(g)) if t is None else t)
    value = _drop_level(_value(y, create), level)
    value, h = _finish((value, tuple(args.rebuild(hv))), tensors)
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
