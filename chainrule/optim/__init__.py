"""Optimizers that move parameters against their gradients, and learning-rate schedules.

``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` and ``Adagrad`` follow PyTorch's update formulas,
defaults and ``state_dict`` layout; ``lr_scheduler`` holds ``StepLR``, ``ExponentialLR`` and
``CosineAnnealingLR``.
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adaptive import Adagrad, RMSprop
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
