"""Inside a transform, turning a differentiated Tensor into a Python number is refused.

``math.sin(t)`` calls ``float(t)``; its result is a constant, so the derivative through it
would silently be 0 (JAX raises here too).
"""

import math

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("transform", [
    lambda f: cr.grad(f)(1.0),
    lambda f: cr.jvp(f, (1.0,), (1.0,)),
    lambda f: cr.jacobian(f, mode="fwd")(np.array([1.0])),
    lambda f: cr.hessian(f)(1.0),
    lambda f: cr.explain(f, t=1.0),
])
def test_math_functions_on_traced_tensors_raise_instead_of_giving_zero(transform):
    with pytest.raises(TypeError, match=r"drop its derivative.*cr\.sin"):
        transform(lambda t: math.sin(t) + cr.sum(t))


def test_item_stays_available_and_plain_float_outside_transforms():
    # t.item() is the explicit way to take a constant: d/dt [sin(t)·t.item()] = cos(t)·t
    np.testing.assert_allclose(cr.grad(lambda t: cr.sin(t) * t.item())(1.0), math.cos(1.0))
    x = cr.tensor(2.0, requires_grad=True)
    assert float(x * 3) == 6.0  # logging a loss with float() works outside transforms
