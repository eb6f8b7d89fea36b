"""cr.compile: transforms, pytrees, guards and the cache, value-dependent control flow,
threads and memory. Every compiled result is compared with the eager one, on inputs other
than those it was traced with."""

import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import TraceError

TOL = dict(rtol=1e-12, atol=1e-12)
rng = np.random.default_rng(0)


def skydiver(t):
    return 101325 * cr.exp(-0.0001 * (4000 - 0.5 * 9.8 * t ** 2))


def mlp_loss(params, x, y):
    h = cr.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"]
    return cr.mean((out - y) ** 2)


def _params(r):
    return {"w1": r.standard_normal((3, 5)), "b1": r.standard_normal(5),
            "w2": r.standard_normal((5, 2))}


def _close(a, b):
    la, lb = cr.autodiff.pytree.tree_leaves(a), cr.autodiff.pytree.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x = x.data if isinstance(x, cr.Tensor) else x
        y = y.data if isinstance(y, cr.Tensor) else y
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **TOL)


def test_grad_of_a_scalar_function_and_its_source():
    dP = cr.compile(cr.grad(skydiver))
    for t in (10.0, 3.0, 12.5):
        _close(dP(t), cr.grad(skydiver)(t))
    info = dP.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    src = dP.source
    assert "math.exp" in src  # a graph of 0-d values is Python-float code
    assert "# chain rule through" in src and "exp(" in src
    assert "def " in src and "return" in src


@pytest.mark.parametrize("transform", ["grad", "value_and_grad"])
def test_transforms_of_a_pytree_function(transform):
    fn = getattr(cr, transform)(mlp_loss)
    compiled = cr.compile(fn)
    r = np.random.default_rng(1)
    x, y = r.standard_normal((4, 3)), r.standard_normal((4, 2))
    for _ in range(3):
        p = _params(r)
        _close(compiled(p, x, y), fn(p, x, y))
    assert compiled.cache_info().misses == 1
    assert "np.tanh" in compiled.source and "@" in compiled.source or "matmul" in \
        compiled.source


def test_hvp_jacobian_and_compositions():
    f = lambda x: cr.sum(cr.sin(x) * cr.exp(x))  # noqa: E731
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    cases = {
        "hvp": (lambda x, v: cr.hvp(f, (x,), (v,)), (x, v)),
        "grad of grad": (cr.grad(lambda x: cr.sum(cr.grad(f)(x) ** 2)), (x,)),
        "jacobian of grad": (cr.jacobian(cr.grad(f)), (x,)),
        "hessian": (cr.hessian(f), (x,)),
        "jvp of grad": (lambda x, v: cr.jvp(cr.grad(f), (x,), (v,)), (x, v)),
    }
    for name, (fn, args) in cases.items():
        compiled = cr.compile(fn)
        _close(compiled(*args), fn(*args))
        other = tuple(a + 0.3 for a in args)
        _close(compiled(*other), fn(*other))
        assert compiled.cache_info().hits == 1, name


def test_tensor_inputs_give_tensors_and_plain_inputs_give_arrays():
    f = cr.compile(lambda x: cr.sin(x) * 2)
    out = f(np.ones(3))
    assert type(out) is np.ndarray
    t = f(cr.tensor(np.ones(3)))
    assert isinstance(t, cr.Tensor)
    _close(t, np.sin(np.ones(3)) * 2)


def test_backward_inside_sets_grad_of_input_tensors():
    def step(w, x):
        loss = cr.sum((x @ w) ** 2)
        loss.backward()
        return loss

    c = cr.compile(step)
    for seed in range(3):
        r = np.random.default_rng(seed)
        x = r.standard_normal((4, 3))
        w1 = cr.tensor(r.standard_normal((3, 2)), requires_grad=True)
        w2 = cr.tensor(w1.data.copy(), requires_grad=True)
        _close(c(w1, x), step(w2, x))
        _close(w1.grad, w2.grad)


def test_a_numpy_scalar_beside_a_tensor_stays_weak_in_the_replay():
    # Eager keeps float32 for x * np.float64(2) (a NumPy scalar is weak beside a Tensor, as
    # in PyTorch); the traced op must record it as such, or replays would give float64.
    def step(w):
        loss = cr.sum(w * np.float64(2.0) + np.float64(1.0) * w)
        loss.backward()
        return loss

    c = cr.compile(step)
    for seed in range(3):  # the first call traces, the others replay
        r = np.random.default_rng(seed)
        w1 = cr.tensor(r.standard_normal(4).astype(np.float32), requires_grad=True)
        w2 = cr.tensor(w1.data.copy(), requires_grad=True)
        got, want = c(w1), step(w2)
        assert got.dtype == want.dtype == np.float32
        assert w1.grad.dtype == w2.grad.dtype == np.float32
        _close(got, want)
        _close(w1.grad, w2.grad)


