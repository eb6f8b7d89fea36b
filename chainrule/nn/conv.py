"""Convolution and pooling layers: ``Conv2d`` and ``MaxPool2d`` (im2col under the hood)."""

from __future__ import annotations

import numpy as np

from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import get_default_dtype

__all__ = ["Conv2d", "MaxPool2d"]


class Conv2d(Module):
    r"""2-D convolution (cross-correlation, as every deep-learning library computes it).

    ``out[n, o] = bias[o] + sum_c weight[o, c] (star) x[n, c]`` over windows of
    ``kernel_size``, with ``stride``, zero ``padding`` (int, pair, ``"same"`` or ``"valid"``),
    ``dilation`` and ``groups``. ``weight``: (out_channels, in_channels / groups, kh, kw).

    Initialisation (PyTorch's): weight and bias ~ U(-k, k), k = 1 / sqrt(fan_in),
    fan_in = in_channels / groups * kh * kw.

    Example::

        >>> import chainrule as cr
        >>> conv = cr.nn.Conv2d(1, 4, 3, padding=1)
        >>> tuple(conv(cr.zeros(2, 1, 8, 8)).shape)
        (2, 4, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels {in_channels} and out_channels {out_channels} must be "
                f"divisible by groups={groups}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = F._pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else F._pair(padding, "padding")
        self.dilation = F._pair(dilation, "dilation")
        self.groups = groups
        dt = np.dtype(dtype or get_default_dtype())
        kh, kw = self.kernel_size
        self.weight = Parameter(np.zeros((out_channels, in_channels // groups, kh, kw), dt))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw weight and bias from U(−k, k), k = 1/√fan_in, fan_in = in_channels / groups ·
        kh · kw (PyTorch's default).
        """
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        init.default_layer_init_(self.weight, self.bias, fan_in)

    def forward(self, x):
        """Cross-correlate ``x`` of shape (N, C_in, H, W) (or (C_in, H, W)) with the kernels:
        out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ x[n, c]; output (N, C_out, H_out, W_out) with
        H_out = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1 (W alike).

        The gradient with respect to ``x`` is the transposed convolution of ∂L/∂out with the same
        kernels; with respect to the weight, the correlation of ``x`` with ∂L/∂out. An input
        whose channel dimension is not ``in_channels`` raises ``ValueError``.
        """
        shape = tuple(x.shape)
        if len(shape) not in (3, 4) or shape[-3] != self.in_channels:
            raise ValueError(
                f"Conv2d({self.in_channels} -> {self.out_channels}) expects input of shape "
                f"(N, {self.in_channels}, H, W) or unbatched ({self.in_channels}, H, W), "
                f"got {shape}"
            )
        return F._conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            type(self).__name__,
        )

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``in_channels, out_channels,
        kernel_size=..., stride=...`` and the non-default rest.
        """
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """Maximum over ``kernel_size`` windows (``stride`` defaults to the kernel size).

    ``ceil_mode=True`` rounds the output size up, as PyTorch (see ``F.max_pool2d``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.ceil_mode = ceil_mode

    def forward(self, x):
        """The maximum of each ``kernel_size`` window of ``x`` (N, C, H, W); the gradient goes
        to the position of each window's maximum only (see ``F.max_pool2d``).
        """
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``kernel_size=..., stride=...,
        padding=..., dilation=..., ceil_mode=...``.
        """
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )
