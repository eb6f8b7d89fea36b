"""The neural-network primitives of chainrule.ops.nn, checked like every other primitive.

They are registered, so ``test_primitives.py`` runs its full battery on them (forward against
an independent formula, VJP and JVP against central differences, the inner-product identity,
second order). Their independent formulas (``ref=``: naive loops, not the im2col code) are
declared with them; here they are checked themselves.
"""

import math

import numpy as np

from chainrule.autodiff.primitive import REGISTRY
from chainrule.ops import references

_naive_unfold = references.unfold
_erf_quadrature = references.erf


def test_erf_reference_is_right():
    xs = np.array([-3.0, -0.5, 0.0, 0.1, 1.0, 2.5])
    np.testing.assert_allclose(
        _erf_quadrature(xs), [math.erf(v) for v in xs], rtol=1e-13, atol=1e-15
    )


def test_unfold_fold_are_adjoint_on_a_strided_padded_geometry():
    rng = np.random.default_rng(0)
    geo = dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1))
    x = rng.standard_normal((2, 3, 7, 8))
    cols = REGISTRY["unfold"].forward(x, **geo)
    u = rng.standard_normal(cols.shape)
    back = REGISTRY["fold"].forward(u, input_shape=x.shape, **geo)
    assert np.isclose(np.sum(cols * u), np.sum(x * back))
    np.testing.assert_allclose(cols, _naive_unfold(x, **geo))