def test_a_seed_that_requires_grad_leaves_the_grad_eager_leaves():
    # y.backward(v) with v requiring grad: eager's .grad joins no graph (no create_graph);
    # the traced first call must leave the same, as replays do.
    def step(w, v):
        (w * 3.0).backward(v)
        return w.grad

    c = cr.compile(step)
    for shift in range(2):  # trace, then replay
        w1, w2 = (cr.tensor(np.ones(3), requires_grad=True) for _ in range(2))
        v = cr.tensor(np.arange(3.0) + shift, requires_grad=True)
        c(w1, v)
        step(w2, v)
        assert not w1.grad.requires_grad and not w2.grad.requires_grad
        _close(w1.grad, w2.grad)


def test_grad_set_to_none_is_replayed_for_a_tensor_read_nowhere_else():
    # `p.grad = None` on a parameter the step reads nothing else of: eager clears it on every
    # call, so the replay must too (the trace did not know the tensor and dropped it).
    used = cr.tensor(np.ones(3), requires_grad=True)
    unused = cr.tensor(np.ones(3), requires_grad=True)

    def step():
        for p in (used, unused):
            p.grad = None
        loss = cr.sum(used * 2.0)
        loss.backward()
        return loss

    c = cr.compile(step)
    for _ in range(3):  # the trace, then replays
        unused.grad = cr.tensor(np.zeros(3))  # set from outside between calls
        c()
        assert unused.grad is None
        _close(used.grad, np.full(3, 2.0))


def test_guards_retrace_and_say_why():
    f = cr.compile(lambda x, n: cr.sum(x ** n))
    f(np.ones(3), 2)
    f(np.ones(3), 2)
    f(np.ones(4), 2)
    f(np.ones(4, dtype=np.float32), 2)
    f(np.ones(4, dtype=np.float32), 3)
    _close(f(np.full(4, 2.0, dtype=np.float32), 3), 32.0)
    info = f.cache_info()
    assert (info.hits, info.misses) == (2, 4)
    why = info.retraces
    assert why[0] == "first call"
    assert "(3,)" in why[1] and "(4,)" in why[1]
    assert "float32" in why[2]
    assert "2 -> 3" in why[3]
    with cr.no_grad():
        f(np.ones(3), 2)
    assert "grad mode" in f.cache_info().retraces[-1]


def test_cache_is_bounded_and_repeated_retracing_warns_once():
    f = cr.compile(lambda x: x * 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 12):
            f(np.ones(n))
    assert f.cache_info().currsize == 8
    assert sum("traced" in str(w.message) for w in caught) == 1


def test_static_argnums():
    def f(x, mode):
        return cr.sin(x) if mode == "sin" else cr.cos(x)

    c = cr.compile(f, static_argnums=(1,))
    x = rng.standard_normal(3)
    _close(c(x, "sin"), np.sin(x))
    _close(c(x, "cos"), np.cos(x))
    _close(c(x + 1, "sin"), np.sin(x + 1))
    assert c.cache_info().misses == 2


@pytest.mark.parametrize("body", [
    lambda t: t * 2 if t > 0 else t,
    lambda t: float(t) * t,
    lambda t: t.item() * t,
    lambda t: t * 2 if bool(t.sum()) else t,
])
def test_value_dependent_control_flow_names_the_line(body):
    c = cr.compile(body)
    with pytest.raises(TraceError) as err:
        c(np.array(1.5))
    message = str(err.value)
    assert "test_compile.py" in message  # the user's line
    assert "static_argnums" in message and "fallback=True" in message


