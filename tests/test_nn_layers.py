"""cr.nn layers and Module mechanics, against NumPy reference computations."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


@pytest.fixture(autouse=True)
def _float64():
    cr.set_default_dtype(cr.float64)


def _fd_grad(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function f at array x."""
    g = np.zeros_like(x)
    for k in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[k] += eps
        xm.flat[k] -= eps
        g.flat[k] = (f(xp) - f(xm)) / (2 * eps)
    return g


def _check_input_grad(fn, x, rtol=1e-5, atol=1e-7, seed=0):
    """Compare d<u, fn(x)>/dx from backward() with central differences."""
    u = np.random.default_rng(seed).standard_normal(np.shape(fn(cr.tensor(x)).data))
    t = cr.tensor(x, requires_grad=True)
    (fn(t) * u).sum().backward()
    numeric = _fd_grad(lambda a: float(np.sum(fn(cr.tensor(a)).data * u)), x)
    np.testing.assert_allclose(t.grad.data, numeric, rtol=rtol, atol=atol)


# --- Module mechanics ------------------------------------------------------------------------


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
        self.scale = nn.Parameter(np.ones(3))
        self.register_buffer("steps", np.zeros(1))
        self.note = "not a parameter"

    def forward(self, x):
        return self.body(x) * self.scale


def test_registration_names_and_state_dict():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]
    assert len(list(net.parameters())) == 5
    assert [type(m).__name__ for m in net.modules()] == [
        "Net",
        "Sequential",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert [type(m).__name__ for m in net.children()] == ["Sequential"]
    sd = net.state_dict()
    assert list(sd) == [
        "scale",
        "steps",
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "body.2.bias",
    ]
    sd["scale"][:] = 7  # a copy: the model is untouched
    assert net.scale.data.tolist() == [1.0, 1.0, 1.0]


def test_shared_parameter_counted_once():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(model.parameters())) == 2
    # As PyTorch: a shared sub-module is one child (named by its first place), and
    # the forward pass still applies it twice.
    assert [name for name, _ in model.named_children()] == ["0", "1"]
    assert list(model.children()) == [lin, model[1]]
    x = np.array([[0.5, -1.0, 2.0]])
    w, b = lin.weight.numpy(), lin.bias.numpy()
    once = np.tanh(x @ w.T + b)
    np.testing.assert_allclose(model(cr.tensor(x)).data, once @ w.T + b, rtol=1e-6)


def test_load_state_dict_round_trip_and_errors(tmp_path):
    a, b = Net(), Net()
    x = cr.randn(2, 4)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    cr.save(a.state_dict(), tmp_path / "m.ckpt")
    c = Net()
    c.load_state_dict(cr.load(tmp_path / "m.ckpt"))
    np.testing.assert_array_equal(a(x).data, c(x).data)

    other = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    before = other.state_dict()
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\(5, 4\).*\(6, 4\)"):
        other.load_state_dict(
            {k[5:]: v for k, v in a.state_dict().items() if k.startswith("body.")}
        )
    np.testing.assert_array_equal(other.state_dict()["0.weight"], before["0.weight"])  # untouched
    with pytest.raises(RuntimeError, match=r"(?s)missing keys: 'steps'.*unexpected keys: 'extra'"):
        sd = a.state_dict()
        del sd["steps"]
        sd["extra"] = np.zeros(1)
        b.load_state_dict(sd)
    sd = a.state_dict()
    del sd["steps"]
    missing, unexpected = b.load_state_dict(sd, strict=False)
    assert missing == ["steps"] and unexpected == []


def test_train_eval_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert net.training and net[1].training
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    net(cr.randn(3, 2)).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad()
    assert net[0].weight.grad is None


def test_setattr_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()


def test_repr_like_pytorch():
    r = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert r == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)"
    )


# --- layers --------------------------------------------------------------------------------


