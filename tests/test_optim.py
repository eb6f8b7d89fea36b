"""cr.optim against hand-written NumPy versions of PyTorch's update formulas."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

STEPS = 6


def _grads(seed, shape, steps=STEPS):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def _run(opt_cls, w0, grads, **kw):
    """Drive an optimizer with prescribed gradients; return the weights after each step."""
    p = cr.tensor(w0.copy(), requires_grad=True)
    opt = opt_cls([p], **kw)
    out = []
    for g in grads:
        p.grad = cr.tensor(g)
        opt.step()
        out.append(p.data.copy())
    return out


# --- reference implementations: the formulas of PyTorch's documentation, written plainly ---


def ref_sgd(
    w, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False
):
    b = None
    out = []
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        g = g + weight_decay * w
        if momentum:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
        out.append(w)
    return out


def ref_adam(
    w,
    grads,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled=False,
):
    b1, b2 = betas
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    vmax = np.zeros_like(w)
    out = []
    for t, g in enumerate(grads, 1):
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        vmax = np.maximum(vmax, v)
        v_used = vmax if amsgrad else v
        v_hat = v_used / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


def ref_rmsprop(
    w, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    s = np.zeros_like(w)
    a = np.zeros_like(w)
    b = np.zeros_like(w)
    out = []
    for g in grads:
        g = g + weight_decay * w
        s = alpha * s + (1 - alpha) * g**2
        if centered:
            a = alpha * a + (1 - alpha) * g
            d = np.sqrt(s - a**2) + eps
        else:
            d = np.sqrt(s) + eps
        if momentum > 0:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
        out.append(w)
    return out


def ref_adagrad(
    w, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
):
    s = np.full_like(w, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, 1):
        g = g + weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        w = w - clr * g / (np.sqrt(s) + eps)
        out.append(w)
    return out


CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, maximize=True)),
    (optim.Adam, ref_adam, dict()),
    (optim.Adam, ref_adam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.01, amsgrad=True)),
    (
        optim.AdamW,
        lambda w, g, **k: ref_adam(w, g, decoupled=True, **k),
        dict(lr=0.01, weight_decay=0.1),
    ),
    (
        optim.AdamW,
        lambda w, g, **k: ref_adam(w, g, decoupled=True, **k),
        dict(lr=0.01, weight_decay=0.05, amsgrad=True),
    ),
    (optim.RMSprop, ref_rmsprop, dict()),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, weight_decay=0.1)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, alpha=0.9)),
    (optim.Adagrad, ref_adagrad, dict()),
    (
        optim.Adagrad,
        ref_adagrad,
        dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5),
    ),
]


@pytest.mark.parametrize(
    "cls,ref,kw", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)]
)
def test_update_formula(cls, ref, kw):
    w0 = np.random.default_rng(0).standard_normal((3, 4))
    grads = _grads(1, (3, 4))
    got = _run(cls, w0, grads, **kw)
    want = ref(w0.copy(), grads, **kw)
    for t, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {t + 1}")


def test_amsgrad_differs_from_adam_when_gradients_shrink():
    w0 = np.ones(3)
    grads = [np.full(3, 10.0)] + [np.full(3, 0.1)] * 5
    a = _run(optim.Adam, w0, grads, lr=0.1)[-1]
    b = _run(optim.Adam, w0, grads, lr=0.1, amsgrad=True)[-1]
    assert not np.allclose(a, b)


def test_defaults_are_pytorchs():
    p = [cr.tensor([1.0], requires_grad=True)]
    assert optim.SGD(p).defaults["lr"] == 1e-3
    d = optim.Adam(p).defaults
    assert (d["lr"], d["betas"], d["eps"], d["weight_decay"], d["amsgrad"]) == (
        1e-3,
        (0.9, 0.999),
        1e-8,
        0.0,
        False,
    )
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    d = optim.RMSprop(p).defaults
    assert (d["lr"], d["alpha"], d["eps"], d["momentum"], d["centered"]) == (
        1e-2,
        0.99,
        1e-8,
        0.0,
        False,
    )
    d = optim.Adagrad(p).defaults
    assert (d["lr"], d["lr_decay"], d["eps"], d["initial_accumulator_value"]) == (
        1e-2,
        0.0,
        1e-10,
        0.0,
    )


def test_float32_stays_float32_and_in_place():
    p = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    buf = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = cr.tensor(np.ones(4, np.float32))
    opt.step()
    assert p.data is buf and p.data.dtype == np.float32
    assert opt.state[p]["exp_avg"].dtype == np.float32


def test_param_groups_have_their_own_hyperparameters():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1, momentum=0.0)
    a.grad = cr.tensor([1.0, 1.0])
    b.grad = cr.tensor([1.0])
    opt.step()
    np.testing.assert_allclose(a.data, [0.9, 1.9], rtol=1e-6)
    np.testing.assert_allclose(b.data, [2.0], rtol=1e-6)
    assert opt.param_groups[1]["momentum"] == 0.0
    c = cr.tensor([0.0], requires_grad=True)
    opt.add_param_group({"params": c, "lr": 0.5})
    assert len(opt.param_groups) == 3
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_params_without_grad_are_skipped_and_zero_grad():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert b.data.tolist() == [2.0] and a.data[0] == pytest.approx(0.7)
    opt.zero_grad()
    assert a.grad is None
    (a * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert a.grad.data.tolist() == [0.0]


def test_step_bumps_the_version_so_stale_graphs_fail():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="in place"):
        y.backward()


def test_state_dict_round_trip_continues_identically(tmp_path):
    w0 = np.random.default_rng(3).standard_normal(5)
    grads = _grads(4, (5,), steps=8)
    straight = _run(optim.Adam, w0, grads, lr=0.05, amsgrad=True)[-1]

    p = cr.tensor(w0.copy(), requires_grad=True)
    opt = optim.Adam([p], lr=0.05, amsgrad=True)
    for g in grads[:4]:
        p.grad = cr.tensor(g)
        opt.step()
    cr.save({"w": p.data, "opt": opt.state_dict()}, tmp_path / "ckpt")
    ck = cr.load(tmp_path / "ckpt")
    q = cr.tensor(ck["w"], requires_grad=True)
    opt2 = optim.Adam([q], lr=999.0)
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for g in grads[4:]:
        q.grad = cr.tensor(g)
        opt2.step()
    np.testing.assert_array_equal(q.data, straight)


def test_state_dict_is_pytorch_shaped():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    a.grad = cr.tensor([1.0])
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert list(sd["state"]) == [0] and sd["state"][0]["momentum_buffer"].tolist() == [1.0]


def test_state_dict_is_a_snapshot_that_later_steps_leave_alone():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = cr.tensor([0.5, 0.25])
    opt.step()
    sd = opt.state_dict()
    # Adam's first step by hand: m = (1 − β1)·g, v = (1 − β2)·g²
    expected_m, expected_v = [0.1 * 0.5, 0.1 * 0.25], [0.001 * 0.25, 0.001 * 0.0625]
    opt.step()
    opt.step()
    assert sd["state"][0]["step"] == 1 and opt.state_dict()["state"][0]["step"] == 3
    np.testing.assert_allclose(sd["state"][0]["exp_avg"], expected_m, rtol=1e-6)  # float32
    np.testing.assert_allclose(sd["state"][0]["exp_avg_sq"], expected_v, rtol=1e-6)


def test_load_state_dict_mismatch():
    a = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    other = optim.SGD(
        [cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)], lr=0.1
    )
    with pytest.raises(ValueError, match="2 parameters in the saved state and 1 here"):
        opt.load_state_dict(other.state_dict())


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad])
def test_bad_input(cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate: -0.1"):
        cls([cr.tensor([1.0], requires_grad=True)], lr=-0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        cls([cr.tensor([1.0])], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        cls(cr.tensor([1.0], requires_grad=True), lr=0.1)


def test_more_bad_input():
    p = [cr.tensor([1.0], requires_grad=True)]
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight decay"):
        optim.SGD(p, lr=0.1, weight_decay=-1)


# --- schedulers ---------------------------------------------------------------------------


def _lrs(make_sched, epochs=12, lr=0.1):
    p = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=lr)
    sched = make_sched(opt)
    seen = []
    for _ in range(epochs):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    return seen


def test_step_lr():
    got = _lrs(lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    np.testing.assert_allclose(got, [0.1 * 0.5 ** (e // 3) for e in range(12)], rtol=1e-12)


def test_exponential_lr():
    got = _lrs(lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.9))
    np.testing.assert_allclose(got, [0.1 * 0.9**e for e in range(12)], rtol=1e-12)


def test_cosine_annealing_lr_including_past_t_max():
    eta_min, T = 0.01, 5
    got = _lrs(
        lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta_min), epochs=14
    )
    want = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(14)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_scheduler_state_dict_and_initial_lr():
    p = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    s = optim.lr_scheduler.StepLR(opt, step_size=2)
    s.step()
    s.step()
    assert opt.param_groups[0]["initial_lr"] == 0.1
    sd = s.state_dict()
    assert sd["last_epoch"] == 2 and "optimizer" not in sd
    with pytest.raises(ValueError, match="step_size"):
        optim.lr_scheduler.StepLR(opt, step_size=0)


def test_resuming_a_scheduler_with_last_epoch_keeps_the_loaded_rate():
    # Built with last_epoch >= 0 over rates restored from a checkpoint, ExponentialLR and
    # CosineAnnealingLR leave the current rate as it is (PyTorch's initial step); later
    # steps carry on from it. StepLR's first step applies its rule (epoch 6 is a multiple of 3).
    def resumed(make, lr=0.07):
        p = cr.tensor([1.0], requires_grad=True)
        opt = optim.SGD([{"params": [p], "initial_lr": 0.1}], lr=lr)
        sched = make(opt)
        seen = [opt.param_groups[0]["lr"]]
        for _ in range(3):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["lr"])
        return sched, seen

    sched, seen = resumed(lambda o: optim.lr_scheduler.ExponentialLR(o, 0.5, last_epoch=5))
    np.testing.assert_allclose(seen, [0.07, 0.035, 0.0175, 0.00875], rtol=1e-12)
    assert sched.last_epoch == 9
    T, eta = 8, 0.01
    sched, seen = resumed(
        lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta, last_epoch=1)
    )
    want = [0.07]
    for e in (3, 4, 5):  # the recursive form, from the kept rate
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        want.append(ratio * (want[-1] - eta) + eta)
    np.testing.assert_allclose(seen, want, rtol=1e-12)
    _, seen = resumed(lambda o: optim.lr_scheduler.StepLR(o, 3, 0.5, last_epoch=5))
    np.testing.assert_allclose(seen, [0.035, 0.035, 0.035, 0.0175], rtol=1e-12)
    with pytest.raises(KeyError, match="initial_lr"):
        p = cr.tensor([1.0], requires_grad=True)
        optim.lr_scheduler.ExponentialLR(optim.SGD([p], lr=0.1), 0.5, last_epoch=3)


def test_state_iterates_over_parameters():
    p = cr.tensor([1.0], requires_grad=True)
    opt = optim.Adam([p])
    p.grad = cr.tensor([1.0])
    opt.step()
    ((key, st),) = opt.state.items()
    assert key is p and st["step"] == 1 and list(opt.state) == [p]
