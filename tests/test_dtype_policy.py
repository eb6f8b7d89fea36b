"""No silent dtype promotion in cr.nn: layers raise for an input of another dtype (as
PyTorch), losses cast targets to the input's dtype (chainrule.nn.dtype_policy)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

# --- layers with parameters: an input of another dtype raises, naming the fix ----------------

_LAYERS = {
    "Linear": (lambda: nn.Linear(3, 2), (4, 3)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    "Conv2d unbatched": (lambda: nn.Conv2d(2, 3, 3), (2, 5, 5)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm1d no affine": (lambda: nn.BatchNorm1d(3, affine=False), (4, 3)),
    "LayerNorm": (lambda: nn.LayerNorm(3), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(_LAYERS))
@pytest.mark.parametrize("wrap", [np.asarray, cr.tensor], ids=["numpy", "tensor"])
def test_layer_refuses_float64_input_to_float32_model(name, wrap):
    make, shape = _LAYERS[name]
    layer = make()
    x = np.random.default_rng(0).normal(size=shape)  # float64, NumPy's default
    with pytest.raises(TypeError, match=r"float64 .*float32.*astype\(cr\.float32\).*model\.to"):
        layer(wrap(x))
    # The fixes the message names both work, and the output keeps the model's dtype.
    assert layer(wrap(x.astype(np.float32))).dtype == np.float32
    assert layer.to(cr.float64)(wrap(x)).dtype == np.float64


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "BatchNorm1d", "LayerNorm"])
def test_layer_refuses_integer_input(name):
    make, shape = _LAYERS[name]
    x = np.ones(shape, dtype=np.int64)
    with pytest.raises(TypeError, match=r"int64.*astype\(cr\.float32\)"):
        make()(x)


def test_float32_model_in_float64_refuses_float32_input():
    cr.set_default_dtype(cr.float64)
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"float32 but the layer's parameters are float64"):
        layer(np.ones((1, 3), np.float32))


def test_functional_forms_check_dtypes():
    w32, b32 = np.ones((2, 3), np.float32), np.zeros(2, np.float32)
    with pytest.raises(TypeError, match="linear: .*float64"):
        F.linear(cr.tensor(np.ones((1, 3))), w32, b32)
    with pytest.raises(TypeError, match="linear: the weight is float32 but the bias is float64"):
        F.linear(np.ones((1, 3), np.float32), w32, np.zeros(2))
    with pytest.raises(TypeError, match="conv2d: .*float64"):
        F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2), np.float32))
    out = F.linear(np.ones((1, 3), np.float32), w32, b32)
    np.testing.assert_array_equal(out.data, np.full((1, 2), 3.0, np.float32))


@pytest.mark.parametrize("shape", [(1, 2, 5, 5), (2, 5, 5)], ids=["batched", "unbatched"])
def test_conv_errors_name_the_module_or_the_function_called(shape):
    x = np.ones(shape)  # float64 into float32 parameters
    with pytest.raises(TypeError, match=r"^Conv2d: the input is a NumPy array of dtype float64"):
        nn.Conv2d(2, 3, 3)(x)
    with pytest.raises(TypeError, match=r"^conv2d: the input is a NumPy array of dtype float64"):
        F.conv2d(x, np.ones((3, 2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="^conv2d: the weight is float32 but the bias is float64"):
        F.conv2d(x.astype(np.float32), np.ones((4, 1, 3, 3), np.float32), np.zeros(4), groups=2)


def test_python_lists_take_the_layers_dtype():
    layer = nn.Linear(2, 1)
    out = layer([[1.0, 2.0]])
    w, b = layer.weight.data, layer.bias.data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, np.array([[1.0, 2.0]], np.float32) @ w.T + b)


def test_layers_without_parameters_keep_the_input_dtype():
    x = np.random.default_rng(1).normal(size=(1, 1, 4, 4))
    for layer in (nn.ReLU(), nn.Tanh(), nn.Dropout(0.5), nn.MaxPool2d(2), nn.Flatten()):
        assert layer(cr.tensor(x)).dtype == np.float64


def test_fit_on_float64_data_trains_a_float32_model():
    """cr.train.fit batches float64 arrays in the default dtype, so the check never fires
    there; integer 0/1 labels feed BCEWithLogitsLoss as float32 targets."""
    X, y = cr.datasets.make_moons(64, noise=0.1, seed=0)
    assert X.dtype == np.float64 and y.dtype.kind == "i"
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    hist = cr.train.fit(model, nn.BCEWithLogitsLoss(), opt, (X, y), epochs=2,
                        metrics=(), progress=False)
    assert all(np.isfinite(hist["loss"]))
    assert all(p.dtype == np.float32 for p in model.parameters())


# --- losses: targets, weights, pos_weight are cast to the input's dtype -------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _inputs(dtype):
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3)).astype(dtype)
    y = rng.integers(0, 2, size=(4, 3))  # integer labels 0/1
    return z, y


_TARGET_LOSSES = {
    # name: (loss(input, target), reference in float64 NumPy, input transform)
    "MSELoss": (nn.MSELoss(), lambda p, y: np.mean((p - y) ** 2), lambda z: z),
    "L1Loss": (nn.L1Loss(), lambda p, y: np.mean(np.abs(p - y)), lambda z: z),
    "HuberLoss": (
        nn.HuberLoss(delta=0.5),
        lambda p, y: np.mean(np.where(np.abs(p - y) < 0.5, 0.5 * (p - y) ** 2,
                                      0.5 * (np.abs(p - y) - 0.25))),
        lambda z: z,
    ),
    "BCELoss": (
        nn.BCELoss(),
        lambda p, y: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
        _sigmoid,
    ),
    "BCEWithLogitsLoss": (
        nn.BCEWithLogitsLoss(),
        lambda z, y: -np.mean(y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z))),
        lambda z: z,
    ),
}


@pytest.mark.parametrize("name", sorted(_TARGET_LOSSES))
@pytest.mark.parametrize("target_dtype", [np.int64, np.float64, np.bool_])
@pytest.mark.parametrize("wrap", [np.asarray, cr.tensor], ids=["numpy", "tensor"])
def test_loss_casts_targets_to_the_input_dtype(name, target_dtype, wrap):
    loss_fn, reference, transform = _TARGET_LOSSES[name]
    z, y = _inputs(np.float32)
    x = cr.tensor(transform(z), requires_grad=True)
    loss = loss_fn(x, wrap(y.astype(target_dtype)))
    assert loss.dtype == np.float32, f"{name} promoted to {loss.dtype}"
    loss.backward()
    assert x.grad.dtype == np.float32
    expected = reference(transform(z).astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


def test_float64_input_keeps_float64_with_float32_targets():
    z, y = _inputs(np.float64)
    loss = nn.MSELoss()(cr.tensor(z), cr.tensor(y.astype(np.float32)))
    assert loss.dtype == np.float64
    np.testing.assert_allclose(loss.item(), np.mean((z - y) ** 2), rtol=1e-12)


def test_loss_weights_and_pos_weight_are_cast():
    z, y = _inputs(np.float32)
    w = cr.tensor(np.array([1.0, 2.0, 0.5]))  # float64
    pw = cr.tensor(np.array([3.0, 1.0, 2.0]))
    loss = F.binary_cross_entropy_with_logits(cr.tensor(z), cr.tensor(y), weight=w, pos_weight=pw)
    assert loss.dtype == np.float32
    zf, yf, wf, pf = (a.astype(np.float64) for a in (z, y, w.data, pw.data))
    expected = -np.mean(wf * (pf * yf * np.log(_sigmoid(zf)) + (1 - yf) * np.log(1 - _sigmoid(zf))))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)
    p = cr.tensor(_sigmoid(z))
    assert F.binary_cross_entropy(p, cr.tensor(y), weight=w).dtype == np.float32


def test_classification_losses_keep_the_input_dtype():
    z, _ = _inputs(np.float32)
    labels = cr.tensor(np.array([0, 2, 1, 1]))
    probs = np.full((4, 3), 1.0 / 3.0)  # float64 class probabilities
    w = np.array([1.0, 2.0, 3.0])  # float64 class weights
    ce = nn.CrossEntropyLoss(weight=w)(cr.tensor(z), labels)
    assert ce.dtype == np.float32
    soft = nn.CrossEntropyLoss()(cr.tensor(z), probs)
    assert soft.dtype == np.float32
    zf = z.astype(np.float64)
    logp = zf - np.log(np.exp(zf).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(soft.item(), -np.mean(logp.mean(axis=1)), rtol=1e-5)
    nll = nn.NLLLoss()(cr.tensor(logp.astype(np.float32)), labels)
    assert nll.dtype == np.float32
    np.testing.assert_allclose(nll.item(), -np.mean(logp[np.arange(4), [0, 2, 1, 1]]), rtol=1e-5)
    with pytest.raises(TypeError, match="class targets must be integers"):
        nn.NLLLoss()(cr.tensor(logp), cr.tensor(np.array([0.0, 2.0, 1.0, 1.0])))


def test_target_that_requires_grad_gets_its_gradient_in_its_dtype():
    z, y = _inputs(np.float32)
    t = cr.tensor(y.astype(np.float64), requires_grad=True)
    nn.MSELoss(reduction="sum")(cr.tensor(z), t).backward()
    assert t.grad.dtype == np.float64
    # d/dt sum (z - t)^2 = -2 (z - t), computed in float32 and cast back
    np.testing.assert_allclose(t.grad.data, -2 * (z.astype(np.float64) - y), rtol=1e-5)