def test_linear_matches_numpy_and_gradients():
    lin = nn.Linear(4, 3)
    x = np.random.default_rng(0).standard_normal((5, 4))
    out = lin(cr.tensor(x))
    np.testing.assert_allclose(out.data, x @ lin.weight.data.T + lin.bias.data)
    u = np.random.default_rng(1).standard_normal((5, 3))
    (out * u).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, u.T @ x)
    np.testing.assert_allclose(lin.bias.grad.data, u.sum(0))
    _check_input_grad(lin, x)


def test_linear_default_init_bounds_and_seed():
    cr.manual_seed(1)
    a = nn.Linear(100, 50)
    cr.manual_seed(1)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    k = 1 / math.sqrt(100)
    assert np.abs(a.weight.data).max() <= k and np.abs(a.bias.data).max() <= k
    # U(-k, k) has variance k^2 / 3
    assert a.weight.data.var() == pytest.approx(k * k / 3, rel=0.1)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_with_no_inputs_is_a_bias_as_in_pytorch():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        lin = nn.Linear(0, 3)
    assert lin.weight.shape == (3, 0)
    np.testing.assert_array_equal(lin.bias.data, np.zeros(3))  # U(-0, 0): no fan_in to scale
    y = lin(cr.zeros(2, 0))
    assert y.shape == (2, 3)
    y.sum().backward()
    assert lin.weight.grad.shape == (3, 0)
    np.testing.assert_array_equal(lin.bias.grad.data, [2.0, 2.0, 2.0])


def test_linear_default_dtype_float32():
    cr.set_default_dtype(cr.float32)
    lin = nn.Linear(3, 2)
    assert lin.weight.dtype == np.float32
    assert lin(cr.ones(4, 3)).dtype == np.float32


def test_linear_wrong_width_message():
    with pytest.raises(ValueError, match=r"Linear\(64 -> 10\) got input of shape \(32, 63\)"):
        nn.Linear(64, 10)(cr.zeros(32, 63))


def test_activations_against_numpy():
    x = np.random.default_rng(2).standard_normal((4, 5)) * 3
    t = cr.tensor(x)
    erf = np.vectorize(math.erf)
    cases = {
        nn.ReLU(): np.maximum(x, 0),
        nn.LeakyReLU(0.2): np.where(x > 0, x, 0.2 * x),
        nn.Tanh(): np.tanh(x),
        nn.Sigmoid(): 1 / (1 + np.exp(-x)),
        nn.GELU(): 0.5 * x * (1 + erf(x / math.sqrt(2))),
        nn.GELU("tanh"): 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        nn.Softplus(): np.log1p(np.exp(x)),
        nn.Softplus(beta=2.0, threshold=1.0): np.where(2 * x > 1, x, np.log1p(np.exp(2 * x)) / 2),
        nn.Softmax(axis=1): np.exp(x) / np.exp(x).sum(1, keepdims=True),
        nn.LogSoftmax(axis=0): x - np.log(np.exp(x).sum(0, keepdims=True)),
        nn.Identity(): x,
    }
    for layer, want in cases.items():
        np.testing.assert_allclose(layer(t).data, want, rtol=1e-12, atol=1e-12, err_msg=repr(layer))


@pytest.mark.parametrize(
    "layer",
    [nn.GELU(), nn.GELU("tanh"), nn.LeakyReLU(0.1), nn.Softplus(beta=1.5), nn.Softmax(axis=0)],
    ids=lambda m: repr(m),
)
def test_activation_gradients(layer):
    x = np.random.default_rng(3).standard_normal((3, 4)) + 0.05  # away from kinks
    _check_input_grad(layer, x)


