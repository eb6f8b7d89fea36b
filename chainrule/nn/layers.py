"""Layers: ``Linear``, containers, activations, ``Dropout``, ``Flatten``, ``Embedding``.

Constructor arguments, parameter shapes and default initialisation are PyTorch's, so the
same weights give the same numbers (``axis=`` replaces ``dim=``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

import numpy as np

from chainrule import numpy_api as api
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.dtype_policy import check_input_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor, get_default_dtype

__all__ = [
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
]


def _empty(*shape: int, dtype=None) -> np.ndarray:
    return np.zeros(shape, dtype=np.dtype(dtype or get_default_dtype()))


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x):
        """Return ``x`` unchanged (the same object); the derivative is the identity."""
        return x


class Linear(Module):
    r"""y = x W^T + b, with ``weight`` W of shape (out_features, in_features), ``bias`` b of
    shape (out_features,).

    Initialisation (PyTorch's): W ~ U(-k, k) and b ~ U(-k, k) with k = 1 / sqrt(in_features)
    (that is ``kaiming_uniform_(W, a=sqrt(5))``). The input may have any number of leading
    (batch) dimensions: (..., in_features) -> (..., out_features).  The input must have the
    weight's dtype (``TypeError`` otherwise, as PyTorch; a Python list takes it).

    Example::

        >>> import chainrule as cr
        >>> layer = cr.nn.Linear(3, 2)
        >>> tuple(layer(cr.ones(5, 3)).shape)
        (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {v!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(_empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(_empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with the default initialisation."""
        init.default_layer_init_(self.weight, self.bias, self.in_features)

    def forward(self, x):
        """y = x Wᵀ + b over the last dimension of ``x`` (shape (..., in_features) to
        (..., out_features)).

        Derivatives: ∂L/∂x = ∂L/∂y · W, ∂L/∂W = (∂L/∂y)ᵀ x and ∂L/∂b = ∂L/∂y summed over the
        batch dimensions. A last dimension other than ``in_features`` raises ``ValueError``.
        """
        weight, bias = self.weight, self.bias  # (each a Module.__getattr__ call: read once)
        if not hasattr(x, "shape"):
            x = np.asarray(x, dtype=weight.dtype)
        if len(x.shape) == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features} -> {self.out_features}) got input of shape "
                f"{tuple(x.shape)}: the last dimension must be {self.in_features}"
            )
        check_input_dtype("Linear", x, weight, bias)
        return F._linear(x, weight, bias)  # F.linear's checks were just made

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``in_features=..., out_features=...,
        bias=...``.
        """
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Sequential(Module):
    """Apply modules one after the other: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    Modules are named ``"0"``, ``"1"``, ... (or by the keys of an ``OrderedDict``), which is
    how their parameters appear in the state dict (``"0.weight"``).
    """

    def __init__(self, *modules: Module | OrderedDict) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(
                        f"Sequential: argument {i} is a {type(m).__name__}, not a Module"
                    )
                self.add_module(str(i), m)

    def forward(self, x):
        """Apply each module in order to the previous one's output: m_k(…m_1(m_0(x)))."""
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[idx][1]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position, ``"3"``); returns self."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (``"0.weight"``, ``"1.weight"``)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end (named by its position) so its parameters are registered;
        returns self.
        """
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int):
        return list(self._modules.values())[idx]


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x):
        """max(x, 0) elementwise; derivative 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        """x where x > 0, else ``negative_slope`` · x; derivative 1 or ``negative_slope``."""
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``negative_slope=...``."""
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        """tanh(x) elementwise; derivative 1 − tanh²(x), at most 1 (at x = 0)."""
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        """σ(x) = 1 / (1 + e⁻ˣ) elementwise; derivative σ(x)(1 − σ(x)) ≤ 1/4."""
        return F.sigmoid(x)


class GELU(Module):
    """x Phi(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        """x Φ(x) elementwise, Φ the standard normal CDF (``approximate="tanh"``:
        0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))); derivative Φ(x) + x φ(x) for the exact form.
        """
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``approximate=...``."""
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        """log(1 + exp(β x)) / β elementwise, x itself where β x > ``threshold``;
        derivative σ(β x) (1 above the threshold).
        """
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``beta=..., threshold=...``."""
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``axis`` (default the last; ``dim`` is PyTorch's name for it)."""

    def __init__(self, axis: int | None = None, dim: int | None = None) -> None:
        from chainrule.habits import axis_alias

        super().__init__()
        self.axis = axis_alias(axis, dim, type(self).__name__)

    def forward(self, x):
        """softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along ``axis`` (computed with the maximum
        subtracted, so large inputs do not overflow); ∂s_i/∂x_j = s_i (δ_ij − s_j).
        """
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``axis=...``."""
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """Log-softmax along ``axis`` (default the last)."""

    def forward(self, x):
        """log softmax(x)_i = x_i − log Σ_j exp(x_j) along ``axis`` (stable, by log-sum-exp);
        ∂/∂x_j = δ_ij − softmax(x)_j.
        """
        return F.log_softmax(x, self.axis)


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the others by
    1 / (1 - p); in evaluation (``model.eval()``), the identity."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x):
        """In training, each element zeroed with probability ``p``, the others multiplied by
        1 / (1 − p) (the expectation is unchanged); in evaluation, ``x`` unchanged. The gradient
        goes through the same mask and scale.
        """
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``p=...``."""
        return f"p={self.p}"


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        """Reshape ``x`` so dimensions ``start_dim`` to ``end_dim`` become one: (N, C, H, W) ->
        (N, C·H·W).
        """
        shape = tuple(x.shape)
        nd = len(shape)
        if nd == 0:
            return api.reshape(x, (1,))
        s = self.start_dim % nd
        e = self.end_dim % nd
        if s > e:
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim "
                f"{self.end_dim} for shape {shape}"
            )
        new = shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :]
        return api.reshape(x, new)

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``start_dim=..., end_dim=...``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` (num_embeddings, embedding_dim) for index ``i``.

    ``weight ~ N(0, 1)``, as PyTorch; the row ``padding_idx`` (if given) starts at zero and
    receives no gradient.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} out of range")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(_empty(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw ``weight`` from N(0, 1) (PyTorch's default); the ``padding_idx`` row back to
        zero.
        """
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, idx):
        """Row ``idx`` of ``weight`` for each integer in ``idx``: output shape ``idx.shape +
        (embedding_dim,)``.

        The gradient adds ∂L/∂out into the rows looked up (a row used twice gets both); the
        ``padding_idx`` row gets none. Non-integer indices raise ``TypeError``; an index outside
        ``[0, num_embeddings)`` raises ``ValueError``.
        """
        raw = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
        if raw.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {raw.dtype}")
        if raw.size and (raw.min() < 0 or raw.max() >= self.num_embeddings):
            bad = raw[(raw < 0) | (raw >= self.num_embeddings)].flat[0]
            raise ValueError(
                f"Embedding: index {bad} is out of range for {self.num_embeddings} embeddings"
            )
        out = self.weight[raw]
        if self.padding_idx is not None:
            # Same values, but the padding row's lookups are cut from the graph: that row
            # receives no gradient (PyTorch's semantics).
            keep = (raw != self.padding_idx)[..., None]
            out = api.where(keep, out, out.detach())
        return out

    def extra_repr(self) -> str:
        """The arguments shown inside ``repr(layer)``: ``num_embeddings, embedding_dim[,
        padding_idx=...]``.
        """
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
