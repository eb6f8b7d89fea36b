"""Normalisation layers: ``BatchNorm1d`` and ``LayerNorm``, with PyTorch's numerics."""

from __future__ import annotations

import numpy as np

from chainrule import numpy_api as api
from chainrule.compile.effects import effect
from chainrule.nn.dtype_policy import check_input_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor, get_default_dtype

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(Module):
    r"""Batch normalisation (Ioffe & Szegedy, 2015) over (N, C) or (N, C, L) inputs.

    In training: ``y = (x - mean_B) / sqrt(var_B + eps) * weight + bias``, with the mean and
    the biased variance of the batch (over N, and L) per channel, and the running estimates
    updated as ``r <- (1 - momentum) r + momentum * stat`` -- with the *unbiased* batch
    variance for ``running_var``, as PyTorch. (``momentum=None``: a cumulative average.)
    In evaluation (or with ``track_running_stats=False`` never), the running estimates
    replace the batch statistics.

    ``weight`` starts at 1 and ``bias`` at 0 (``bias=False``: no bias, as PyTorch's keyword);
    ``running_mean`` at 0, ``running_var`` at 1.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dtype = np.dtype(dtype or get_default_dtype())
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        """Normalise ``x`` (N, C) or (N, C, L) per channel: (x − mean) / √(var + eps) · weight +
        bias.

        In training, the batch's mean and biased variance (over N, and L), and the running
        estimates are updated; in evaluation, the running estimates. An input whose channel
        dimension is not ``num_features`` raises ``ValueError``.
        """
        shape = tuple(x.shape)
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}) or (N, {self.num_features}, L), got {shape}"
            )
        check_input_dtype(type(self).__name__, x, self.weight, self.bias)
        check_input_dtype(type(self).__name__, x, self.running_mean)
        axes = (0,) if len(shape) == 2 else (0, 2)
        bshape = (1, shape[1]) if len(shape) == 2 else (1, shape[1], 1)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = shape[0] * (shape[2] if len(shape) == 3 else 1)
            if count == 0:
                # An empty batch, as PyTorch: an empty output, the running statistics
                # unchanged but the batch counted (num_batches_tracked, momentum=None).
                if self.training and self.track_running_stats:
                    self._count_empty_batch()
                return self._affine(x, bshape)
            if count == 1:
                raise ValueError(
                    f"BatchNorm1d: expected more than 1 value per channel when training, got "
                    f"input of shape {shape}"
                )
            mean = api.mean(x, axis=axes, keepdims=True)
            centered = x - mean
            var = api.mean(centered * centered, axis=axes, keepdims=True)
            if self.training and self.track_running_stats:
                self._update_running(mean, var, count)
            xhat = centered / api.sqrt(var + self.eps)
        else:
            # Through Tensor functions (no graph: buffers do not require grad), so that
            # compiled code reads the running statistics on every call.
            mean = api.reshape(self.running_mean, bshape)
            std = api.sqrt(api.reshape(self.running_var, bshape) + self.eps)
            xhat = (x - mean) / std
        return self._affine(xhat, bshape)

    def _affine(self, xhat, bshape):
        if self.weight is not None:
            xhat = xhat * api.reshape(self.weight, bshape)
        if self.bias is not None:
            xhat = xhat + api.reshape(self.bias, bshape)
        return xhat

    @effect("BatchNorm batch count, updated in place")
    def _count_empty_batch(self) -> None:
        self.num_batches_tracked.data[...] += 1
        self.num_batches_tracked.mark_modified("BatchNorm1d running statistics")

    @effect("BatchNorm running statistics, updated in place")
    def _update_running(self, mean, var, count: int) -> None:
        self.num_batches_tracked.data[...] += 1
        m = self.momentum
        if m is None:
            m = 1.0 / float(self.num_batches_tracked.data)
        bm = np.asarray(mean.data if isinstance(mean, Tensor) else mean).reshape(-1)
        bv = np.asarray(var.data if isinstance(var, Tensor) else var).reshape(-1)
        unbiased = bv * (count / (count - 1))
        rm, rv = self.running_mean.data, self.running_var.data
        rm *= 1 - m
        rm += m * bm
        rv *= 1 - m
        rv += m * unbiased
        for b in (self.running_mean, self.running_var, self.num_batches_tracked):
            b.mark_modified("BatchNorm1d running statistics")

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``num_features, eps=..., momentum=...,
        affine=..., track_running_stats=...``.
        """
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, "
            + ("" if self.bias is not None or not self.affine else "bias=False, ")
            + f"track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    r"""Layer normalisation (Ba et al., 2016) over the last dimensions ``normalized_shape``:

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased variance over those
    dimensions, for each sample. ``weight`` starts at 1, ``bias`` at 0.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int | np.integer):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = np.dtype(dtype or get_default_dtype())
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        """Normalise each sample over its last dimensions ``normalized_shape``:
        (x − mean) / √(var + eps) · weight + bias, with the mean and biased variance of those
        dimensions. An input not ending in ``normalized_shape`` raises ``ValueError``.
        """
        k = len(self.normalized_shape)
        if tuple(x.shape[-k:]) != self.normalized_shape or len(x.shape) < k:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}) expects input ending in "
                f"{self.normalized_shape}, got shape {tuple(x.shape)}"
            )
        check_input_dtype("LayerNorm", x, self.weight, self.bias)
        axes = tuple(range(-k, 0))
        mean = api.mean(x, axis=axes, keepdims=True)
        centered = x - mean
        var = api.mean(centered * centered, axis=axes, keepdims=True)
        y = centered / api.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``normalized_shape, eps=...,
        elementwise_affine=...``.
        """
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