def test_dropout():
    cr.manual_seed(0)
    d = nn.Dropout(0.25)
    x = cr.ones(200, 50)
    y = d(x).data
    kept = y != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    d.eval()
    np.testing.assert_array_equal(d(x).data, x.data)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_flatten_and_embedding():
    x = cr.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    emb = nn.Embedding(10, 3, padding_idx=0)
    idx = np.array([[1, 0, 9], [2, 2, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    assert np.all(emb.weight.data[0] == 0)
    (out * 2).sum().backward()
    g = emb.weight.grad.data
    np.testing.assert_allclose(g[2], 4.0)
    np.testing.assert_allclose(g[0], 0.0)  # padding row gets no gradient
    with pytest.raises(ValueError, match="index 10 is out of range"):
        emb(np.array([10]))


def _conv_ref(x, w, b, stride, padding, dilation):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for r in range(oh):
        for s in range(ow):
            patch = xp[
                :,
                :,
                r * stride : r * stride + dilation * (kh - 1) + 1 : dilation,
                s * stride : s * stride + dilation * (kw - 1) + 1 : dilation,
            ]
            out[:, :, r, s] = np.einsum("nchw,ochw->no", patch, w)
    return out + b[None, :, None, None]


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (1, 1, 1), (2, 1, 1), (1, 2, 2)])
def test_conv2d_against_loops(stride, padding, dilation):
    conv = nn.Conv2d(3, 4, 3, stride=stride, padding=padding, dilation=dilation)
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 6))
    out = conv(cr.tensor(x))
    want = _conv_ref(x, conv.weight.data, conv.bias.data, stride, padding, dilation)
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-12)


def test_conv2d_gradients_and_groups():
    conv = nn.Conv2d(4, 6, (2, 3), padding=1, groups=2)
    x = np.random.default_rng(5).standard_normal((2, 4, 5, 5))
    out = conv(cr.tensor(x)).data
    w, b = conv.weight.data, conv.bias.data
    want = np.concatenate(
        [_conv_ref(x[:, :2], w[:3], b[:3], 1, 1, 1), _conv_ref(x[:, 2:], w[3:], b[3:], 1, 1, 1)],
        axis=1,
    )
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    _check_input_grad(conv, x)
    # weight gradient by finite differences
    u = np.random.default_rng(6).standard_normal(out.shape)
    conv.zero_grad()
    (conv(cr.tensor(x)) * u).sum().backward()

    def loss_w(warr):
        return float(
            np.sum(F.conv2d(cr.tensor(x), cr.tensor(warr), conv.bias, padding=1, groups=2).data * u)
        )

    np.testing.assert_allclose(
        conv.weight.grad.data, _fd_grad(loss_w, w.copy()), rtol=1e-5, atol=1e-7
    )


def test_conv2d_same_padding_and_bad_channels():
    conv = nn.Conv2d(1, 2, 5, padding="same")
    assert conv(cr.zeros(1, 1, 8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 1, H, W\)"):
        conv(cr.zeros(1, 3, 8, 8))
    bound = 1 / math.sqrt(25)
    assert np.abs(conv.weight.data).max() <= bound


def test_conv2d_same_padding_with_an_even_kernel_pads_more_at_the_end():
    # padding="same" with an even kernel extent: total padding d (k - 1) is odd, and the
    # extra row/column goes at the bottom/right (PyTorch's choice).
    conv = nn.Conv2d(2, 3, (2, 4), padding="same")
    x = np.random.default_rng(12).standard_normal((2, 2, 5, 6))
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 2)))
    want = _conv_ref(xp, conv.weight.data, conv.bias.data, 1, 0, 1)
    out = conv(cr.tensor(x)).data
    assert out.shape == (2, 3, 5, 6)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    _check_input_grad(conv, x)
    # with dilation 3 and kernel 2 the total is 3: one before, two after
    w = np.random.default_rng(13).standard_normal((1, 2, 2, 2))
    out = F.conv2d(cr.tensor(x), cr.tensor(w), padding="same", dilation=3).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 2)))
    np.testing.assert_allclose(out, _conv_ref(xp, w, np.zeros(1), 1, 0, 3), rtol=1e-12, atol=1e-12)


