"""The namespace rules compute with when their work must itself be recorded.

A rule computes with the namespace of the values it is given (the array API standard's
``array_namespace``): NumPy on raw arrays in a plain backward pass, and chainrule's own
NumPy-named functions on Tensors when the backward pass is recorded (``create_graph``),
when forward-mode tangents are pushed, or when the engine assembles a result that must
stay differentiable (DESIGN.md, idea 2). Those functions live above the engine (the NumPy
surface, generated from the registry), so the engine reaches them here, at run time,
and nowhere else.
"""

import numpy as np

from chainrule.tensor import Tensor


def recorded():
    """``chainrule.numpy_api``: the differentiable namespace (``xp`` for Tensors)."""
    from chainrule import numpy_api

    return numpy_api


def namespace(value):
    """The namespace to compute with on ``value``: ``chainrule.numpy_api`` for a Tensor (the
    work is recorded, so it can be differentiated again), NumPy otherwise.

    A rule asks it of the value the engine gives it (``xp = namespace(g)`` in a VJP rule,
    ``namespace(t)`` in a JVP rule), so rules keep the signature users write,
    ``vjp(g, ans, *args, **params)``, and one rule serves both kinds of sweep.
    """
    if isinstance(value, Tensor):
        return recorded()
    return np
