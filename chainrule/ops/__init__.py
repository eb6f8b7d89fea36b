"""The primitives, one file per family, each with its forward and rules side by side.

Names inside rules are short and always mean the same thing:

* ``x, y, a, b`` — the primitive's arguments (arrays, or Tensors in a recorded backward);
* ``ans`` — the primitive's output;
* ``g`` — the cotangent of the output, ``dL/d(ans)``;
* ``t`` — a tangent of an argument (forward mode);
* ``xp`` — the namespace to compute with: ``numpy``, or ``chainrule.numpy_api``.

Importing this package registers every primitive in ``chainrule.autodiff.primitive.REGISTRY``.
"""

from chainrule.autodiff.primitive import REGISTRY as _REGISTRY
from chainrule.ops import (  # noqa: F401
    arithmetic,
    cumulative,
    decompositions,
    elementwise,
    index,
    linalg,
    nn,  # noqa: F401
    reduce,
    shape,
    ufuncs,
)


def expression_functions() -> dict:
    """The functions of the expression language (``cr.explain("exp(-t)")``), from the
    registry: ``{expression-language name: primitive}``, in the order they are declared.
    A primitive joins the language by declaring ``expr=`` (and ``domain=``)."""
    return {p.expr: p for p in _REGISTRY.values() if p.expr is not None}


def numpy_functions() -> dict:
    """``{name: function}`` for every primitive that is itself a function of chainrule's
    NumPy surface (``cr.exp``, ``cr.absolute``), from the declarations' ``numpy=``."""
    return {n: p.function for p in _REGISTRY.values() for n in p.numpy}


def method_names() -> list:
    """The primitives that Tensors have as methods (``t.exp()``), from ``method=True``."""
    return [p.numpy[0] if p.numpy else p.name for p in _REGISTRY.values() if p.method]
