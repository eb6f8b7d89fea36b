"""The symbolic budget of explain/diff: work past the deadline is stopped and the call
falls back (unsimplified formula, or none) with a note; values always come from the
engine; a formula that cannot be checked says so.  No test here asserts a duration."""

import math
import random

import pytest

import chainrule as cr
from chainrule.explain import budget as budget_module
from chainrule.explain.budget import Budget
from chainrule.explain.diff import differentiate
from chainrule.testing.expressions import random_case

sp = pytest.importorskip("sympy")
x, y = sp.symbols("x y", real=True)


def _forever():
    while True:
        pass


@pytest.fixture
def generous_grace(monkeypatch):
    """Budget 0 skips simplification outright; a long grace lets the essential steps
    (derive, print, evaluate) always finish, so the fallback form is deterministic."""
    monkeypatch.setattr(budget_module, "MIN_GRACE", 600.0)


def test_a_computation_past_its_deadline_is_stopped_and_the_thread_goes_on():
    b = Budget(0.05)
    assert b.run(_forever, default="cut") == "cut"
    assert b.exceeded
    # Nothing is left pending: ordinary work in this thread runs undisturbed.
    assert sum(i for i in range(200_000)) == 199_999 * 100_000
    assert Budget(5.0).run(lambda: 6 * 7) == 42


def test_code_that_swallows_the_interruption_is_interrupted_again():
    swallowed = []

    def stubborn():
        try:
            _forever()
        except BaseException:  # noqa: BLE001 - as a bare except: in a library would
            swallowed.append(True)
        _forever()

    assert Budget(0.05).run(stubborn, default="cut") == "cut"
    assert swallowed == [True]


needs_cpu_clock = pytest.mark.skipif(
    not hasattr(__import__("time"), "pthread_getcpuclockid"),
    reason="no per-thread CPU clock here: the budget is wall-clock time",
)


@needs_cpu_clock
def test_the_budget_counts_cpu_time_so_waiting_is_not_cut(monkeypatch):
    """A step that waits (as a thread does on a machine busy with other programs) uses no
    CPU time of its own, so a CPU budget far smaller than the wait does not cut it (the
    wall-clock limit, set far away here, is the next test's)."""
    import time

    monkeypatch.setattr(budget_module, "WALL_FACTOR", 100.0)
    b = Budget(0.05)
    assert b.clock is not time.monotonic
    assert b.run(lambda: time.sleep(0.3) or "done", default="cut") == "done"
    assert not b.exceeded


def test_a_wall_clock_limit_still_bounds_a_step_that_waits(monkeypatch):
    import time

    monkeypatch.setattr(budget_module, "WALL_FACTOR", 1.0)

    def waits():
        for _ in range(2000):  # 20 s of short sleeps, each a point to be interrupted at
            time.sleep(0.01)
        return "done"

    b = Budget(0.05)
    assert b.run(waits, default="cut") == "cut"
    assert b.exceeded


def test_no_time_left_means_the_step_is_not_started():
    calls = []
    b = Budget(0.0)
    assert b.run(lambda: calls.append(1), default="skipped") == "skipped"
    assert calls == [] and b.exceeded


def test_errors_of_the_step_propagate_and_sympy_settings_are_restored():
    from sympy.core.parameters import global_parameters

    with pytest.raises(ZeroDivisionError):
        Budget(5.0).run(lambda: 1 / 0)

    def unevaluating_forever():
        global_parameters.evaluate = False
        _forever()

    Budget(0.05).run(unevaluating_forever)
    assert global_parameters.evaluate is True
    assert sp.Integer(1) + 1 == 2


@pytest.mark.parametrize("bad", [-1, float("nan"), "1", True])
def test_a_bad_budget_is_refused(bad):
    with pytest.raises(ValueError, match="symbolic_budget"):
        differentiate("x**2", "x", symbolic_budget=bad)
    with pytest.raises(ValueError, match="symbolic_budget"):
        cr.explain("x**2", x=1.0, symbolic_budget=bad)


def test_diff_out_of_budget_gives_the_unsimplified_formula_and_says_so(generous_grace):
    r = differentiate("sigmoid(acos(sinh(x)))", "x", 2, {"x": 0.3}, symbolic_budget=0)
    expected = sp.diff(1 / (1 + sp.exp(-sp.acos(sp.sinh(x)))), x, 2)
    # as differentiated, with σ kept as the function a textbook names (σ′ = σ·(1 − σ))
    from chainrule.explain.textbook import classes

    sigma = classes()["sigmoid"]
    assert r.formula == sp.sstr(sp.diff(sigma(sp.acos(sp.sinh(x))), x, 2), full_prec=False)
    assert any("symbolic budget" in n and "not simplified" in n for n in r.notes)
    # The value is the engine's and is still checked against the (unsimplified) formula.
    assert r.checked and r.agrees
    assert r.value == pytest.approx(float(expected.subs(x, 0.3)), rel=1e-10)


