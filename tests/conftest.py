import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _fresh_defaults():
    """Every test starts with float32 as the default dtype and a seeded generator."""
    cr.set_default_dtype(cr.float32)
    cr.manual_seed(0)
    yield
    cr.set_default_dtype(cr.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