def test_fallback_runs_eagerly_with_one_warning():
    c = cr.compile(lambda t: t * 2 if t > 0 else -t, fallback=True)
    with pytest.warns(RuntimeWarning, match="eagerly"):
        _close(c(np.array(1.5)), 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _close(c(np.array(-1.5)), 1.5)  # eager: the branch follows the value


def test_constants_are_folded_and_common_subexpressions_shared():
    w = np.arange(3.0)

    def f(x):
        a = cr.sin(x) * (w * 2 + 1)
        b = cr.sin(x) * (w * 2 + 1)
        dead = cr.exp(x)  # noqa: F841
        return a + b

    c = cr.compile(f)
    x = rng.standard_normal(3)
    _close(c(x), f(x).data)
    src = c.source
    assert src.count("np.sin") == 1
    assert "np.exp" not in src
    body = [ln for ln in src.splitlines() if "=" in ln and "input" not in ln]
    assert len(body) == 3  # sin, one multiply (shared), add


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_signed_zero_literals_stay_apart(backend):
    # Literals are shared by value, but 0.0 == -0.0: sharing them would turn -inf into inf.
    def f(x):
        return 1.0 / (x * 0.0), 1.0 / (x * -0.0), x * 2.5 + x * 2.5

    x = np.array([1.0, 2.0])
    with np.errstate(divide="ignore"):
        c = cr.compile(f, backend=backend)
        c(x)
        got = c(x)  # the replay
        want = [t.data for t in f(cr.tensor(x))]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.all(got[0] == np.inf) and np.all(got[1] == -np.inf)


@pytest.mark.parametrize("backend", ["source", "tape"])
@pytest.mark.parametrize("zero", [lambda: 0, lambda: 0.0, lambda: cr.zeros(2)])
def test_adding_zero_is_kept_where_it_changes_the_sign_of_zero(backend, zero):
    # -0.0 + 0.0 is +0.0: x + 0 is not x itself for floats (x - 0 and x * 1 are).
    def f(x):
        return x + zero(), zero() + x, x - 0.0, x * 1.0

    c = cr.compile(f, backend=backend)
    c(cr.tensor([1.0, 2.0]))
    got = c(cr.tensor([-0.0, 3.0]))  # the replay
    assert list(np.signbit(got[0].data)) == [False, False]
    assert list(np.signbit(got[1].data)) == [False, False]
    assert list(np.signbit(got[2].data)) == [True, False]
    assert list(np.signbit(got[3].data)) == [True, False]


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_a_folded_output_is_a_new_array_on_every_call(backend):
    # Values computed from constants are folded into one; returned, each call must give a
    # copy, or a caller changing what it got would change what later calls return.
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = x * 2.0 + 1.0
        y.sum().backward()
        return y, cr.ones(3, dtype=np.float64) * 2, x.grad  # x.grad is constant too

    c = cr.compile(f, backend=backend)
    x = np.arange(3.0)
    for _ in range(3):
        y, twos, g = c(x)
        np.testing.assert_array_equal(y, 2 * x + 1)
        np.testing.assert_array_equal(twos, [2.0, 2.0, 2.0])
        np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
        twos[...] = 99.0
        g[...] = -1.0


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_a_fractional_power_of_a_negative_float_is_never_complex(backend):
    # 0-d float64 programs run on Python floats, whose ** gives (-1.0) ** 0.5 == 1j where
    # NumPy gives nan: the compiled code must not return a complex number.
    c = cr.compile(lambda x: x ** 0.5 + x ** 2, backend=backend)
    assert float(c(cr.tensor(np.array(4.0))).data) == 18.0
    try:
        got = c(cr.tensor(np.array(-1.0)))
    except ValueError:
        return  # Python's math has no nan here: an error, not a wrong number
    assert not np.iscomplexobj(got.data) and np.isnan(got.data)


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_a_write_through_a_view_keeps_identities_from_sharing_its_memory(backend):
    # x * 1 is x, unless the result is changed in place, here through a view of it: then
    # it must stay a copy, or the caller's x changes. And a value computed from a view of
    # y keeps y's old values when y is changed in place afterwards.
    def write_into_view(x):
        a = x * 1
        a.reshape(6)[0] = 100.0
        return a

    def view_then_write(x):
        y = x * 2
        a = y.T * 1
        y += 1
        return a

    cases = ((write_into_view, lambda i: np.arange(6.0).reshape(2, 3) + i),
             (view_then_write, lambda i: np.array([[1.0 + i, 2.0]])))
    for f, make in cases:
        c = cr.compile(f, backend=backend)
        for i in range(3):
            x, x_eager = cr.tensor(make(i)), cr.tensor(make(i))
            np.testing.assert_array_equal(c(x).data, f(x_eager).data)
            np.testing.assert_array_equal(x.data, make(i))  # the caller's input unchanged


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_a_tensor_made_inside_from_constants_is_new_on_every_call(backend):
    # cr.zeros(3) and cr.tensor(np.ones(3)) inside are constants of the program, but eager
    # makes them anew on each call: changed in place, or returned and changed by the
    # caller, they must not carry anything over to the next call.
    def accumulate(x):
        acc = cr.zeros(3, dtype=np.float64)
        for k in range(3):
            acc += x * k
        ones = cr.tensor(np.ones(3))
        ones += x
        return acc, ones, cr.ones(3, dtype=np.float64)

    c = cr.compile(accumulate, backend=backend)
    for v in (10.0, 20.0, 30.0):
        acc, ones, fresh = c(cr.tensor(np.full(3, v)))
        np.testing.assert_array_equal(acc.data, np.full(3, 3 * v))
        np.testing.assert_array_equal(ones.data, np.full(3, 1 + v))
        np.testing.assert_array_equal(fresh.data, np.ones(3))
        fresh.data[...] = -5.0


@pytest.mark.parametrize("backend", ["source", "tape"])
def test_returned_arrays_are_shared_only_where_eager_shares_them(backend):
    # sin(x) twice is one value in the program (a common subexpression) and x * 1.0 is x
    # (an identity), but eager returns arrays of their own: changing one must not change
    # another, nor the caller's input. An array returned twice is one, as in eager.
    def f(x):
        a = cr.sin(x)
        return a, cr.sin(x), a, x * 1.0

    c = cr.compile(f, backend=backend)
    x = np.arange(3.0)
    for _ in range(3):  # the first call (traced) and replays
        a, b, a_again, x_times_1 = c(x)
        assert a_again is a
        assert not np.shares_memory(a, b) and not np.shares_memory(x_times_1, x)
        a[...] = 7.0
        x_times_1[...] = 9.0
        np.testing.assert_array_equal(b, np.sin(np.arange(3.0)))
        np.testing.assert_array_equal(x, np.arange(3.0))


def test_clip_with_tensor_bounds_follows_the_values_of_each_call():
    # The bound is a Tensor, so clip compares and chooses with where(): the comparison must
    # be traced, or the first call's mask is replayed as a constant.
    coef = np.array([1.0, 2.0, 3.0])
    lo = cr.tensor([-0.4, 0.15, -0.3], requires_grad=True)  # a parameter as the lower bound

    def loss(x):
        return cr.sum(cr.clip(x, lo, 0.5) * cr.tensor(coef))

    def step(x):
        lo.grad = None
        value = loss(x)
        value.backward()
        return value

    compiled = cr.compile(step)
    for x in (np.array([-1.0, 0.0, 1.0]), np.array([1.0, -1.0, 0.0]),
              np.array([0.0, 1.0, -1.0])):
        value = compiled(x)
        chosen = np.clip(np.maximum(x, lo.data), None, 0.5)  # by hand, as torch.clamp
        np.testing.assert_allclose(value.data, (chosen * coef).sum(), rtol=1e-12)
        # d/d(lo): the coefficient where lo is the result (x below it), else 0
        np.testing.assert_allclose(lo.grad.data, np.where(x < lo.data, coef, 0.0),
                                   rtol=1e-12)
        np.testing.assert_allclose(cr.compile(cr.grad(loss))(x),
                                   np.where((x >= lo.data) & (x <= 0.5), coef, 0.0),
                                   rtol=1e-12)


def test_two_threads_share_one_compiled_function():
    c = cr.compile(cr.grad(lambda x: cr.sum(cr.tanh(x) ** 2)))
    c(np.zeros(5))
    results, errors = {}, []

    def worker(k):
        try:
            r = np.random.default_rng(k)
            for _ in range(200):
                x = r.standard_normal(5)
                np.testing.assert_allclose(c(x), 2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                                           rtol=1e-12)
            results[k] = True
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2


def test_no_memory_growth_over_many_calls():
    c = cr.compile(cr.value_and_grad(lambda x: cr.sum(cr.sin(x) * x)))
    x = rng.standard_normal(16)
    for _ in range(200):
        c(x)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(10_000):
        c(x)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 50_000, f"memory grew by {growth} bytes over 10,000 calls"


def test_a_leaf_created_inside_from_the_input_follows_the_input():
    def f(x0):
        x = cr.tensor(x0, requires_grad=True)
        y = cr.sum(cr.sin(x) * x)
        y.backward()
        return y, x.grad

    c = cr.compile(f)
    for seed in range(3):
        x0 = np.random.default_rng(seed).standard_normal(5)
        _close(c(x0), f(x0))


def test_named_quantities_name_the_code_and_their_cotangents():
    def pressure(t):
        g = cr.named(0.5 * 9.8 * t**2, "g")
        h = cr.named(4000 - g, "h")
        return cr.named(101325 * cr.exp(-0.0001 * h), "P")

    c = cr.compile(cr.value_and_grad(pressure))
    _close(c(10.0), cr.value_and_grad(pressure)(10.0))
    src = c.source
    assert "    h = 4000 - g" in src and "    P = " in src
    assert "g_h = " in src  # dP/dh's cotangent is called g_h
    assert "# chain rule through h = subtract(4000, g): dh/dg = -1" in src


def test_explain_format_code_prints_the_compiled_derivative(capsys):
    from chainrule import cli

    expr = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"
    assert cli.main(["explain", expr, "--wrt", "t", "--at", "t=10", "--format", "code"]) == 0
    code = capsys.readouterr().out
    assert code.startswith("def P(A, T, S):")
    assert "t = float(A[0])" in code and "math.exp" in code and "# chain rule through" in code
    namespace = {"np": np, "math": __import__("math"), "_array": np.asarray}
    exec(code, namespace)
    value, grad = namespace["P"]([10.0], [], [])
    _close((value, grad), cr.value_and_grad(
        lambda t: 101325 * cr.exp(-0.0001 * (4000 - 0.5 * 9.8 * t**2)))(10.0))
    assert cli.main(["explain", "sin(x)", "--wrt", "z", "--format", "code"]) == 2


def test_in_place_updates_inside_are_replayed():
    def make():
        w = cr.tensor(np.ones((3, 2)), requires_grad=True)
        params = [w]

        def step(x):
            loss = cr.sum((x @ params[0]) ** 2)
            loss.backward()
            with cr.no_grad():
                p = params[0]
                p -= 0.01 * p.grad  # SGD by hand, in place
                p.grad = None
            return loss
        return w, step

    w1, eager_step = make()
    w2, step = make()
    compiled = cr.compile(step)
    r = np.random.default_rng(4)
    for _ in range(4):
        x = r.standard_normal((4, 3))
        _close(compiled(cr.tensor(x)), eager_step(cr.tensor(x)))
        _close(w2, w1)
        assert w2.grad is None
    assert "np.copyto" in compiled.source

    def g(x):
        y = x * 2
        y[0] = 7.0
        return y.reshape(-1) + 1

    cg = cr.compile(g)
    for _ in range(2):
        x = r.standard_normal(3)
        _close(cg(cr.tensor(x)), g(cr.tensor(x)))


def test_chain_rule_comments_read_as_a_textbook():
    """Numbers put into a declared formula are worked out: ``y·x^(y-1)`` at ``y = 2`` reads
    ``2·t``, not ``2·t^(2-1)``."""
    def f(t, u):
        return t ** 2 + u ** 3.0 + t ** 1 + t / 2.0

    compiled = cr.compile(cr.grad(f, argnums=(0, 1)))
    _close(compiled(1.5, 2.0), cr.grad(f, argnums=(0, 1))(1.5, 2.0))
    links = [line.split(": ", 1)[1] for line in compiled.source.splitlines()
             if "# chain rule through" in line]
    assert any(link.endswith("= 2·t") for link in links), links
    assert any(link.endswith("= 3·u²") for link in links), links
    assert not any("^(" in link or "·1" in link for link in links), links


@pytest.mark.parametrize("shown,textbook", [
    ("2·t^(2-1)", "2·t"),
    ("3.0·u^(3.0-1)", "3·u²"),
    ("-1·x^(-1-1)", "-x⁻²"),
    ("0.5·x^(0.5-1)", "0.5·x^(-0.5)"),
    ("1·x^(1-1)", "1"),
    ("-x/2.0²", "-x/4"),
    ("-x/v2²", "-x/v2²"),  # v2 is a name: nothing to work out
    ("--0.5/y²", "0.5/y²"),
    ("1 - tanh(v4)²", "1 - tanh(v4)²"),
])
def test_formulas_with_numbers_are_worked_out(shown, textbook):
    from chainrule.compile.adapter import tidy

    assert tidy(shown) == textbook
