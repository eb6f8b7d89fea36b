"""``cr.nn``: modules, layers, losses, initialisation -- PyTorch's ``torch.nn``, on chainrule.

Build a model from layers, call it on a batch, compute a loss, call ``backward()``, and an
optimizer from ``cr.optim`` moves the weights::

    model = cr.nn.Sequential(cr.nn.Linear(64, 64), cr.nn.ReLU(), cr.nn.Linear(64, 10))
    loss = cr.nn.CrossEntropyLoss()(model(x), y)
    loss.backward()

Dtypes are never promoted silently: a layer with parameters refuses an input of another
dtype (a float64 NumPy array into a float32 model) with a ``TypeError`` naming the fix
(``x.astype(cr.float32)`` or ``model.to(cr.float64)``), as PyTorch; a loss casts its
targets to its input's dtype (integer labels for ``BCELoss``). See
``chainrule.nn.dtype_policy``.
"""

from chainrule.nn import functional, init, parallel, utils
from chainrule.nn.conv import Conv2d, MaxPool2d
from chainrule.nn.layers import (
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from chainrule.nn.module import Module, Parameter
from chainrule.nn.normalization import BatchNorm1d, LayerNorm

__all__ = [
    "Module",
    "Parameter",
    "functional",
    "init",
    "parallel",
    "utils",
    "Identity",
    "Linear",
    "Sequential",
    "ModuleList",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Flatten",
    "Embedding",
    "BatchNorm1d",
    "LayerNorm",
    "Conv2d",
    "MaxPool2d",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]
