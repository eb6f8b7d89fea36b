"""chainrule: derivatives of composite functions by the chain rule, shown.

Reverse mode (backpropagation), forward mode, any order, on NumPy arrays; neural networks
trained by gradient descent; and explanations that show every link of the chain.
"""

# --- core: tensors, differentiable functions ---
from chainrule.autodiff.graph import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.autodiff.primitive import REGISTRY as primitives
from chainrule.numpy_api import *  # noqa: F403  (the NumPy-named functions)
from chainrule.numpy_api import __all__ as _api_names
from chainrule.tensor import Tensor

# --- transforms ---
from chainrule.autodiff.custom import MissingRuleError, defjvp, defvjp, primitive
from chainrule.autodiff.transforms import (
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    value_and_grad,
    vjp,
)
from chainrule.testing.gradcheck import check_grads

# --- compile ---
from chainrule.compile import compile

# --- explain ---
from chainrule.explain import Explanation, ExprError, explain

# --- neural networks, optimizers, data, io ---
from chainrule import data, datasets, nn, optim, train
from chainrule import distributed
from chainrule.io import load, save

# --- pictures ---
from chainrule import viz


def _answer_dim() -> None:
    """Every NumPy-named function that takes ``axis=`` answers PyTorch's ``dim=`` with it
    (primitives answer in the engine's argument check, ``autodiff.primitive``)."""
    import inspect

    from chainrule.habits import refuse_dim

    # A primitive's own function stays itself (cr.add is the primitive's function); it
    # answers dim= in the engine's argument check.
    own = {id(p.function) for p in primitives.values()}
    for name in _api_names:
        fn = globals().get(name)
        if (
            inspect.isfunction(fn)
            and id(fn) not in own
            and "axis" in inspect.signature(fn).parameters
            and "dim" not in inspect.signature(fn).parameters
        ):
            globals()[name] = refuse_dim(name, fn)


_answer_dim()


def __getattr__(name: str):
    # Only names not found: a PyTorch function without a twin gets chainrule's way.
    from chainrule.habits import MODULE_HINTS, hint_error

    if name in MODULE_HINTS:
        raise hint_error("module 'chainrule'", name, MODULE_HINTS)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