def _maxpool_ref(x, k, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for r in range(oh):
        for q in range(ow):
            out[:, :, r, q] = xp[:, :, r * s : r * s + k, q * s : q * s + k].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_max_pool2d(k, s, p):
    x = np.random.default_rng(7).standard_normal((2, 3, 6, 7))
    pool = nn.MaxPool2d(k, stride=s, padding=p)
    np.testing.assert_allclose(pool(cr.tensor(x)).data, _maxpool_ref(x, k, s, p))
    _check_input_grad(pool, x)


def _maxpool_ceil_ref(x, k, s, p, d):
    """Naive loop with PyTorch's ceil_mode geometry: windows may run past the padded input
    (those positions count as -inf); a window starting in the right padding is dropped."""
    n, c, h, w = x.shape

    def count(size):
        out = math.ceil((size + 2 * p - d * (k - 1) - 1) / s) + 1
        return out - 1 if (out - 1) * s >= size + p else out

    oh, ow = count(h), count(w)
    out = np.full((n, c, oh, ow), -np.inf)
    for r in range(oh):
        for q in range(ow):
            for i in range(k):
                for j in range(k):
                    y, z = r * s + i * d - p, q * s + j * d - p
                    if 0 <= y < h and 0 <= z < w:
                        out[:, :, r, q] = np.maximum(out[:, :, r, q], x[:, :, y, z])
    return out


@pytest.mark.parametrize(
    "k,s,p,d,h,w",
    [
        (2, 2, 0, 1, 5, 7),
        (3, 2, 1, 1, 6, 5),
        (2, 2, 1, 1, 5, 6),
        (3, 3, 1, 1, 7, 8),
        (3, 2, 1, 2, 7, 6),
        (2, 3, 0, 1, 8, 4),
    ],
)
def test_max_pool2d_ceil_mode(k, s, p, d, h, w):
    x = np.random.default_rng(11).standard_normal((2, 2, h, w))
    want = _maxpool_ceil_ref(x, k, s, p, d)
    pool = nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=True)
    got = pool(cr.tensor(x)).data
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want)
    _check_input_grad(pool, x)


def test_max_pool2d_ceil_mode_sizes():
    # 5 rows, k=2, s=2: floor gives 2 windows, ceil 3 (the last sees one row).
    assert F.max_pool2d(cr.zeros(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    # 5 rows, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4, but the 4th window would start at padded
    # row 6 >= 5 + 1, entirely in the right padding, so it is dropped.
    assert F.max_pool2d(cr.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    # When the sizes divide evenly, ceil_mode changes nothing.
    assert F.max_pool2d(cr.zeros(1, 1, 6, 6), 2, ceil_mode=True).shape == (1, 1, 3, 3)


def test_max_pool2d_ties_go_to_the_first_maximum():
    x = cr.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 0], [0, 0]])


def test_batchnorm1d_training_and_running_stats():
    bn = nn.BatchNorm1d(3, momentum=0.2)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 3)) * 2 + 1
    bn.weight.data[:] = [1.0, 2.0, 0.5]
    bn.bias.data[:] = [0.0, 1.0, -1.0]
    out = bn(cr.tensor(x)).data
    mu, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(out, (x - mu) / np.sqrt(var + 1e-5) * bn.weight.data + bn.bias.data)
    np.testing.assert_allclose(bn.running_mean.data, 0.2 * mu)
    np.testing.assert_allclose(bn.running_var.data, 0.8 + 0.2 * x.var(0, ddof=1))
    assert int(bn.num_batches_tracked.data) == 1
    bn.eval()
    out = bn(cr.tensor(x)).data
    np.testing.assert_allclose(
        out,
        (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5) * bn.weight.data
        + bn.bias.data,
    )
    assert "running_var" in bn.state_dict()
    bn.train()
    _check_input_grad(lambda t: nn.BatchNorm1d(3)(t), x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.zeros(1, 3))
    x3 = rng.standard_normal((4, 3, 5))
    out3 = nn.BatchNorm1d(3)(cr.tensor(x3)).data
    mu3, var3 = x3.mean((0, 2), keepdims=True), x3.var((0, 2), keepdims=True)
    np.testing.assert_allclose(out3, (x3 - mu3) / np.sqrt(var3 + 1e-5))


