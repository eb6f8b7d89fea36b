"""PyTorch habits get chainrule's way in the error: dim= at the top level (NumPy's axis=),
dim= accepted by cr.nn (PyTorch's module API), PyTorch names without a twin, an optimizer
given the model instead of its parameters."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F


@pytest.mark.parametrize(
    "call, answer",
    [
        # a wrapped NumPy-named function (chainrule.habits.refuse_dim)
        (lambda x: cr.sum(x, dim=0), "cr.sum() takes NumPy's axis=, not PyTorch's dim=: "
         "use cr.sum(x, axis=...)"),
        # a primitive: the engine's argument check answers
        (lambda x: cr.softmax(x, dim=0), "cr.softmax() takes NumPy's axis=, not PyTorch's "
         "dim=: use cr.softmax(x, axis=...)"),
        # a Tensor method
        (lambda x: x.mean(dim=0), "mean() takes NumPy's axis=, not PyTorch's dim=: "
         "use x.mean(axis=...)"),
    ],
    ids=["function", "primitive", "method"],
)
def test_dim_answer_names_the_call_to_write(call, answer):
    with pytest.raises(TypeError) as info:
        call(cr.tensor(np.arange(6.0).reshape(2, 3)))
    assert str(info.value) == answer


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# What axis=0 gives, computed with NumPy.
_AXIS_0 = {
    "sum": lambda a: a.sum(axis=0), "mean": lambda a: a.mean(axis=0),
    "max": lambda a: a.max(axis=0), "cumsum": lambda a: a.cumsum(axis=0),
    "softmax": lambda a: _softmax(a, 0), "log_softmax": lambda a: np.log(_softmax(a, 0)),
    # helpers without a gradient (argmax, any...) answer as well
    "argmax": lambda a: a.argmax(axis=0), "argmin": lambda a: a.argmin(axis=0),
    "any": lambda a: (a > 2).any(axis=0), "all": lambda a: (a > 2).all(axis=0),
}


@pytest.mark.parametrize("name", list(_AXIS_0))
def test_numpy_named_functions_answer_dim_with_axis(name):
    a = np.array([[0.0, 5.0, 2.0], [3.0, 1.0, 4.0]])
    x = cr.tensor(a > 2) if name in ("any", "all") else cr.tensor(a)
    with pytest.raises(TypeError, match=rf"cr\.{name}\(\) takes NumPy's axis=, not PyTorch's dim="):
        getattr(cr, name)(x, dim=0)
    np.testing.assert_allclose(np.asarray(getattr(cr, name)(x, axis=0).data),
                               _AXIS_0[name](a))


def test_nn_accepts_dim_as_an_alias_of_axis():
    x = cr.tensor(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]]))
    e = np.exp(x.data - x.data.max(axis=0))
    by_column = e / e.sum(axis=0)  # softmax over axis 0, by hand
    np.testing.assert_allclose(F.softmax(x, dim=0).data, by_column, rtol=1e-12)
    np.testing.assert_allclose(nn.Softmax(dim=0)(x).data, by_column, rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x, dim=0).data, np.log(by_column), rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax(dim=0)(x).data, np.log(by_column), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, axis=0).data, by_column, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, 0).data, by_column, rtol=1e-12)
    assert F.softmax(x).data.sum(axis=1) == pytest.approx([1.0, 1.0])  # default: the last
    with pytest.raises(TypeError, match="not both"):
        F.softmax(x, axis=0, dim=1)


@pytest.mark.parametrize(
    "name, hint",
    [("unsqueeze", "expand_dims"), ("float", "astype"), ("to", "astype"),
     ("permute", "transpose"), ("numel", "t.size"), ("dim", "t.ndim")],
)
def test_pytorch_tensor_methods_name_the_chainrule_way(name, hint):
    t = cr.tensor([1.0, 2.0])
    with pytest.raises(AttributeError, match=rf"'{name}' \(a PyTorch name\).*{hint}"):
        getattr(t, name)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        t.nonsense  # noqa: B018 - an ordinary missing attribute stays ordinary


def test_pytorch_module_functions_name_the_chainrule_way():
    with pytest.raises(AttributeError, match=r"'cat' \(a PyTorch name\).*cr\.concatenate"):
        cr.cat  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        cr.nonsense  # noqa: B018
    assert not hasattr(cr, "cat")


def test_an_optimizer_given_the_model_says_to_pass_its_parameters():
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        optim.SGD(model, lr=0.1)
    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        optim.Adam(model)
