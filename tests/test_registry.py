"""The registry is the truth: what is generated from a declaration, and that a primitive's
descriptions of its derivative agree.

A primitive describes its derivative four ways: the rule the engine runs, its SymPy form
(differentiated by SymPy), the formula the explainer prints, and (for the forward) an
independent reference implementation. Each test here would fail if one of them said
something else than the others.
"""

import inspect
import io
import math
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.primitive import REGISTRY, pull_back
from chainrule.explain.nodes import FUNCTIONS
from chainrule.ops import expression_functions
from chainrule.ops.notation import LETTERS, FormulaError, evaluate_formula, print_formula

sp = pytest.importorskip("sympy")


def _samples(prim):
    return prim.samples(np.random.default_rng(11)) if prim.samples is not None else []


def _is_local(prim) -> bool:
    """Formulas that are local derivatives (``cos(x)``), not VJPs written with ``g``."""
    return not any(re.search(r"(?<![\w∂])g(?![A-Za-z0-9_])", f) for f in prim.formulas)


def _symbolic_cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.symbolic is None or not _is_local(prim):
            continue
        for k, (args, params) in enumerate(_samples(prim)):
            cases.append(pytest.param(name, args, params, id=f"{name}-{k}"))
    return cases


def _lambdify(expr, symbols):
    # NumPy has no erf: the standard library's, elementwise (independent of chainrule's).
    erf = np.vectorize(math.erf, otypes=[float])
    return sp.lambdify(symbols, expr, modules=[{"cbrt": np.cbrt, "erf": erf}, "numpy"])


def _positions(prim, args):
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in prim.nondiff_args]


