"""chainrule's random generator: one NumPy ``Generator`` behind ``randn``, ``rand``, layer
initialisation and dropout, seeded by ``manual_seed`` and saved/restored with
``get_rng_state``/``set_rng_state`` (checkpoints)."""

from __future__ import annotations

import numpy as np

from chainrule.numpy_api.creation import _finish, _float_dtype, _shape_arg
from chainrule.tensor import Tensor

_rng = [np.random.default_rng(0)]


def manual_seed(seed: int) -> None:
    """Seed chainrule's random generator (randn, rand, layer initialisation, dropout)."""
    _rng[0] = np.random.default_rng(seed)


def get_rng_state() -> dict:
    """The state of chainrule's generator (dropout masks, ``randn``, initialisation), as a
    plain dict that ``cr.save`` can store; restore it with :func:`set_rng_state`."""
    return _rng[0].bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state` (e.g. when resuming from a checkpoint)."""
    generator = np.random.default_rng()
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"set_rng_state: not a state from cr.get_rng_state(): {exc}") from None
    _rng[0] = generator


def random_generator() -> np.random.Generator:
    """The generator behind ``randn``/``rand`` (seeded by ``manual_seed``)."""
    return _rng[0]


def _random_dtype(dtype, who: str) -> np.dtype:
    dt = _float_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{who}: random samples are floating point; got dtype={dt}")
    return dt


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt = _random_dtype(dtype, "randn")
    return _finish(_rng[0].standard_normal(_shape_arg(shape, "randn")).astype(dt),
                   requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _random_dtype(dtype, "rand")
    return _finish(_rng[0].random(_shape_arg(shape, "rand")).astype(dt), requires_grad)
