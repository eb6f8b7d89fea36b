"""Declaration helpers for the ``ops`` families: everything about a primitive, by keyword.

:func:`elementwise` declares a primitive from its partial derivatives, :func:`linear` one
linear in its argument from its transpose; both take the keywords of
:class:`~chainrule.autodiff.primitive.Primitive` (``numpy``, ``method``, ``expr``,
``domain``, ``ref``, ...).

:func:`unary` declares a function of one argument from its derivative alone: the VJP
``g · d`` and the JVP ``t · d`` come from :func:`elementwise`,
the displayed formula from ``sympy.diff`` of its SymPy form (unless a textbook formula is
given), and the NumPy name, Tensor method and expression-language entry from the
keywords. Adding a scalar function is one such declaration, e.g. ``log1p`` in
:mod:`chainrule.ops.elementwise`::

    log1p = unary(
        "log1p", np.log1p, derivative=lambda x, ans, xp: 1 / (1 + x),
        symbolic=lambda sp, x: sp.log(1 + x), expr="log1p", domain="x > -1",
        samples=positive, ref=lambda x: np.log(1 + x),
        doc="log(1 + x), accurate near 0.  d/dx = 1/(1+x).",
    )

after which ``cr.log1p``, ``t.log1p()``, ``np.log1p(t)``, ``log1p`` in ``cr.explain`` and
``chainrule diff`` work, its displayed formula is ``1/(x + 1)``, and the registry tests check
it (forward against ``ref``, rules against finite differences, SymPy against both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.notation import derived_formulas

# ----- the general helpers: from derivatives, from a transpose --------------------


def elementwise(
    name: str,
    forward: Callable,
    derivatives: Sequence[Callable],
    *,
    formulas: Sequence[str] | Callable[[], Sequence[str]],
    symbolic: Callable | None = None,
    samples: Callable | None = None,
    saves_args: bool = True,
    saves_ans: bool = True,
    reads: Sequence[Sequence[int]] | None = None,
    doc: str | None = None,
    **declaration,
) -> Primitive:
    """Declare an elementwise primitive from its partial derivatives alone.

    ``derivatives[i](*args, ans, xp)`` is ``d ans / d args[i]`` elementwise; then
    ``vjp_i = g * d_i`` and ``jvp = sum_i t_i * d_i`` for free (broadcast shapes are summed
    back by the engine). ``declaration``: the other keywords of :class:`Primitive`
    (``numpy``, ``method``, ``expr``, ``domain``, ``ref``).
    """
    derivatives = tuple(derivatives)
    if len(derivatives) == 1:
        (d0,) = derivatives

        def vjp(g, ans, args, needs, xp, params):
            return (g * d0(args[0], ans, xp),)

        def jvp(tangents, ans, args, xp, params):
            return tangents[0] * d0(args[0], ans, xp)

    elif len(derivatives) == 2:
        d0, d1 = derivatives

        def vjp(g, ans, args, needs, xp, params):
            x, y = args
            return (g * d0(x, y, ans, xp) if needs[0] else None,
                    g * d1(x, y, ans, xp) if needs[1] else None)

        def jvp(tangents, ans, args, xp, params):
            x, y = args
            tx, ty = tangents
            if ty is None:
                return tx * d0(x, y, ans, xp)
            if tx is None:
                return ty * d1(x, y, ans, xp)
            return tx * d0(x, y, ans, xp) + ty * d1(x, y, ans, xp)

    else:

        def vjp(g, ans, args, needs, xp, params):
            return [g * d(*args, ans, xp) if need else None for d, need in zip(derivatives, needs)]

        def jvp(tangents, ans, args, xp, params):
            out = None
            for d, t in zip(derivatives, tangents):
                if t is None:
                    continue
                term = t * d(*args, ans, xp)
                out = term if out is None else out + term
            return out

    prim = Primitive(name, forward, vjp, jvp, formulas=formulas, symbolic=symbolic,
                     samples=samples, saves_args=saves_args, saves_ans=saves_ans, reads=reads,
                     doc=doc, elementwise=True, **declaration)
    if len(derivatives) == 1:
        prim.derivative = derivatives[0]
    return prim


def linear(
    name: str,
    forward: Callable,
    transpose: Callable,
    *,
    formulas: Sequence[str],
    symbolic: Callable | None = None,
    samples: Callable | None = None,
    view: bool = False,
    doc: str | None = None,
    **declaration,
) -> Primitive:
    """Declare a primitive linear in its single argument.

    Its JVP is the primitive applied to the tangent; ``transpose(g, x, xp, **params)`` is
    the adjoint (the VJP), which may read the input's shape but not its values, so an
    in-place change of the input never invalidates it.
    """
    prim: Primitive

    def vjp(g, ans, args, needs, xp, params):
        return (transpose(g, args[0], xp, **params),)

    def jvp(tangents, ans, args, xp, params):
        return call(prim, xp, tangents[0], **params)

    prim = Primitive(name, forward, vjp, jvp, formulas=formulas, symbolic=symbolic,
                     samples=samples, saves_args=False, saves_ans=False, view=view, doc=doc,
                     **declaration)
    return prim


def unary(
    name: str,
    forward: Callable,
    *,
    derivative: Callable,
    symbolic: Callable,
    samples: Callable,
    ref: Callable,
    doc: str,
    uses: str = "x",
    formula: str | None = None,
    numpy: tuple[str, ...] | None = None,
    method: bool = True,
    expr: str | None = None,
    domain: str | None = None,
) -> Primitive:
    """A registered elementwise function of one argument.

    ``derivative(x, ans, xp)`` is ``d ans/dx``; ``uses`` says what it reads (``"x"`` or
    ``"ans"``), so that only an in-place change of *that* makes backward raise.
    ``samples(rng, *shape)`` draws arrays where the function is smooth. ``symbolic(sp, x)``
    is the SymPy form; ``formula`` the textbook local derivative, only where SymPy's
    derivative is not how a textbook writes it. ``numpy`` defaults to ``(name,)``.
    """
    if uses not in ("x", "ans"):
        raise ValueError(f"{name}: uses must be 'x' or 'ans', got {uses!r}")
    return elementwise(
        name, forward, (derivative,),
        formulas=derived_formulas(symbolic, 1, (formula,)), symbolic=symbolic,
        samples=lambda rng: [((samples(rng, 3, 4),), {}), ((samples(rng),), {})],
        saves_args=uses == "x", saves_ans=uses == "ans", doc=doc,
        numpy=(name,) if numpy is None else numpy, method=method, expr=expr, domain=domain,
        ref=ref,
    )