def test_a_simplification_that_takes_minutes_is_cut_at_the_deadline():
    # The first call of the issue: simplify() runs for minutes on this one.
    r = differentiate("sigmoid(acos(sinh(x)))", "x", 2, {"x": 0.3}, symbolic_budget=0.2)
    assert any("symbolic budget" in n for n in r.notes)
    assert r.formula is None or r.checked


def test_explain_out_of_budget_keeps_every_link_checked(generous_grace):
    e = cr.explain("u = x*exp(-x); f = sin(u)^2 + cos(u)^2 + u", x=0.7, symbolic_budget=0)
    assert any("symbolic budget" in n for n in e.notes)
    assert e.steps and all(link.formula is not None for link in e.steps)
    assert all(link.symbolic_value is not None for link in e.steps)
    assert e.agrees
    u = 0.7 * math.exp(-0.7)
    assert e.derivative == pytest.approx(math.exp(-0.7) * (1 - 0.7), rel=1e-12)
    assert e.value == pytest.approx(1 + u, rel=1e-12)


def test_with_time_the_formula_is_simplified_and_no_note():
    r = differentiate("x**2*sin(x)", "x", 2, {"x": 0.0}, symbolic_budget=600)
    assert r.notes == []
    given = sp.sympify(r.formula, locals={"x": x})
    assert sp.simplify(given - sp.diff(x**2 * sp.sin(x), x, 2)) == 0
    assert r.formula == "-x**2*sin(x) + 4*x*cos(x) + 2*sin(x)"


def test_no_unevaluated_derivative_is_shown():
    # |y/x| = -y/x for x < 0 < y, so the second derivative is -2y/x^3.
    r = differentiate("abs(y/x)", "x", 2, {"x": -1.2, "y": 0.7})
    assert "Derivative" not in r.formula and "Derivative" not in r.latex
    assert r.value == pytest.approx(-2 * 0.7 / (-1.2) ** 3, rel=1e-12)
    assert r.checked and r.agrees


def test_a_formula_that_cannot_be_checked_says_so():
    # d²|x|/dx² = 2δ(x): no number at x = 0, where the engine's sign' gives 0.
    r = differentiate("abs(x)", "x", 2, {"x": 0.0})
    assert r.value == 0.0 and r.symbolic_value is None
    assert not r.checked
    assert any("not checked" in n for n in r.notes)
    # ∂(x^y)/∂y = x^y·log(x) is 0·log(0) at x = 0: no real number, said, not checked.
    e = cr.explain("x^y", x=0.0, y=2.0)
    assert any("no real number" in n and "∂f/∂y" in n for n in e.notes)
    assert not any("∂f/∂y" in c.what for c in e.checks)


def _sympy_of(text: str):
    """The expression as SymPy reads it, independently of chainrule's converter."""
    names = {
        "x": x,
        "y": y,
        "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
        "relu": lambda u: sp.Piecewise((0, u <= 0), (u, True)),
        "abs": sp.Abs,
    }
    return sp.sympify(text.replace("^", "**"), locals=names)


def _real(value) -> float | None:
    try:
        v = complex(value)
    except (TypeError, ValueError):
        return None
    if abs(v.imag) > 1e-9 * max(1.0, abs(v.real)) or not math.isfinite(v.real):
        return None
    return v.real


def test_random_expressions_against_sympy():
    """Seeded random expressions (< 80 characters): the engine's derivatives, first from
    cr.explain and second from differentiate, match SymPy's, and each call's own
    formula check passes."""
    rng = random.Random(17)
    compared = 0
    for _ in range(12):
        text, point = random_case(rng)
        exact = {sp.Symbol(k, real=True): sp.Float(v, 30) for k, v in point.items()}
        f = _sympy_of(text)
        e = cr.explain(text, symbolic_budget=0.2, **point)
        assert e.agrees, text
        assert e.value == pytest.approx(float(f.subs(exact).evalf(30)), rel=1e-9, abs=1e-12)
        wrt = sorted(point)[0]
        w = sp.Symbol(wrt, real=True)
        first = _real(sp.diff(f, w).subs(exact).evalf(30))
        if first is not None and math.isfinite(e.derivatives[wrt]):
            assert e.derivatives[wrt] == pytest.approx(first, rel=1e-7, abs=1e-9), text
            compared += 1
        r = differentiate(text, wrt, 2, point, symbolic_budget=0.2)
        assert r.agrees and (r.formula is None or "Derivative" not in r.formula), text
        second = _real(sp.diff(f, w, 2).subs(exact).evalf(30))
        if second is not None and math.isfinite(r.value):
            assert r.value == pytest.approx(second, rel=1e-6, abs=1e-8), text
    assert compared >= 8


def test_the_default_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHAINRULE_SYMBOLIC_BUDGET", "0.25")
    assert Budget().seconds == 0.25
    assert Budget(3).seconds == 3.0  # the call's own wins
    monkeypatch.setenv("CHAINRULE_SYMBOLIC_BUDGET", "soon")
    with pytest.raises(ValueError, match="CHAINRULE_SYMBOLIC_BUDGET"):
        Budget()
    monkeypatch.delenv("CHAINRULE_SYMBOLIC_BUDGET")
    assert Budget().seconds == budget_module.DEFAULT_SECONDS
