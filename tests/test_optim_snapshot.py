"""chainrule.optim.snapshot: a checkpoint taken before a step and put back after it gives
the weights as they were and exactly the optimizer state that load_state_dict of a
state_dict() taken at the same moment gives, for every optimizer and option that keeps
state; FlatCopy over mixed dtypes and strided arrays."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim.snapshot import Checkpoint, FlatCopy

OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
]


def _params(rng):
    # float32 and float64 parameters, so that the copy spans two dtypes
    return [
        cr.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True),
        cr.tensor(rng.standard_normal(4), requires_grad=True),
        cr.tensor(rng.standard_normal(()), requires_grad=True),
    ]


def _step(opt, params, rng, value=None):
    for p in params:
        g = rng.standard_normal(p.data.shape) if value is None else np.full(p.data.shape, value)
        p.grad = cr.tensor(g.astype(p.data.dtype))
    opt.step()


def _assert_same_state(a, b):
    """Two state_dicts hold the same entries: keys, step counts and arrays, bit for bit."""
    assert a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        assert a["state"][i].keys() == b["state"][i].keys()
        for k, v in a["state"][i].items():
            w = b["state"][i][k]
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype and v.shape == w.shape
                np.testing.assert_array_equal(v, w)
            else:
                assert type(v) is type(w) and v == w, (i, k, v, w)
    assert a["param_groups"] == b["param_groups"]


@pytest.mark.parametrize("cls, kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_nan_step_is_undone_exactly(cls, kw):
    rng = np.random.default_rng(0)
    params = _params(rng)
    opt = cls(params, **kw)
    copy = Checkpoint(params, opt)
    for _ in range(2):  # the copy is retaken before each step, as fit does
        copy.take()
        _step(opt, params, rng)
    copy.take()
    before = opt.state_dict()
    weights = [p.data.copy() for p in params]
    versions = [p._version for p in params]
    _step(opt, params, rng, value=np.nan)  # moments and step counts move, to nan
    opt.param_groups[0]["lr"] = 123.0  # and a hyper-parameter changes
    assert any(
        np.isnan(v).any() for st in opt.state_dict()["state"].values() for v in st.values()
        if isinstance(v, np.ndarray)
    )
    copy.restore()
    _assert_same_state(opt.state_dict(), before)
    for p, w, v in zip(params, weights, versions, strict=True):
        assert p.data.dtype == w.dtype
        np.testing.assert_array_equal(p.data, w)
        assert p._version > v + 1  # bumped by the step and again by the restore
    # The optimizer goes on as one that never took the bad step.
    twin_rng = np.random.default_rng(5)
    twin_params = [cr.tensor(p.data.copy(), requires_grad=True) for p in params]
    twin = cls(twin_params, **kw)
    twin.load_state_dict(before)
    _step(opt, params, np.random.default_rng(5))
    _step(twin, twin_params, twin_rng)
    _assert_same_state(opt.state_dict(), twin.state_dict())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_state_created_after_the_copy_is_removed():
    rng = np.random.default_rng(1)
    params = _params(rng)
    opt = optim.Adam(params, lr=0.01)
    copy = Checkpoint(params, opt)  # before any step: no state at all
    _step(opt, params, rng)
    copy.restore()
    assert opt.state_dict()["state"] == {}
    # amsgrad switched on mid-run adds max_exp_avg_sq; undoing the step removes it
    _step(opt, params, rng)
    copy.take()
    opt.param_groups[0]["amsgrad"] = True
    _step(opt, params, rng, value=np.nan)
    assert "max_exp_avg_sq" in opt.state_dict()["state"][0]
    copy.restore()
    state = opt.state_dict()
    assert state["param_groups"][0]["amsgrad"] is False
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert state["state"][0]["step"] == 1  # the step after the first undo


def test_a_copy_follows_a_state_replaced_by_load_state_dict():
    rng = np.random.default_rng(2)
    params = _params(rng)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _step(opt, params, rng)
    saved = opt.state_dict()
    copy = Checkpoint(params, opt)
    _step(opt, params, rng)
    opt.load_state_dict(saved)  # new arrays: the copy must read them, not the old ones
    _step(opt, params, rng)
    copy.take()
    expected = opt.state_dict()
    _step(opt, params, rng)
    copy.restore()
    _assert_same_state(opt.state_dict(), expected)


def test_the_restored_state_is_not_the_copys_buffers():
    rng = np.random.default_rng(3)
    params = _params(rng)
    opt = optim.Adam(params, lr=0.01)
    _step(opt, params, rng)
    copy = Checkpoint(params, opt)
    copy.restore()
    expected = opt.state_dict()
    _step(opt, params, rng)  # updates the restored arrays in place
    copy.restore()  # the copy still holds the state it took
    _assert_same_state(opt.state_dict(), expected)


def test_optimizers_with_their_own_state_dicts_keep_them():
    class Counting(optim.SGD):
        def __init__(self, params, **kw):
            super().__init__(params, **kw)
            self.count = 0

        def state_dict(self):
            return {**super().state_dict(), "count": self.count}

        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            self.count = state_dict["count"]

    rng = np.random.default_rng(4)
    params = _params(rng)
    opt = Counting(params, lr=0.1)
    copy = Checkpoint(params, opt)
    opt.count = 7
    copy.restore()
    assert opt.count == 0
    # An optimizer without state dicts keeps its state; the weights are still put back.
    plain = object()
    copy = Checkpoint(params, plain)
    start = params[0].data.copy()
    params[0].data += 1.0
    copy.restore()
    np.testing.assert_array_equal(params[0].data, start)


def test_a_parameter_given_a_new_array_is_copied_from_it():
    rng = np.random.default_rng(6)
    params = _params(rng)
    opt = optim.SGD(params, lr=0.1)
    copy = Checkpoint(params, opt)
    params[1].data = np.arange(4.0)  # a new array: the copy must read it from now on
    copy.take()
    params[1].data[:] = -1.0
    copy.restore()
    np.testing.assert_array_equal(params[1].data, np.arange(4.0))


def test_flat_copy_of_mixed_dtypes_and_strided_arrays():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, 6))
    arrays = [
        rng.standard_normal((2, 3)).astype(np.float32),
        base[:, ::2],  # not contiguous: copied on its own
        base.T,  # not C-contiguous either
        rng.standard_normal(5),
        np.array(2.5),
        np.zeros((0, 3)),
    ]
    copy = FlatCopy(arrays)
    expected = [a.copy() for a in arrays]
    for a in arrays:
        a += 1.0  # later changes do not reach the copy ...
    for c, e in zip(copy.copies(), expected, strict=True):
        assert c.dtype == e.dtype and c.shape == e.shape
        np.testing.assert_array_equal(c, e)
    copy.take()  # ... until it is taken again
    for c, a in zip(copy.copies(), arrays, strict=True):
        np.testing.assert_array_equal(c, a)