@pytest.mark.parametrize("name,args,params", _symbolic_cases())
def test_the_four_descriptions_of_a_derivative_agree(name, args, params):
    prim = REGISTRY[name]
    letters = LETTERS[len(args)]
    symbols = [sp.Symbol(n, real=True) for n in letters]
    form = prim.symbolic(sp, *symbols, **params)
    ans = np.asarray(prim.forward(*args, **params))
    shape = ans.shape

    # 1. SymPy's form, evaluated, is the forward.
    got = np.broadcast_to(np.asarray(_lambdify(form, symbols)(*args), dtype=float), shape)
    np.testing.assert_allclose(got, ans, rtol=1e-10, atol=1e-12, err_msg=f"{name}: SymPy form")

    positions = _positions(prim, args)
    needs = [i in positions for i in range(len(args))]
    rule = pull_back(prim, np.ones(shape), ans, tuple(args), params, needs)
    values = dict(zip(letters, args)) | params
    for i in positions:
        # The rule's value: with g = 1, the VJP of an elementwise function is its derivative.
        expected = np.broadcast_to(rule[i], shape)
        # 2. SymPy's derivative of its form is the rule.
        d = np.asarray(_lambdify(sp.diff(form, symbols[i]), symbols)(*args), dtype=float)
        np.testing.assert_allclose(np.broadcast_to(d, shape), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: SymPy's derivative wrt {letters[i]}")
        # 3. The printed formula, evaluated, is the rule.
        text = prim.formulas[i]
        shown = evaluate_formula(text, values, elementwise=True)
        np.testing.assert_allclose(np.broadcast_to(shown, shape), expected, rtol=1e-9,
                                   atol=1e-12, err_msg=f"{name}: formula {text!r}")


def _rules(rule):
    if rule is None:
        return []
    return [r for r in rule if r is not None] if isinstance(rule, tuple) else [rule]


def test_every_built_in_rule_has_the_signature_users_write():
    # One signature for built-in and user rules: vjp(g, ans, *args, **params) and
    # jvp(t, ans, *args, **params); the namespace and which arguments need a cotangent are
    # the engine's business, never parameters of a rule.
    engine_only = {"xp", "needs", "args", "params", "tangents"}
    checked = 0
    for name, prim in REGISTRY.items():
        for rule in _rules(prim.vjp) + _rules(prim.jvp):
            params = inspect.signature(rule).parameters.values()
            names = [p.name for p in params]
            assert len(names) >= 3 and names[1] == "ans", f"{name}: {names}"
            named = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
            assert not engine_only & named, f"{name}: a rule takes {names}"
            checked += 1
    assert checked > 2 * len(REGISTRY) - 10


def test_a_per_argument_rule_runs_only_for_the_arguments_that_need_it():
    # x @ W with data x: the product for x's cotangent is never computed.
    ran = []
    matmul = REGISTRY["matmul"]
    old = matmul.vjp

    def noting(i, rule):
        def noted(*a):
            ran.append(i)
            return rule(*a)
        return noted

    try:
        matmul.vjp = tuple(noting(i, r) for i, r in enumerate(old))
        w = cr.tensor(np.ones((3, 2)), requires_grad=True)
        cr.sum(cr.matmul(cr.tensor(np.ones((4, 3))), w)).backward()
    finally:
        matmul.vjp = old
    assert ran == [1]
    np.testing.assert_array_equal(w.grad.data, np.full((3, 2), 4.0))


def test_formulas_come_from_sympy_unless_a_textbook_form_is_declared():
    # Derived: what sympy.diff gives, printed in the notation.
    assert REGISTRY["sin"].formulas == ("cos(x)",)
    assert REGISTRY["sqrt"].formulas == ("1/(2·sqrt(x))",)
    assert REGISTRY["divide"].formulas[1] == "-x/y²"
    # Declared, where SymPy's is not how a textbook writes it.
    assert REGISTRY["sigmoid"].formulas == ("σ(x)·(1 - σ(x))",)
    assert REGISTRY["relu"].formulas == ("1 if x > 0 else 0",)
    x = sp.Symbol("x", real=True)
    assert print_formula(sp.diff(sp.tan(x), x)) == "tan(x)² + 1"


def test_a_wrong_formula_or_sympy_form_would_be_caught():
    # What the agreement test compares, with the descriptions changed: each disagrees.
    x = np.array([0.3, 1.7])
    rule = REGISTRY["sqrt"].derivative(np.sqrt(x))  # d√x/dx from the output: 1/(2√x)
    assert not np.allclose(evaluate_formula("cos(x)", {"x": x}), rule)
    s = sp.Symbol("x", real=True)
    wrong = _lambdify(sp.diff(sp.cbrt(s), s), [s])(x)
    assert not np.allclose(wrong, rule)


# ----- the notation evaluator ------------------------------------------------------------------


def test_evaluate_formula_reads_the_textbook_notation():
    x = np.array([-0.5, 0.0, 2.0])
    np.testing.assert_allclose(evaluate_formula("σ(x)·(1 − σ(x))", {"x": x}, elementwise=True),
                               np.exp(-x) / (1 + np.exp(-x)) ** 2)
    np.testing.assert_allclose(evaluate_formula("1 + tan²(x)", {"x": x}), 1 / np.cos(x) ** 2)
    np.testing.assert_allclose(evaluate_formula("1 if x > 0 else 0", {"x": x}), [0, 0, 1])
    np.testing.assert_allclose(evaluate_formula("1 if a ≤ x ≤ b else 0",
                                                {"x": x, "a": -1, "b": 1}), [1, 1, 0])
    np.testing.assert_allclose(evaluate_formula("2/√π·exp(-x²)", {"x": x}, elementwise=True),
                               2 / np.sqrt(np.pi) * np.exp(-x * x))
    np.testing.assert_allclose(evaluate_formula("x^(2/3)", {"x": 8.0}), 4.0)


def test_evaluate_formula_matrix_products_transposes_and_batch_sums():
    rng = np.random.default_rng(0)
    x, W, g = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    v = {"x": x, "W": W, "∂L/∂y": g}
    np.testing.assert_allclose(evaluate_formula("∂L/∂y · W", v), g @ W)
    np.testing.assert_allclose(evaluate_formula("(∂L/∂y)ᵀ · x", v), g.T @ x)
    np.testing.assert_allclose(evaluate_formula("Σ_batch ∂L/∂y", v), g.sum(axis=0))
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    np.testing.assert_allclose(evaluate_formula("-A⁻ᵀ · g · A⁻ᵀ", {"A": A, "g": W[:3]}),
                               -np.linalg.inv(A).T @ W[:3] @ np.linalg.inv(A).T)
    # 1-D vectors are rows (a batch of one); the result summed back to a shape if asked.
    gv, xv = rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_allclose(evaluate_formula("gᵀ · x", {"g": gv, "x": xv}),
                               np.outer(gv, xv))
    np.testing.assert_allclose(evaluate_formula("g · W", {"g": gv, "W": W}, shape=(3,)), gv @ W)


def test_evaluate_formula_errors_name_the_formula():
    with pytest.raises(FormulaError, match="no value for 'y'"):
        evaluate_formula("x + y", {"x": 1.0})
    with pytest.raises(FormulaError, match="unknown function 'frobnicate'"):
        evaluate_formula("frobnicate(x)", {"x": 1.0})
    with pytest.raises(FormulaError, match="outside the notation"):
        evaluate_formula("x.__class__", {"x": 1.0})
    with pytest.raises(FormulaError, match="cannot read"):
        evaluate_formula("x +* 2", {"x": 1.0})


# ----- surfaces generated from the declarations ------------------------------------------------


def test_every_declared_numpy_name_method_and_ufunc_is_the_primitive():
    rng = np.random.default_rng(3)
    for prim in REGISTRY.values():
        for name in prim.numpy:
            assert getattr(cr, name) is prim.function, name
            assert name in cr.numpy_api.__all__
            ufunc = getattr(np, name, None)
            if isinstance(ufunc, np.ufunc) and prim.samples is not None:
                args, params = _samples(prim)[0]
                if params:
                    continue
                ts = [cr.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
                out = ufunc(*ts)
                assert isinstance(out, cr.Tensor), name
                np.testing.assert_allclose(out.data, prim.forward(*args))
        if prim.method:
            x = cr.tensor(rng.uniform(0.1, 0.9, 3))
            assert callable(getattr(cr.Tensor, prim.numpy[0]))
            if len(prim.numpy) and prim.samples is not None and len(_samples(prim)[0][0]) == 1:
                np.testing.assert_allclose(getattr(x, prim.numpy[0])().data,
                                           prim.function(x).data)


def test_the_expression_language_is_the_declared_functions():
    declared = {p.expr: p for p in REGISTRY.values() if p.expr is not None}
    assert tuple(declared) == FUNCTIONS == tuple(expression_functions())
    for name in ("exp", "log", "sqrt", "asin", "sigmoid", "relu"):
        assert name in FUNCTIONS


def _expression_cases():
    """Each function of the expression language at a sample point of its own, inside its
    declared domain."""
    cases = []
    for name, prim in sorted(expression_functions().items()):
        if len(prim.formulas) != 1:
            continue  # max(a, b) and min(a, b): tests/test_explain_functions.py
        (args, _), *_ = _samples(prim)
        points = np.ravel(args[0])[:2]
        if prim.domain is not None:
            points = [v for v in points if evaluate_formula(prim.domain, {"x": v})]
        cases += [pytest.param(name, float(v), id=f"{name}-{k}") for k, v in enumerate(points)]
    return cases


@pytest.mark.parametrize("name,point", _expression_cases())
def test_each_expression_function_works_everywhere_with_its_rule(name, point):
    from chainrule.cli import main

    prim = expression_functions()[name]
    ans = float(prim.forward(np.float64(point)))
    rule = float(prim.derivative(np.float64(ans if prim.derivative_of_ans else point)))
    # cr.explain on a quantity, and on a constant (the checked scalar path)
    e = cr.explain(f"y = {name}(x)", x=point)
    assert float(e.value) == pytest.approx(ans, rel=1e-12)
    assert float(e.derivative) == pytest.approx(rule, rel=1e-9)
    c = cr.explain(f"y = {name}({point!r})*x", x=1.0)
    assert float(c.derivative) == pytest.approx(ans, rel=1e-12)
    # the command line: diff prints the rule's value at the point
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["diff", f"{name}(x)", "--wrt", "x", "--at", f"x={point!r}"]) == 0
    printed = float(out.getvalue().rsplit("=", 1)[1])
    assert printed == pytest.approx(rule, rel=1e-8)
    with redirect_stdout(io.StringIO()):
        assert main(["explain", f"y = {name}(x)", "--at", f"x={point!r}"]) == 0
    # the NumPy surface, the Tensor method and NumPy's own function, all recording the primitive
    # (activations such as gelu are in the language only: NumPy has no such function)
    if not prim.numpy:
        assert not hasattr(cr, name) or getattr(cr, name) is not prim.function
        return
    numpy_name = prim.numpy[0]
    x = cr.tensor(np.array([point]), requires_grad=True)
    forms = [getattr(cr, numpy_name)(x), getattr(x, numpy_name)()]
    if isinstance(getattr(np, numpy_name, None), np.ufunc):
        forms.append(getattr(np, numpy_name)(x))
    for y in forms:
        assert y._node.prim is prim
        np.testing.assert_allclose(y.data, [ans], rtol=1e-12)
    forms[0].sum().backward()
    np.testing.assert_allclose(x.grad.data, [rule], rtol=1e-12)


def test_domain_errors_come_from_the_declared_domain():
    with pytest.raises(cr.ExprError, match=r"log\(-2\) is undefined: log is defined for x > 0"):
        cr.explain("y = log(-2)*x", x=1.0)
    with pytest.raises(cr.ExprError, match=r"log\(0\) is minus infinity"):
        cr.explain("y = log(0)*x", x=1.0)
    with pytest.raises(cr.ExprError, match=r"asin\(2\) is undefined: asin is defined for -1 <= x"):
        cr.explain("y = asin(2)*x", x=1.0)


# ----- matrix and shape rules: the displayed rule, evaluated over named arrays ------------------

# A displayed rule is either a formula in the notation, evaluated below and required to equal
# the engine's gradient, or written in words / index notation (``s_i·(δ_ij - s_j)``,
# ``1 at the selected elements``), which the notation cannot read (FormulaError). These must
# be formulas: the rules of dense layers, matrix products and the matrix functions.
MUST_EVALUATE = {"linear", "matmul", "inv", "det", "solve", "logabsdet"}

# Reductions display their local rule along the reduced axes (``softmax(x)``, ``1``): read
# as whole-array expressions they would be something else.
ALONG_AN_AXIS = {"sum", "mean", "prod", "max", "min", "logsumexp", "l2norm", "softmax",
                 "log_softmax"}

# Samples whose arrays the notation's "·" reads otherwise than the engine: a stack of
# vectors (a (B, n) array is a matrix to "·").
STACKS_OF_VECTORS = {("solve", 2)}


def _matrix_rule_cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.symbolic is not None and _is_local(prim) or name in ALONG_AN_AXIS:
            continue  # checked by the four-descriptions test, or a rule along an axis
        for k, (args, params) in enumerate(_samples(prim)):
            if (name, k) not in STACKS_OF_VECTORS:
                cases.append(pytest.param(name, k, args, params, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("name,k,args,params", _matrix_rule_cases())
def test_every_displayed_matrix_rule_evaluates_to_the_engines_gradient(name, k, args, params):
    from chainrule.autodiff.backward import sum_to_shape
    from chainrule.ops.notation import rule_formula, rule_values

    prim = REGISTRY[name]
    positions = _positions(prim, args)
    assert positions, f"{name}: a sample with nothing to differentiate"
    ans = np.asarray(prim.forward(*args, **params))
    g = np.random.default_rng(5).standard_normal(ans.shape)
    needs = [i in positions for i in range(len(args))]
    sent = pull_back(prim, g, ans, tuple(args), params, needs)
    values = rule_values(len(args), args, ans, g, params)
    evaluated = []
    for i in positions:
        shape = np.shape(args[i])
        expected = sum_to_shape(np.asarray(sent[i]), shape, np)
        if i >= len(prim.formulas) or not prim.formulas[i]:
            assert name not in MUST_EVALUATE, f"{name}: no displayed rule for argument {i}"
            continue
        text = rule_formula(prim.formulas[i])
        try:
            shown = evaluate_formula(text, values, shape=shape, elementwise=prim.elementwise)
        except FormulaError:
            assert name not in MUST_EVALUATE, f"{name}: its rule {text!r} must be a formula"
            continue  # a rule in words
        evaluated.append(i)
        np.testing.assert_allclose(shown, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: displayed rule {text!r} for argument {i}")
    if name in MUST_EVALUATE:
        assert evaluated == positions


def test_the_dense_layer_rule_is_the_textbook_one():
    # y = x·Wᵀ + b: ∂L/∂x = ∂L/∂y · W, ∂L/∂W = (∂L/∂y)ᵀ · x, ∂L/∂b = Σ_batch ∂L/∂y
    from chainrule.explain.steps import rule_text

    shown = [rule_text(f, "y", ("x", "W", "b"), i) for i, f in
             enumerate(REGISTRY["linear"].formulas)]
    assert shown == ["(∂L/∂y) · W", "(∂L/∂y)ᵀ · x", "Σ_batch (∂L/∂y)"]


def test_the_rules_of_elementwise_and_matrix_primitives_are_formulas():
    # At least these are evaluated (not skipped as words) by the two tests above.
    for name in MUST_EVALUATE:
        assert name in REGISTRY
    local = [p for p in REGISTRY.values() if p.symbolic is not None and _is_local(p)]
    assert len(local) >= 40


def test_the_old_dense_layer_rule_would_have_failed():
    # linear once displayed ("wᵀ", "x", "1"): local derivatives that, sent as g · (...), are
    # not the gradients of y = x·Wᵀ + b. The check above would have caught it.
    from chainrule.ops.notation import rule_formula, rule_values

    (x, w, b), _ = _samples(REGISTRY["linear"])[0]
    ans = REGISTRY["linear"].forward(x, w, b)
    g = np.random.default_rng(1).standard_normal(ans.shape)
    values = rule_values(3, (x, w, b), ans, g)
    with pytest.raises((ValueError, AssertionError)):
        np.testing.assert_allclose(evaluate_formula(rule_formula("wᵀ"), values, shape=x.shape),
                                   g @ w)


def test_the_api_reference_lists_every_primitive_as_declared():
    from pathlib import Path

    from chainrule.ops import reference_page

    page = Path(__file__).resolve().parents[1] / "docs" / "functions.md"
    assert page.read_text(encoding="utf-8") == reference_page(), (
        "docs/functions.md is out of date: run python -m chainrule.ops > docs/functions.md")
    for name in REGISTRY:
        assert f"| `{name}` |" in page.read_text(encoding="utf-8")


def test_the_numpy_surface_exports_by_name_and_leaks_nothing():
    import types

    api = cr.numpy_api
    assert len(api.__all__) == len(set(api.__all__))
    for name in api.__all__:
        value = getattr(api, name)
        assert not isinstance(value, types.ModuleType), name
        assert not name.startswith("_") and not name.isupper(), name
    for leak in ("os", "warnings", "sys", "STATE", "DEFAULT_MODE"):
        assert not hasattr(cr, leak), leak
    # the random generator's room, re-exported as before
    assert cr.manual_seed is cr.random.manual_seed and cr.randn is cr.random.randn


def test_the_rooms_of_the_surface_and_the_registry_are_small():
    from pathlib import Path

    root = Path(cr.__file__).parent
    for path in [*root.glob("numpy_api/*.py"), *root.glob("ops/*.py"), root / "random.py",
                 root / "dtypes.py"]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, f"{path.relative_to(root)} has {lines} lines"
