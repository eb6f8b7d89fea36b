"""Loss functions against their textbook NumPy definitions (PyTorch's conventions)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


@pytest.fixture(autouse=True)
def _float64():
    cr.set_default_dtype(cr.float64)


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 4)) * 2
LABELS = np.array([0, 3, 1, 1, 2, 3])
W = np.array([0.5, 1.0, 2.0, 1.5])


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _ce_ref(x, y, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """Loop form of PyTorch's cross-entropy with class indices."""
    n, c = x.shape
    w = np.ones(c) if weight is None else weight
    lp = _log_softmax(x)
    losses, denom = [], 0.0
    for i in range(n):
        if y[i] == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[y[i]] * lp[i, y[i]]
        smooth = -np.sum(w * lp[i])
        losses.append((1 - eps) * nll + eps / c * smooth)
        denom += w[y[i]]
    losses = np.array(losses)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denom


def _grad_fd(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for k in range(x.size):
        a, b = x.copy(), x.copy()
        a.flat[k] += eps
        b.flat[k] -= eps
        g.flat[k] = (f(a) - f(b)) / (2 * eps)
    return g


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"reduction": "sum"},
        {"reduction": "none"},
        {"weight": W},
        {"weight": W, "ignore_index": 1},
        {"ignore_index": 3, "label_smoothing": 0.2},
        {"weight": W, "label_smoothing": 0.1},
        {"weight": W, "label_smoothing": 0.3, "reduction": "sum"},
    ],
)
def test_cross_entropy_value_and_gradient(kw):
    loss = nn.CrossEntropyLoss(**kw)
    x = cr.tensor(LOGITS, requires_grad=True)
    out = loss(x, cr.tensor(LABELS))
    ref_kw = dict(kw)
    ref_kw["eps"] = ref_kw.pop("label_smoothing", 0.0)
    want = _ce_ref(LOGITS, LABELS, **ref_kw)
    np.testing.assert_allclose(out.data, want, rtol=1e-12)
    out.sum().backward()
    numeric = _grad_fd(lambda a: float(np.sum(_ce_ref(a, LABELS, **ref_kw))), LOGITS.copy())
    np.testing.assert_allclose(x.grad.data, numeric, rtol=1e-6, atol=1e-8)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = cr.tensor(LOGITS, requires_grad=True)
    F.cross_entropy(x, LABELS).backward()
    p = np.exp(_log_softmax(LOGITS))
    np.testing.assert_allclose(x.grad.data, (p - np.eye(4)[LABELS]) / 6, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    x = cr.tensor(np.array([[1000.0, 0.0], [0.0, -1000.0]]), requires_grad=True)
    out = F.cross_entropy(x, np.array([1, 0]))
    assert out.item() == pytest.approx(500.0)
    out.backward()
    assert np.all(np.isfinite(x.grad.data))


def test_cross_entropy_spatial_and_unbatched_and_probabilities():
    x = RNG.standard_normal((2, 3, 4, 5))
    y = RNG.integers(0, 3, (2, 4, 5))
    lp = _log_softmax(x, axis=1)
    want = -np.take_along_axis(lp, y[:, None], axis=1).mean()
    np.testing.assert_allclose(F.cross_entropy(cr.tensor(x), y).data, want, rtol=1e-12)
    np.testing.assert_allclose(
        F.cross_entropy(cr.tensor(LOGITS[0]), np.array(2)).data,
        -_log_softmax(LOGITS[:1])[0, 2],
        rtol=1e-12,
    )
    probs = np.exp(_log_softmax(RNG.standard_normal((6, 4))))
    want = -(probs * _log_softmax(LOGITS)).sum(1).mean()
    np.testing.assert_allclose(F.cross_entropy(cr.tensor(LOGITS), probs).data, want, rtol=1e-12)
    smooth = probs * 0.9 + 0.1 / 4
    want = -(smooth * W * _log_softmax(LOGITS)).sum(1).mean()
    np.testing.assert_allclose(
        F.cross_entropy(cr.tensor(LOGITS), probs, weight=W, label_smoothing=0.1).data,
        want,
        rtol=1e-12,
    )


def test_cross_entropy_bad_labels():
    loss = nn.CrossEntropyLoss()
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: target 4 is out of range for 4 "
        r"classes \(labels must be in 0..3",
    ):
        loss(cr.tensor(LOGITS), np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="target -1 is out of range"):
        loss(cr.tensor(LOGITS), np.array([0, 1, 2, 3, -1, 0]))
    with pytest.raises(ValueError, match=r"needs targets of shape \(6,\)"):
        loss(cr.tensor(LOGITS), np.array([0, 1]))
    with pytest.raises(TypeError, match="integers"):
        loss(cr.tensor(LOGITS), np.array([0.5, 1, 2, 3, 1, 0]))
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")


def test_nll_loss():
    lp = _log_softmax(LOGITS)
    want = -(W[LABELS] * lp[np.arange(6), LABELS]).sum() / W[LABELS].sum()
    np.testing.assert_allclose(nn.NLLLoss(weight=W)(cr.tensor(lp), LABELS).data, want, rtol=1e-12)


