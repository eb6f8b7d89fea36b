"""Declaration helpers for the ``ops`` families: everything about a primitive, by keyword.

:func:`elementwise` declares a primitive from its per-argument VJP rules (which are also
its JVP rules: its Jacobian is diagonal), :func:`linear` one linear in its argument from
its VJP (its JVP is the primitive applied to the tangent); both take the keywords of
:class:`~chainrule.autodiff.primitive.Primitive` (``numpy``, ``method``, ``expr``,
``domain``, ``ref``, ...). Rules have the signature users write for ``cr.defvjp``,
``vjp(g, ans, *args, **params)``.

:func:`unary` declares a function of one argument from its derivative alone: the VJP
``g · d`` and the JVP ``t · d`` come from :func:`elementwise`, the displayed formula
from ``sympy.diff`` of its SymPy form (unless a textbook formula is given), and the
NumPy name, Tensor method and expression-language entry from the
keywords. Adding a scalar function is one such declaration, e.g. ``log1p`` in
:mod:`chainrule.ops.elementwise`::

    log1p = unary(
        "log1p", forward=np.log1p, derivative=lambda x: 1 / (1 + x),
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

# ----- the general helpers: from per-argument rules, from a VJP --------------------------


def elementwise(
    name: str,
    *,
    forward: Callable,
    vjp: Sequence[Callable] | None = None,
    derivative: Callable | None = None,
    uses: str = "x",
    formulas: Sequence[str] | Callable[[], Sequence[str]],
    symbolic: Callable | None = None,
    samples: Callable | None = None,
    saves_args: bool = True,
    saves_ans: bool = True,
    reads: Sequence[Sequence[int]] | None = None,
    doc: str | None = None,
    **declaration,
) -> Primitive:
    """Declare an elementwise primitive from its per-argument VJP rules.

    ``vjp[i](g, ans, *args)`` is ``g · d_i``, with ``d_i = d ans / d args[i]`` elementwise
    (broadcast shapes are summed back by the engine). An elementwise Jacobian is diagonal,
    so the same rules applied to a tangent, ``t_i · d_i``, are the terms of the JVP.

    A function of one argument may give its ``derivative(v)`` instead, ``v`` the argument
    or the output as ``uses`` says (``"x"`` or ``"ans"``): its rule is ``g · d(v)``, and
    the backward sweep multiplies by ``d(v)`` itself (one call less per node).
    ``declaration``: the other keywords of :class:`Primitive` (``numpy``, ``method``,
    ``expr``, ``domain``, ``ref``).
    """
    if (vjp is None) == (derivative is None):
        raise TypeError(f"{name}: give either vjp= (one rule per argument) or derivative=")
    if derivative is not None:
        vjp = (_rule_from(name, derivative, uses),)
    rules = tuple(vjp)
    prim = Primitive(name, forward, vjp=rules, jvp=rules, formulas=formulas,
                     symbolic=symbolic, samples=samples, saves_args=saves_args,
                     saves_ans=saves_ans, reads=reads, doc=doc, elementwise=True,
                     **declaration)
    if derivative is not None:
        prim.derivative = derivative
        prim.derivative_of_ans = uses == "ans"
    return prim


def _rule_from(name: str, derivative: Callable, uses: str) -> Callable:
    """The VJP (and JVP) rule ``g · d(v)`` of a one-argument elementwise function."""
    if uses == "x":
        def rule(g, ans, x):
            return g * derivative(x)
    elif uses == "ans":
        def rule(g, ans, x):
            return g * derivative(ans)
    else:
        raise ValueError(f"{name}: uses must be 'x' or 'ans', got {uses!r}")
    return rule


def linear(
    name: str,
    *,
    forward: Callable,
    vjp: Callable,
    formulas: Sequence[str],
    symbolic: Callable | None = None,
    samples: Callable | None = None,
    view: bool = False,
    doc: str | None = None,
    **declaration,
) -> Primitive:
    """Declare a primitive linear in its single argument.

    Its JVP is the primitive applied to the tangent; ``vjp(g, ans, x, **params)`` is the
    adjoint, which may read the input's shape but not its values (nor ``ans``), so an
    in-place change of the input never invalidates it.
    """
    prim: Primitive

    def jvp(t, ans, x, **params):
        return call(prim, t, **params)

    prim = Primitive(name, forward, vjp=vjp, jvp=jvp, formulas=formulas, symbolic=symbolic,
                     samples=samples, saves_args=False, saves_ans=False, view=view, doc=doc,
                     **declaration)
    return prim


def unary(
    name: str,
    *,
    forward: Callable,
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

    ``derivative(v)`` is ``d ans/dx`` as a function of the one value it reads, ``v`` the
    argument ``x`` or the output ``ans`` as ``uses`` says (``"x"`` or ``"ans"``), so that
    only an in-place change of *that* makes backward raise. It computes with
    ``namespace(v)`` where it needs a function (``lambda x: namespace(x).cos(x)``).
    ``samples(rng, *shape)`` draws arrays where the function is smooth. ``symbolic(sp, x)``
    is the SymPy form; ``formula`` the textbook local derivative, only where SymPy's
    derivative is not how a textbook writes it. ``numpy`` defaults to ``(name,)``.
    """
    return elementwise(
        name, forward=forward, derivative=derivative, uses=uses,
        formulas=derived_formulas(symbolic, 1, (formula,)), symbolic=symbolic,
        samples=lambda rng: [((samples(rng, 3, 4),), {}), ((samples(rng),), {})],
        saves_args=uses == "x", saves_ans=uses == "ans", doc=doc,
        numpy=(name,) if numpy is None else numpy, method=method, expr=expr, domain=domain,
        ref=ref,
    )
