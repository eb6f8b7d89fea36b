"""The namespace rules compute with when their work must itself be recorded.

A rule computes with the namespace of the values it is given (the array API standard's
``array_namespace``): NumPy on raw arrays in a plain backward pass, and chainrule's own
NumPy-named functions on Tensors when the backward pass is recorded (``create_graph``),
when forward-mode tangents are pushed, or when the engine assembles a result that must
stay differentiable (DESIGN.md, idea 2).

Those functions live above the engine: the NumPy surface (:mod:`chainrule.numpy_api`) is
generated from the registry of primitives, which are built on the engine. So the engine
does not import it; it names here what it needs, *a namespace with NumPy's names whose
functions record their work on Tensors*, and the NumPy surface, once built, hands itself
over by calling :func:`use_recorded` (at the end of ``chainrule/numpy_api/__init__.py``,
the one place it happens). Until then only the plain sweeps (NumPy on arrays) can run.
"""

import numpy as np

from chainrule.autodiff.tensor_core import Tensor

# The differentiable namespace, handed over by the NumPy surface (see use_recorded).
_recorded = None


def use_recorded(api) -> None:
    """Make ``api`` the namespace rules compute with on Tensors (``xp`` for Tensors).

    Called once, by :mod:`chainrule.numpy_api` when it has been built, with itself."""
    global _recorded
    _recorded = api


def recorded():
    """``chainrule.numpy_api``: the differentiable namespace (``xp`` for Tensors)."""
    if _recorded is None:
        raise RuntimeError(
            "a recorded computation needs chainrule's NumPy surface, which is not loaded "
            "yet: import chainrule first"
        )
    return _recorded


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