def test_regression_losses():
    a = RNG.standard_normal((5, 3))
    b = RNG.standard_normal((5, 3))
    d = a - b
    np.testing.assert_allclose(nn.MSELoss()(cr.tensor(a), b).data, np.mean(d**2))
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(cr.tensor(a), b).data, np.sum(d**2))
    np.testing.assert_allclose(nn.L1Loss(reduction="none")(cr.tensor(a), b).data, np.abs(d))
    delta = 0.7
    hub = np.where(np.abs(d) < delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta))
    np.testing.assert_allclose(nn.HuberLoss(delta=delta)(cr.tensor(a), b).data, hub.mean())
    for loss, ref in [
        (nn.MSELoss(), lambda x: np.mean((x - b) ** 2)),
        (
            nn.HuberLoss(delta=delta),
            lambda x: np.mean(
                np.where(
                    np.abs(x - b) < delta, 0.5 * (x - b) ** 2, delta * (np.abs(x - b) - 0.5 * delta)
                )
            ),
        ),
    ]:
        x = cr.tensor(a, requires_grad=True)
        loss(x, b).backward()
        np.testing.assert_allclose(x.grad.data, _grad_fd(ref, a.copy()), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match=r"input of shape \(5, 3\) and target of shape \(5,\)"):
        nn.MSELoss()(cr.tensor(a), b[:, 0])


def test_binary_losses():
    x = RNG.standard_normal(8) * 3
    y = (RNG.random(8) > 0.5).astype(float)
    pw = 2.5
    s = 1 / (1 + np.exp(-x))
    bce = -(y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(nn.BCELoss()(cr.tensor(s), y).data, bce.mean(), rtol=1e-10)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(cr.tensor(x), y).data, bce.mean(), rtol=1e-10)
    weighted = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss(pos_weight=np.array(pw), reduction="sum")(cr.tensor(x), y).data,
        weighted.sum(),
        rtol=1e-10,
    )
    t = cr.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(t, y).backward()
    np.testing.assert_allclose(t.grad.data, (s - y) / 8, rtol=1e-10)
    # no overflow for huge logits
    big = F.binary_cross_entropy_with_logits(
        cr.tensor(np.array([800.0, -800.0])), np.array([0.0, 1.0])
    )
    assert big.item() == pytest.approx(800.0)
    # BCE clamps log at -100
    assert F.binary_cross_entropy(cr.tensor(np.array([0.0])), np.array([1.0])).item() == 100.0
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        nn.BCELoss()(cr.tensor(x), y)


def test_binary_cross_entropy_gradient_at_saturated_probabilities():
    # PyTorch's BCE: value -w (y log p + (1 - y) log(1 - p)) with each log clamped at -100;
    # gradient w (p - y) / max(p (1 - p), 1e-12), so a prediction of exactly 0 or 1 against
    # its label still gets a (large, finite) gradient, and one that matches its label gets 0.
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1e-30])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.4, 1.0])
    w = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 1.0])
    t = cr.tensor(p, requires_grad=True)
    out = F.binary_cross_entropy(t, y, weight=w, reduction="sum")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log(1 - p), -100.0)
    np.testing.assert_allclose(out.data, np.sum(-w * (y * log_p + (1 - y) * log_q)), rtol=1e-12)
    out.backward()
    want = w * (p - y) / np.maximum(p * (1 - p), 1e-12)
    assert np.all(np.isfinite(t.grad.data))
    np.testing.assert_allclose(t.grad.data, want, rtol=1e-6)
    # inside (0, 1), the gradients in p and in a target that requires grad are the exact
    # derivatives, checked by central differences
    p2 = RNG.uniform(0.05, 0.95, 5)
    y2 = RNG.uniform(0.0, 1.0, 5)

    def ref(a, b):
        return float(np.mean(-(b * np.log(a) + (1 - b) * np.log(1 - a))))

    tp, ty = cr.tensor(p2, requires_grad=True), cr.tensor(y2, requires_grad=True)
    nn.BCELoss()(tp, ty).backward()
    np.testing.assert_allclose(tp.grad.data, _grad_fd(lambda a: ref(a, y2), p2.copy()), rtol=1e-6)
    np.testing.assert_allclose(ty.grad.data, _grad_fd(lambda b: ref(p2, b), y2.copy()), rtol=1e-6)


def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradient():
    # The mean over no targets is 0/0 = nan (as PyTorch), but the logits get a zero gradient,
    # not nan, so one such batch does not poison the parameters.
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": W}):
        x = cr.tensor(LOGITS, requires_grad=True)
        out = F.cross_entropy(x, np.full(6, -100), **kw)
        assert np.isnan(out.item())
        out.backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros_like(LOGITS))
    # the same when the only labels present have weight 0
    x = cr.tensor(LOGITS, requires_grad=True)
    out = F.nll_loss(x, np.array([0, 0, 0, 0, 0, 0]), weight=np.array([0.0, 1.0, 1.0, 1.0]))
    assert np.isnan(out.item())
    out.backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros_like(LOGITS))


def test_cross_entropy_and_nll_with_masked_minus_inf_logits():
    # A logit of -inf (a masked class) that is not the target adds nothing: the loss is
    # finite and the masked entries get gradient 0, as PyTorch (which picks the target entry).
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 2.0, -np.inf], [-np.inf, 0.5, 0.0]])
    y = np.array([0, 1, 2])
    w = np.array([1.0, 0.5, 2.0])
    t = cr.tensor(x, requires_grad=True)
    out = F.cross_entropy(t, y, weight=w)
    with np.errstate(invalid="ignore"):
        m = x.max(1, keepdims=True)
        lp = x - m - np.log(np.exp(x - m).sum(1, keepdims=True))
    picked = lp[np.arange(3), y]
    np.testing.assert_allclose(out.item(), -(w[y] * picked).sum() / w[y].sum(), rtol=1e-12)
    out.backward()
    p = np.exp(lp)
    want = w[y][:, None] * (p - np.eye(3)[y]) / w[y].sum()
    np.testing.assert_allclose(t.grad.data, want, rtol=1e-12, atol=1e-15)
    t2 = cr.tensor(lp, requires_grad=True)
    out = F.nll_loss(t2, y, reduction="sum")
    np.testing.assert_allclose(out.item(), -picked.sum(), rtol=1e-12)
    out.backward()
    np.testing.assert_array_equal(t2.grad.data, -np.eye(3)[y])
