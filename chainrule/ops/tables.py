"""Views of the registry that the generated surfaces read (the expression language, the
NumPy names, Tensor methods). Apart from the families, so that a family's declaration
helpers can read them without importing every family (chainrule.ops does)."""

from chainrule.autodiff.primitive import REGISTRY as _REGISTRY


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
