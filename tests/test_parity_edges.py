"""cr.nn at the edges (infinities, NaN, 1e300, empty batches), as PyTorch behaves there.

Expected values come from the mathematics (log-softmax of two equal numbers is -log 2;
Huber's slope is clip(d, -delta, delta)) or from NumPy, never from chainrule itself.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


@pytest.fixture(autouse=True)
def _float64():
    cr.set_default_dtype(cr.float64)


def _grad(fn, x):
    t = cr.tensor(np.asarray(x, np.float64), requires_grad=True)
    out = fn(t)
    out.backward(cr.tensor(np.ones(out.shape)))
    return out.data, t.grad.data


# --- log_softmax keeps x - max exact at any magnitude -------------------------------------------

@pytest.mark.parametrize("big", [1e300, -1e300, 1e308, 1e20])
def test_log_softmax_of_equal_huge_values_is_minus_log_2(big):
    out, g = _grad(lambda t: F.log_softmax(t, dim=-1), [[big, big]])
    np.testing.assert_allclose(out, [[-math.log(2), -math.log(2)]], rtol=1e-15)
    # d/dx_j sum_i log_softmax_i = 1 - n softmax_j = 1 - 2 * 1/2 = 0
    np.testing.assert_allclose(g, [[0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(cr.log_softmax(cr.tensor([big, big])).data, [-math.log(2)] * 2)


def test_log_softmax_shift_invariance_at_1e300():
    x = np.array([0.0, 1.0, 2.0])
    ref = x - np.log(np.exp(x).sum())  # small numbers: the textbook formula is exact enough
    np.testing.assert_allclose(F.log_softmax(cr.tensor(x + 1e15), dim=0).data, ref, atol=1e-3)
    np.testing.assert_allclose(F.log_softmax(cr.tensor(x * 1e300), dim=0).data,
                               [-2e300, -1e300, 0.0])


def test_log_softmax_rows_with_inf_or_nan_are_nan_like_softmax():
    rows = np.array([[np.inf, 1.0], [np.nan, 1.0], [-np.inf, -np.inf]])
    assert np.isnan(F.log_softmax(cr.tensor(rows), dim=1).data).all()
    assert np.isnan(F.softmax(cr.tensor(rows), dim=1).data).all()
    # -inf is a masked logit: its log-probability is -inf, the rest a softmax of the others
    out = F.log_softmax(cr.tensor([[-np.inf, 0.0, 0.0]]), dim=1).data
    np.testing.assert_allclose(out, [[-np.inf, -math.log(2), -math.log(2)]])


def test_cross_entropy_of_huge_equal_logits_is_log_2():
    loss = F.cross_entropy(cr.tensor([[1e300, 1e300]]), cr.tensor(np.array([0])))
    np.testing.assert_allclose(loss.item(), math.log(2), rtol=1e-15)


# --- Huber: no NaN gradient from the branch not taken -----------------------------------------

def test_huber_gradient_at_infinite_difference_is_plus_minus_delta():
    x = np.array([np.inf, -np.inf, 1e300, -1e300, 0.3, 2.5])
    for delta in (1.0, 2.0):
        out, g = _grad(
            lambda t, delta=delta: F.huber_loss(t, np.zeros(6), reduction="none", delta=delta), x
        )
        assert np.array_equal(out[:2], [np.inf, np.inf])
        np.testing.assert_allclose(out[2:4], delta * (1e300 - 0.5 * delta), rtol=1e-15)
        np.testing.assert_allclose(g, np.clip(x, -delta, delta))  # dl/dd = clip(d, ±delta)


def test_huber_values_and_slope_match_its_definition():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(scale=2.0, size=50), [1.0 - 1e-12, 1.0 + 1e-12, -1.0]])
    y = np.zeros_like(x)
    out, g = _grad(lambda t: F.huber_loss(t, y, reduction="none"), x)
    a = np.abs(x)
    np.testing.assert_allclose(out, np.where(a < 1.0, 0.5 * x * x, a - 0.5), rtol=1e-12)
    np.testing.assert_allclose(g, np.clip(x, -1.0, 1.0), rtol=1e-12)


def test_huber_second_derivative_is_one_inside_zero_outside():
    d2 = cr.grad(cr.grad(lambda t: F.huber_loss(t, np.zeros(()), reduction="sum")))
    assert float(d2(np.float64(0.4))) == 1.0
    assert float(d2(np.float64(3.0))) == 0.0


# --- L1: sign(nan) = 0, as PyTorch ----------------------------------------------------------------

def test_l1_gradient_is_zero_at_nan_and_the_sign_elsewhere():
    x = np.array([np.nan, np.inf, -np.inf, 1e300, -2.0, 0.0])
    out, g = _grad(lambda t: F.l1_loss(t, np.zeros(6), reduction="none"), x)
    assert np.isnan(out[0]) and np.array_equal(out[1:], np.abs(x[1:]))
    np.testing.assert_array_equal(g, [0.0, 1.0, -1.0, 1.0, -1.0, 0.0])
    # A NaN target too: the loss is NaN, the input's gradient 0.
    out, g = _grad(lambda t: F.l1_loss(t, np.array([np.nan, 1.0]), reduction="sum"), [1.0, 3.0])
    assert np.isnan(out)
    np.testing.assert_array_equal(g, [0.0, 1.0])


# --- BCE refuses NaN probabilities --------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, -0.1, 1.5, np.inf])
def test_bce_refuses_inputs_outside_0_1_nan_included(bad):
    match = r"probabilities in \[0, 1\], got .*binary_cross_entropy_with_logits"
    with pytest.raises(ValueError, match=match):
        nn.BCELoss()(cr.tensor([0.5, bad]), cr.tensor([1.0, 0.0]))


def test_bce_at_the_ends_is_clamped_at_100():
    out = F.binary_cross_entropy(cr.tensor([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(out.data, [100.0, 100.0])  # -log clamped at -100


# --- empty batches ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0)])
def test_batchnorm_empty_batch_gives_empty_output_and_counts_it(shape):
    bn = nn.BatchNorm1d(3, momentum=None)
    x = cr.tensor(np.zeros(shape), requires_grad=True)
    out = bn(x)
    assert out.shape == shape
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(3))
    assert int(bn.num_batches_tracked.data) == 1
    out.sum().backward()
    assert x.grad.shape == shape
    # momentum=None averages over the batches counted: the next batch has weight 1/2.
    b = np.random.default_rng(0).normal(size=(5, 3))
    bn(cr.tensor(b))
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * b.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * b.var(0, ddof=1), rtol=1e-12)


def test_batchnorm_still_refuses_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.tensor(np.ones((1, 3))))


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Linear(3, 2),
        lambda: nn.LayerNorm(3),
        lambda: nn.Softmax(dim=1),
        lambda: nn.BatchNorm1d(3).eval(),
    ],
)
def test_layers_take_empty_batches(make):
    x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    out = make()(x)
    assert out.shape[0] == 0
    out.sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize(
    "loss, target",
    [
        (nn.MSELoss(), np.zeros((0, 3))),
        (nn.L1Loss(), np.zeros((0, 3))),
        (nn.HuberLoss(), np.zeros((0, 3))),
        (nn.BCEWithLogitsLoss(), np.zeros((0, 3))),
        (nn.CrossEntropyLoss(), np.zeros(0, np.int64)),
    ],
)
def test_losses_of_empty_batches_mean_nan_sum_zero(loss, target):
    """The mean of nothing is 0/0 = NaN and the sum 0, as NumPy's and PyTorch's."""
    x = cr.tensor(np.zeros((0, 3)))
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(loss(x, target).item())
        loss.reduction = "sum"
        assert loss(x, target).item() == 0.0


# --- schedulers: a period of 0 is refused when built (PyTorch divides by zero at step()) --------

def test_schedulers_refuse_a_zero_period():
    opt = cr.optim.SGD([cr.tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        cr.optim.lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=0)


def test_cosine_annealing_at_extreme_learning_rates():
    """eta_t = eta_min + (eta_0 - eta_min) (1 + cos(pi t / T)) / 2, finite at 1e300."""
    for lr in (1e300, 1e-300):
        p = cr.tensor(np.zeros(1), requires_grad=True)
        opt = cr.optim.SGD([p], lr=lr)
        sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        got = []
        for _ in range(4):
            opt.step()
            sched.step()
            got.append(opt.param_groups[0]["lr"])
        expected = [lr * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
