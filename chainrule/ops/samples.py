"""Sample inputs for the registry-driven tests: every primitive says where it is smooth.

Each helper takes a NumPy random generator and returns float64 arrays; shapes that
broadcast against each other are included on purpose.
"""

import numpy as np


def normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape))


def positive(rng: np.random.Generator, *shape: int, low: float = 0.5, high: float = 2.0):
    return np.asarray(rng.uniform(low, high, shape))


def unit(rng: np.random.Generator, *shape: int, bound: float = 0.8) -> np.ndarray:
    """Inside (-bound, bound): the domain of arcsin and arccos, kept off the ends."""
    return np.asarray(rng.uniform(-bound, bound, shape))


def away_from_zero(rng: np.random.Generator, *shape: int, gap: float = 0.3) -> np.ndarray:
    """Values at least ``gap`` away from 0 (kinks of abs, relu, sign)."""
    x = rng.uniform(gap, 2.0, shape)
    return np.asarray(x * rng.choice([-1.0, 1.0], shape))


def distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with no ties and gaps of at least 0.1 (max, min, sort-like ops)."""
    n = int(np.prod(shape)) if shape else 1
    values = rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, n) - 0.05 * n
    return values.reshape(shape)