def test_batchnorm1d_without_bias():
    # bias=False (PyTorch's keyword): a weight but no bias parameter nor state-dict entry.
    bn = nn.BatchNorm1d(3, bias=False)
    assert bn.bias is None
    assert list(bn.state_dict()) == ["weight", "running_mean", "running_var", "num_batches_tracked"]
    x = np.random.default_rng(14).standard_normal((5, 3))
    bn.weight.data[:] = [1.0, -2.0, 0.5]
    want = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * bn.weight.data
    np.testing.assert_allclose(bn(cr.tensor(x)).data, want)
    assert [name for name, _ in bn.named_parameters()] == ["weight"]


def test_layernorm():
    ln = nn.LayerNorm(4)
    x = np.random.default_rng(9).standard_normal((3, 4))
    ln.weight.data[:] = [1, 2, 3, 4]
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(cr.tensor(x)).data, want * [1, 2, 3, 4])
    _check_input_grad(ln, x)
    with pytest.raises(ValueError, match="LayerNorm"):
        ln(cr.zeros(3, 5))


# --- init and utils --------------------------------------------------------------------------


def test_init_statistics():
    cr.manual_seed(0)
    w = nn.Parameter(np.zeros((400, 300)))
    nn.init.xavier_uniform_(w)
    a = math.sqrt(6 / 700)
    assert np.abs(w.data).max() <= a and w.data.var() == pytest.approx(a * a / 3, rel=0.05)
    nn.init.xavier_normal_(w, gain=2.0)
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 700), rel=0.05)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / 300), rel=0.05)
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    bound = math.sqrt(3) * math.sqrt(2 / 400)
    assert np.abs(w.data).max() <= bound and w.data.max() > 0.95 * bound
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert np.all(w.data == 1)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))


def test_clip_grad_norm():
    a = cr.tensor([3.0, 0.0], requires_grad=True)
    b = cr.tensor([4.0], requires_grad=True)
    (a * a / 2).sum().backward()  # grad a = [3, 0]
    (b * b / 2).sum().backward()  # grad b = [4]
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert isinstance(total, cr.Tensor) and total.shape == () and total.dtype == a.grad.dtype
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [3 / (5 + 1e-6), 0.0])
    np.testing.assert_allclose(b.grad.data, [4 / (5 + 1e-6)])
    assert nn.utils.clip_grad_norm_([a, b], max_norm=10.0).item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad.data, [4 / (5 + 1e-6)])  # below max: unchanged
    inf_norm = nn.utils.clip_grad_norm_([a, b], 1.0, norm_type=math.inf)
    assert inf_norm.item() == pytest.approx(0.8, rel=1e-5)


def test_second_order_through_a_small_cnn():
    """d/dx <dL/dx, v> by a recorded backward pass (create_graph) vs central differences."""
    cr.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
    )
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((2, 1, 4, 4))
    y = np.array([0, 2])
    v = rng.standard_normal(x0.shape)

    def directional(xarr):
        x = cr.tensor(xarr, requires_grad=True)
        loss = F.cross_entropy(model(x), y)
        (g,) = cr.autodiff.backward.grad(loss, [x], create_graph=True)
        return (g * v).sum(), x

    h, x = directional(x0)
    h.backward()
    numeric = _fd_grad(lambda a: directional(a)[0].item(), x0.copy(), eps=1e-5)
    np.testing.assert_allclose(x.grad.data, numeric, rtol=1e-4, atol=1e-7)


def test_deepcopy_keeps_parameters_independent():
    import copy

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    clone = copy.deepcopy(model)
    assert all(isinstance(p, nn.Parameter) for p in clone.parameters())
    clone[0].weight.data[:] = 0
    assert np.any(model[0].weight.data != 0)
    model.load_state_dict(clone.state_dict())
    np.testing.assert_array_equal(model[0].weight.data, 0)


def test_parameter_is_a_tensor_subclass_and_ops_give_plain_tensors():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert type(p * 2) is cr.Tensor
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.data, [2.0, 4.0])


def test_module_to_double_and_float():
    cr.set_default_dtype(cr.float32)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert model[0].weight.dtype == np.float32
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    out = model(cr.tensor(np.ones((4, 3))))
    assert out.dtype == np.float64
    out.sum().backward()
    assert model[0].weight.grad.dtype == np.float64
    assert model.float()[0].weight.dtype == np.float32
