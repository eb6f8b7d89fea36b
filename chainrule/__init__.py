"""chainrule: derivatives of composite functions by the chain rule, shown.

Reverse mode (backpropagation), forward mode, any order, on NumPy arrays; neural networks
trained by gradient descent; and explanations that show every link of the chain.
"""

# --- core: tensors, differentiable functions ---
from chainrule.autodiff.graph import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.autodiff.primitive import REGISTRY as primitives
from chainrule.numpy_api import *  # noqa: F403  (the NumPy-named functions)
from chainrule.numpy_api import __all__ as _api_names
from chainrule.numpy_more import *  # noqa: F403  (more of NumPy, built from the above)
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
