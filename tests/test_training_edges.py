"""Training and data edges: clip_grad_norm_ with NaN/inf gradients (PyTorch's results,
derived by hand below), fit restoring weights and optimizer state together after a
non-finite loss, the model's train/eval mode restored on every exit, a DataLoader that
reads the dataset's current arrays."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import fit


def _params(*grads):
    ps = []
    for g in grads:
        p = cr.tensor(np.zeros(len(g)), requires_grad=True)
        p.grad = cr.tensor(np.array(g, dtype=np.float64))
        ps.append(p)
    return ps


@pytest.mark.parametrize("order", [[[3.0, -1.0], [math.nan]], [[math.nan], [3.0, -1.0]]])
def test_inf_norm_sees_nan_in_any_parameter(order):
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_(_params(*order), 1.0, norm_type=math.inf, error_if_nonfinite=True)
    ps = _params(*order)
    total = nn.utils.clip_grad_norm_(ps, 1.0, norm_type=math.inf)
    # PyTorch: total nan, and every gradient multiplied by clamp(nan, max=1) = nan.
    assert math.isnan(float(total.item()))
    assert all(np.isnan(p.grad.data).all() for p in ps)


def test_infinite_and_overflowing_norms_scale_by_zero():
    ps = _params([3.0, -1.0], [math.inf])
    total = nn.utils.clip_grad_norm_(ps, 1.0)
    assert float(total.item()) == math.inf
    # max_norm / (inf + 1e-6) = 0: finite entries become 0, inf * 0 = nan (as PyTorch).
    assert ps[0].grad.data.tolist() == [0.0, 0.0] and math.isnan(ps[1].grad.data[0])
    ps = _params([1e300, 1e300])  # the squares overflow: inf, as PyTorch computes it
    assert float(nn.utils.clip_grad_norm_(ps, 1.0).item()) == math.inf
    assert ps[0].grad.data.tolist() == [0.0, 0.0]
    ps = _params([0.5, 0.1])  # under max_norm: untouched
    assert float(nn.utils.clip_grad_norm_(ps, 1.0).item()) == pytest.approx(math.hypot(0.5, 0.1))
    assert ps[0].grad.data.tolist() == [0.5, 0.1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_loss_restores_weights_and_adam_state_together():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2)).astype(np.float32)
    y = (X @ np.array([[1.0], [2.0]], np.float32)).astype(np.float32)
    cr.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    seen = []  # (weights, optimizer state) before each step whose loss was finite
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        loss = nn.MSELoss()(out, target)
        if len(calls) == 4:  # the 4th batch diverges
            return loss * float("nan")
        seen.append(([p.data.copy() for p in model.parameters()], opt.state_dict()))
        return loss

    with pytest.raises(FloatingPointError, match="batch 4"):
        fit(model, loss_fn, opt, (X, y), 1, batch_size=8, progress=False, metrics=None)
    weights, state = seen[-1]  # before the 3rd step: the last that gave a finite loss
    for p, w in zip(model.parameters(), weights, strict=True):
        np.testing.assert_array_equal(p.data, w)
    now = opt.state_dict()
    assert now["state"].keys() == state["state"].keys()
    for i in state["state"]:
        assert now["state"][i]["step"] == state["state"][i]["step"] == 2
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(now["state"][i][k], state["state"][i][k])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_compiled_fit_that_diverges_restores_as_the_eager_one_does():
    # SGD with momentum and a learning rate far too large: the loss overflows after a few
    # steps. Compiled or not, fit must leave the same weights and the same momentum buffers
    # (those of the last step whose loss was finite), never one step's weights with another
    # step's optimizer state.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3)).astype(np.float32) * 10
    y = rng.standard_normal((64, 1)).astype(np.float32)
    ends = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = nn.Linear(3, 1)
        opt = optim.SGD(model.parameters(), lr=5.0, momentum=0.9)
        with pytest.raises(FloatingPointError):
            fit(model, nn.MSELoss(), opt, (X, y), 3, batch_size=8, progress=False,
                metrics=None, compile=compiled)
        ends.append(([p.data.copy() for p in model.parameters()], opt.state_dict()))
    (w_eager, s_eager), (w_compiled, s_compiled) = ends
    for a, b in zip(w_eager, w_compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert s_eager["state"].keys() == s_compiled["state"].keys() != set()
    for i in s_eager["state"]:
        np.testing.assert_allclose(s_eager["state"][i]["momentum_buffer"],
                                   s_compiled["state"][i]["momentum_buffer"], rtol=1e-5)


def _mlp_and_adam():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    return model, optim.Adam(model.parameters(), lr=0.05, amsgrad=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad", [2, 4])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_after_a_nan_batch_fit_leaves_every_state_of_the_last_good_batch(compiled, bad):
    # Batch `bad` has nan inputs. Eager fit stops before its step; compiled fit has already
    # stepped on it (nan gradients: nan moments, step count + 1). Either way fit must leave
    # the weights and ALL the optimizer state (step counts, both moments, amsgrad's maximum,
    # the learning rate) of a run that stopped before the last batch whose loss was finite:
    # the state before step bad - 1, which an independent eager loop computes here.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((48, 3)).astype(np.float32)
    y = rng.standard_normal((48, 1)).astype(np.float32)
    X[(bad - 1) * 8:bad * 8] = np.nan
    ref_model, ref_opt = _mlp_and_adam()
    for i in range(bad - 2):  # the steps that stand: batches 1 .. bad - 2
        xb, yb = cr.tensor(X[i * 8:i * 8 + 8]), cr.tensor(y[i * 8:i * 8 + 8])
        ref_opt.zero_grad()
        nn.MSELoss()(ref_model(xb), yb).backward()
        ref_opt.step()
    model, opt = _mlp_and_adam()
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    with pytest.raises(FloatingPointError, match=f"batch {bad};"):
        fit(model, nn.MSELoss(), opt, loader, 1, progress=False, metrics=None,
            compile=compiled)
    same = np.testing.assert_allclose if compiled else np.testing.assert_array_equal
    tol = dict(rtol=1e-6, atol=1e-7) if compiled else {}
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        same(p.data, q.data, **tol)
    got, want = opt.state_dict(), ref_opt.state_dict()
    assert got["param_groups"] == want["param_groups"]
    assert got["state"].keys() == want["state"].keys()
    assert (got["state"] == {}) == (bad == 2)  # rolled back to before the first step
    for i, st in want["state"].items():
        assert sorted(got["state"][i]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
        assert got["state"][i]["step"] == st["step"] == bad - 2
        for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert np.isfinite(got["state"][i][k]).all()
            same(got["state"][i][k], st[k], **tol)


@pytest.mark.parametrize("start_in_eval", [True, False])
def test_fit_restores_the_mode_on_every_exit(start_in_eval):
    X = np.zeros((8, 2), np.float32)
    y = np.zeros((8, 1), np.float32)
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Linear(2, 1))
    model.train(not start_in_eval)

    def interrupted(out, target):
        assert model.training  # fit trains in train() mode
        raise KeyboardInterrupt

    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(KeyboardInterrupt):
        fit(model, interrupted, opt, (X, y), 1, progress=False, metrics=None)
    assert all(m.training is (not start_in_eval) for m in model.modules())
    fit(model, nn.MSELoss(), opt, (X, y), 1, progress=False, metrics=None)
    assert all(m.training is (not start_in_eval) for m in model.modules())


def test_the_loader_reads_the_current_arrays():
    X64 = np.arange(12, dtype=np.float64).reshape(6, 2)
    y = np.arange(6)
    ds = TensorDataset(X64, y)
    loader = DataLoader(ds, batch_size=6)
    first = next(iter(loader))[0]
    assert first.dtype == np.float32
    X64 -= X64.mean(0)  # in place: the dataset shows it, and so must the loader
    again = next(iter(loader))[0]
    np.testing.assert_array_equal(again.data, ds[np.arange(6)][0].astype(np.float32))
    np.testing.assert_array_equal(again.data[:, 0], [-5.0, -3.0, -1.0, 1.0, 3.0, 5.0])
