"""The namespace rules compute with when their work must itself be recorded.

A rule receives ``xp``: NumPy on raw arrays in a plain backward pass, and chainrule's own
NumPy-named functions on Tensors when the backward pass is recorded (``create_graph``),
when forward-mode tangents are pushed, or when the engine assembles a result that must
stay differentiable (DESIGN.md, idea 2). Those functions live above the engine (the NumPy
surface, generated from the registry), so the engine reaches them here, at run time,
and nowhere else.
"""


def recorded():
    """``chainrule.numpy_api``: the differentiable namespace (``xp`` for Tensors)."""
    from chainrule import numpy_api

    return numpy_api
