"""``cr.nn.init``: fill weights in place, with PyTorch's formulas.

For a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``. The ``gain`` of a non-linearity (:func:`calculate_gain`)
keeps the variance of activations roughly constant from layer to layer:

* Xavier/Glorot: ``std = gain * sqrt(2 / (fan_in + fan_out))``; uniform bound ``sqrt(3) std``.
* Kaiming/He: ``std = gain / sqrt(fan)`` with ``fan`` = fan_in (default) or fan_out.

Random numbers come from chainrule's global generator, so ``cr.manual_seed(s)`` makes
initialisation reproducible.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chainrule.numpy_api import random_generator
from chainrule.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "zeros_",
    "ones_",
    "constant_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def _generator() -> np.random.Generator:
    return random_generator()


def _array(t) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.data
    if isinstance(t, np.ndarray):
        return t
    raise TypeError(f"nn.init: expected a Tensor or an array, got {type(t).__name__}")


def _fill(t, values: np.ndarray):
    arr = _array(t)
    arr[...] = values
    if isinstance(t, Tensor):
        t.mark_modified("nn.init")
    return t


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + a^2)) for leaky_relu with slope a (default 0.01), 3/4 for selu."""
    linear = {
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    }
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _is_empty(tensor) -> bool:
    """A weight with no elements (``nn.Linear(0, 3)``) has no fan to scale by: as PyTorch,
    initialising it does nothing, with a warning."""
    if _array(tensor).size:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return True


def _calculate_fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 dimensions, got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b)."""
    arr = _array(tensor)
    return _fill(tensor, _generator().uniform(a, b, arr.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std^2)."""
    arr = _array(tensor)
    return _fill(tensor, _generator().normal(mean, std, arr.shape))


def constant_(tensor, val: float):
    """Fill with ``val``."""
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain: float = 1.0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    if _is_empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor).shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain: float = 1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _is_empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor).shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(shape, a, mode, nonlinearity) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
):
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan) (He et al., 2015).

    ``nn.Linear`` and ``nn.Conv2d`` use ``a = sqrt(5)``, which gives b = 1 / sqrt(fan_in).
    """
    if _is_empty(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(_array(tensor).shape, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if _is_empty(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(_array(tensor).shape, a, mode, nonlinearity))


def default_layer_init_(weight, bias, fan_in: int) -> None:
    """PyTorch's default for ``Linear`` and ``Conv2d``: the weight from
    ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias
    (if any) from the same range (0 when there are no inputs)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
