"""Declaration helpers for the ``ops`` families: everything about a primitive, by keyword.

:func:`unary` declares a function of one argument from its derivative alone: the VJP
``g · d`` and the JVP ``t · d`` come from :func:`chainrule.autodiff.primitive.elementwise`,
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

from collections.abc import Callable

from chainrule.autodiff.primitive import Primitive, elementwise
from chainrule.ops.notation import derived_formulas


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
