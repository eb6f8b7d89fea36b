"""``cr.explain``: the chain rule for a function at a point, every link shown.

For ``P(h(g(t)))`` the derivative is ``dP/dt = dP/dh · dh/dg · dg/dt``; where an input
reaches the output along several paths, ``dz/dx`` is the sum over the paths of the product
of the links along each.  Every number comes from chainrule's engine; every formula from
SymPy (built from the expression tree, or from each primitive's symbolic counterpart), and
the two are compared at the point.

>>> import chainrule as cr
>>> e = cr.explain("P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2", wrt="t", t=10)
>>> round(e.derivative, 7)
699.0453078
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np

from chainrule.explain.budget import Budget
from chainrule.explain.explanation import Check, Explanation, Link, Path, Quantity
from chainrule.explain.expr import Program, parse
from chainrule.explain.graph import (
    backward_sweep,
    check_domain,
    contract,
    replay_symbolic,
    replay_value,
)
from chainrule.explain.network import network_view
from chainrule.explain.pretty import (
    factor_like,
    latex,
    mathml,
    pretty,
    pretty_node,
    python_form,
    textbook,
)
from chainrule.explain.split import check_split, split_graph, split_program
from chainrule.explain.steps import backward_steps
from chainrule.explain.symbolic import (
    _at_point,
    _simplify,
    have_sympy,
    require_sympy,
    without_derivatives,
)
from chainrule.explain.trace import (
    _all_scalar,
    _evaluator,
    _given_leaves,
    _graph_leaves,
    _NetworkEvaluator,
    _trace_function,
    _trace_program,
    _wrt,
    _wrt_given,
)
from chainrule.explain.typeset import mathml_node
from chainrule.tensor import Tensor

__all__ = ["explain", "MAX_PATHS"]

#: At most this many paths are listed per input (their number can grow exponentially).
MAX_PATHS = 64
#: The fully substituted formula is differentiated as a check only up to this size.
MAX_EXPANDED_OPS = 2000


def explain(f, /, wrt=None, split="auto", *, symbolic_budget=None, **point) -> Explanation:
    """Explain the derivative of ``f`` at ``point`` by the chain rule, link by link.

    ``f`` is an expression string (``"P = 101325*exp(-0.0001*h); h = 4000 - g; ..."``) or
    a Python function whose intermediate quantities are named with ``cr.named(x, "h")``.
    ``point`` gives the inputs (numbers, arrays or Tensors); ``wrt`` names the input(s) to
    differentiate by (a name or a list; default: all).  For a network, ``wrt`` may also be
    a module, a ``{name: tensor}`` dict or a list of the parameters to differentiate by
    (``cr.explain(lambda: loss_fn(model(X), y), wrt=model)``); a function of no arguments
    without ``wrt`` is differentiated by every leaf that requires grad.

    ``split`` (``"auto"``, True or False) says whether composites are split into their
    chain: under ``"auto"``, ``sin(x^2)`` is explained as ``u = x²``, ``f = sin(u)``,
    ``df/dx = df/du · du/dx``, unless the user named quantities (theirs are then the
    links); True splits inside named definitions too (see :mod:`chainrule.explain.split`).

    For scalar quantities each link ``∂N/∂M`` gets a simplified formula in terms of the
    named quantities and its value; for tensors (a network's loss) the explanation shows
    the engine's backward pass step by step.  Raises ``ValueError`` (an
    :class:`~chainrule.explain.errors.ExprError` for expression strings) for bad input or
    a point outside the domain.

    ``symbolic_budget`` is the seconds of CPU time SymPy may spend on the formulas (default
    :data:`chainrule.explain.budget.DEFAULT_SECONDS`); formulas it cannot simplify in
    time are shown as differentiated, and a note says so.  No number depends on it.
    """
    budget = Budget(symbolic_budget)  # a bad value is refused before any work
    wrt, aliases, module = _wrt_given(wrt)
    tensors = dict(wrt) if isinstance(wrt, Mapping) else None
    program, traced = _trace_input(f, point, split, tensors)
    out, inputs, output_name = traced
    check_split(split)
    if program is None and _all_scalar(out):
        split_graph(out, inputs, split)
    if tensors is not None:
        inputs = {**inputs, **_given_leaves(tensors, inputs)}
        wrt = tuple(tensors)
    elif not inputs and out.requires_grad:
        inputs = _graph_leaves(out)
    wrt = _wrt(wrt, inputs)
    # Derivatives outside their domain (d/dy x^y at x < 0) come out as NaN and are shown
    # as such; NumPy's warnings about them would only repeat it.
    with np.errstate(all="ignore"):
        e = _Builder(out, inputs, output_name, wrt, program, point, budget).build()
    _set_evaluator(e, f, program, tensors, point, wrt, inputs, module)
    if e.network is not None:
        e.network.aliases = {k: v for k, v in aliases.items() if k in e.wrt}
    return e


def _trace_input(f, point, split, tensors):
    """(the split Program or None for a function, the traced (out, inputs, output name))."""
    if isinstance(f, (str, Program)):
        if tensors is not None:
            raise TypeError("explain: for an expression, wrt names its inputs (a str or a list)")
        program = split_program(f if isinstance(f, Program) else parse(f), split)
        return program, _trace_program(program, point)
    if callable(f):
        return None, _trace_function(f, point)
    raise TypeError(f"explain: expected a function or an expression string, got {type(f)}")


def _set_evaluator(e, f, program, tensors, point, wrt, inputs, module) -> None:
    """Give ``e`` the evaluator descend() steps with: scalar inputs, or a network's loss."""
    if tensors is None and all(np.size(point[n]) == 1 for n in wrt if n in point):
        e.evaluator = _evaluator(f if program is None else program, wrt)
    elif tensors is not None and not point:
        # a network's loss: descend() previews steps on the parameters, then puts them back
        e.evaluator = _NetworkEvaluator(f, {n: inputs[n] for n in wrt}, module)


class _Builder:
    def __init__(self, out, inputs, output_name, wrt, program, point, budget=None):
        self.out, self.inputs, self.wrt, self.program = out, inputs, wrt, program
        self.budget = Budget() if budget is None else budget
        # Links whose formula was cut short by the budget, or cannot be checked.
        self.unsimplified, self.no_formula, self.unevaluable = [], [], []
        # Inputs whose derivative was not also differentiated as one formula in time.
        self.no_total: list[str] = []
        # A network's loss is L, as in every text on backpropagation; a formula's output f.
        self.output_name = output_name or ("f" if _all_scalar(out) else "L")
        self.point = {k: (v.data if isinstance(v, Tensor) else v) for k, v in point.items()}
        if out.data.size != 1:
            raise ValueError(
                f"explain: the output must be a single number, but it has shape {out.shape}; "
                "reduce it first (a sum, a mean, a loss)"
            )

    def build(self) -> Explanation:
        out = self.out
        value = float(out.data.reshape(()))
        if not out.requires_grad:
            return self._constant(value)
        leaf_names = {id(t): name for name, t in self.inputs.items()}
        c = contract(out, leaf_names, self.output_name)
        check_domain(c)
        leaves = [c.objs[k] for k in c.leaves]
        grads, sweep = backward_sweep(out, leaves)
        adjoint = {id(s.node): s.upstream for s in sweep}
        adjoint.update({k: g for k, g in zip(c.leaves, grads)})
        self.c = c
        self.scalar = all(np.size(c.value(k)) == 1 for k in c.keys)
        # Without SymPy (it is an optional extra) the numbers are still the engine's.
        self.symbolic = self.scalar and have_sympy()
        # float32 rounding is about 1e-7 relative; a float64 point is checked tightly.
        single = any(c.value(k).dtype == np.float32 for k in c.keys)
        self.rtol = 1e-4 if single else 1e-7
        derivs = {}
        for name in self.wrt:
            t = self.inputs[name]
            g = adjoint.get(id(t)) if id(t) in c.objs else None
            derivs[name] = _as_value(np.zeros_like(t.data) if g is None else g)
        links = self._links(adjoint)
        quantities = self._quantities(adjoint, value)
        paths, truncated = self._paths(links) if self.scalar else ([], False)
        checks = self._checks(links, paths, derivs) if self.scalar else []
        network = None
        if self.scalar:
            backward = backward_steps(c, sweep)
        else:
            backward, checks, network = network_view(
                c, sweep, adjoint, self.wrt, self.inputs, max(self.rtol, 1e-6)
            )
        for chk in checks:
            if not chk.ok:
                warnings.warn(
                    f"chainrule.explain: {chk.what}: the expected value {chk.expected!r} and the "
                    f"engine's {chk.automatic!r} disagree at the point. This is a bug in "
                    "chainrule; please report it with the function and the point.",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return Explanation(
            output=c.labels[c.output],
            value=value,
            wrt=self.wrt,
            derivatives=derivs,
            quantities=quantities,
            steps=links,
            paths=paths,
            backward=backward,
            checks=checks,
            network=network,
            point={k: _as_value(v) for k, v in self.point.items()},
            scalar=self.scalar,
            source=self.program.source if self.program is not None else None,
            paths_truncated=truncated,
            notes=_notes(links, derivs, c.labels[c.output])
            + ([] if self.symbolic or not self.scalar else [_NO_SYMPY])
            + self._formula_notes(),
        )

    def _constant(self, value: float) -> Explanation:
        # The output does not depend on any input: every derivative is zero.
        derivs = {n: _as_value(np.zeros_like(self.inputs[n].data)) for n in self.wrt}
        quantities = {
            n: Quantity(n, "input", _as_value(t.data), None, derivs.get(n))
            for n, t in self.inputs.items()
        }
        quantities[self.output_name] = Quantity(self.output_name, "output", value, None, 1.0)
        return Explanation(
            self.output_name,
            value,
            self.wrt,
            derivs,
            quantities,
            [],
            [],
            point={k: _as_value(v) for k, v in self.point.items()},
        )

    # ----- the symbolic side -------------------------------------------------------------
    def _definitions(self) -> dict[int, object]:
        """SymPy expression of each named quantity in terms of the ones it reads."""
        from chainrule.explain.symbolic import symbol

        c = self.c
        if self.program is not None:
            local = self.program.to_sympy(textbook=True)
            defs = {k: local.get(c.labels[k]) for k in c.keys if k in c.preds}
        else:
            symbols = {k: symbol(c.labels[k]) for k in c.keys}
            defs = {k: replay_symbolic(c, k, symbols) for k in c.keys if k in c.preds}
        # σ(z) rather than 1/(1 + e^−z): its derivative then reads σ(z)·(1 − σ(z)).
        return {k: None if d is None else textbook(d) for k, d in defs.items()}

    def _links(self, adjoint) -> list[Link]:
        c = self.c
        defs = self._definitions() if self.symbolic else {}
        self.defs = defs
        links = []
        # Output side first: the order a worked solution reads in.
        for key in reversed(c.keys):
            if key not in c.preds:
                continue
            cot = None if self.scalar else adjoint.get(key)
            if not self.scalar and cot is None:
                continue
            values = replay_value(c, key, cot)
            for pred in c.preds[key]:
                v = values.get(pred)
                if v is None:
                    continue
                link = Link(
                    c.labels[pred], c.labels[key], _as_value(v), partial=len(c.preds[key]) > 1
                )
                if self.scalar and defs.get(key) is not None:
                    self._formula(link, defs[key])
                links.append(link)
        return links

    def _subs(self) -> dict:
        from chainrule.explain.symbolic import symbol

        subs = {
            symbol(self.c.labels[k]): float(np.reshape(self.c.value(k), ())) for k in self.c.keys
        }
        for name, value in self._constants().items():
            subs[symbol(name)] = value
        return subs

    def _constants(self) -> dict[str, float]:
        """Quantities the text defines from numbers alone (``a = 2``): not in the graph."""
        if self.program is None:
            return {}
        in_graph = {self.c.labels[k] for k in self.c.keys}
        names = [n for n in self.program.definitions if n not in in_graph]
        if not names:
            return {}
        values = self.program.evaluate({k: self.point[k] for k in self.program.inputs})
        return {n: float(np.reshape(values[n], ())) for n in names}

    def _formula(self, link: Link, definition) -> None:
        from chainrule.explain.symbolic import symbol

        sp = require_sympy()
        budget = self.budget

        def derive():
            try:
                return without_derivatives(sp.diff(definition, symbol(link.source)))
            except Exception:  # noqa: BLE001 - a formula SymPy cannot differentiate: none shown
                return None

        d = budget.run(derive, default=_CUT, essential=True)
        if d is None or d is _CUT:
            self.no_formula.append((link.label, d is _CUT))
            return

        def polish():
            try:
                return factor_like(sp, _simplify(sp, d), definition)
            except Exception:  # noqa: BLE001 - the unsimplified derivative is still right
                return d

        simpler = budget.run(polish, default=_CUT)
        if simpler is _CUT:
            self.unsimplified.append(link.label)
        else:
            d = simpler
        # The formula shown is the expression evaluated here: what is read is what is checked.
        text = budget.run(
            lambda: (pretty(d), python_form(d), latex(d), mathml(d)), default=None, essential=True
        )
        if text is None:
            self.no_formula.append((link.label, True))
            return
        link.formula, link.python, link.latex, link.mathml = text
        link.symbolic_value = budget.run(
            lambda: _at_point(sp, d, self._subs()), default=None, essential=True
        )
        if link.symbolic_value is None and _finite(link.value):
            # Not finite values are noted apart (see _notes).
            self.unevaluable.append(link.label)

    def _formula_notes(self) -> list[str]:
        """What the formulas could not give: said, never passed over as checked."""
        notes, seconds = [], f"{self.budget.seconds:g} s"
        if self.unsimplified:
            notes.append(
                f"Simplifying took longer than the symbolic budget ({seconds}), so these "
                "formulas are shown as differentiated, not simplified (still checked against "
                f"the engine): {', '.join(self.unsimplified)}."
            )
        late = [label for label, cut in self.no_formula if cut]
        if late:
            notes.append(
                f"No formula for {', '.join(late)}: deriving it took longer than the symbolic "
                f"budget ({seconds}); the value is the engine's, not checked."
            )
        missing = [label for label, cut in self.no_formula if not cut]
        if missing:
            notes.append(
                f"No closed formula for {', '.join(missing)} (SymPy cannot differentiate it); "
                "the value is the engine's, not checked."
            )
        if self.no_total:
            notes.append(
                f"{', '.join(self.no_total)} was not also differentiated as one formula within "
                f"the symbolic budget ({seconds}); its links are checked one by one."
            )
        if self.unevaluable:
            notes.append(
                f"The formula of {', '.join(self.unevaluable)} gives no real number at this "
                "point, so it is not checked; the value is the engine's."
            )
        return notes

    def _checks(self, links, paths, derivs) -> list[Check]:
        checks = []
        # Where the engine's value is not finite the derivative does not exist at the point
        # (0/0, a vertical tangent); SymPy may then give any limit, so there is nothing to
        # check, and the text says so (see _notes).
        for link in links:
            if link.symbolic_value is not None and _finite(link.value):
                checks.append(_check(link.label, link.symbolic_value, link.value, self.rtol))
        for name in self.wrt:
            mine = [p for p in paths if p.wrt == name]
            if mine and not self.paths_truncated:
                terms = [float(p.value) for p in mine]
                # fsum is exact but refuses inf - inf; plain sum gives the NaN there is.
                total = math.fsum(terms) if all(map(math.isfinite, terms)) else sum(terms)
                checks.append(
                    _check(
                        f"d{self.c.labels[self.c.output]}/d{name} (sum over paths)",
                        total,
                        derivs[name],
                        self.rtol,
                    )
                )
            symbolic = self._symbolic_total(name)
            if symbolic is not None and _finite(derivs[name]):
                checks.append(
                    _check(
                        f"d{self.c.labels[self.c.output]}/d{name} (symbolic)",
                        symbolic,
                        derivs[name],
                        self.rtol,
                    )
                )
        return checks

    def _symbolic_total(self, name: str):
        from chainrule.explain.symbolic import symbol

        if not self.defs or any(d is None for d in self.defs.values()):
            return None
        sp = require_sympy()
        c = self.c
        if self._expanded_size(sp) > MAX_EXPANDED_OPS:
            return None  # substituting every definition would blow up; the links are checked

        def total():
            expanded = {}
            try:
                for key in c.keys:
                    if key in self.defs:
                        expanded[symbol(c.labels[key])] = self.defs[key].subs(expanded)
                d = sp.diff(expanded[symbol(c.labels[c.output])], symbol(name))
            except Exception:  # noqa: BLE001 - no symbolic total: the links are still checked
                return None
            return _at_point(sp, without_derivatives(d), self._subs())

        # An extra check of the links' product.  It may use the grace period, as the links'
        # formulas do: the number of checks should not depend on how busy the machine is
        # (a cold SymPy in a fresh process spends most of the budget on its first formulas).
        # Cut short even then, a note says so.
        result = self.budget.run(total, default=_CUT, essential=True)
        if result is _CUT:
            self.no_total.append(f"d{c.labels[c.output]}/d{name}")
            return None
        return result

    def _expanded_size(self, sp) -> int:
        """Operations in the output once every definition is substituted, counted without
        substituting: ``size(N) = ops(N) + sum over uses of M in N of size(M)``.  Nested
        definitions that use their predecessor twice double it at each level."""
        from chainrule.explain.symbolic import symbol

        size: dict[int, int] = {}
        for key in self.c.keys:
            d = self.defs.get(key)
            if d is None:
                size[key] = 1
                continue
            total = sp.count_ops(d)
            for pred in self.c.preds[key]:
                total += d.count(symbol(self.c.labels[pred])) * size[pred]
            size[key] = min(total, 10 * MAX_EXPANDED_OPS)
        return size[self.c.output]

    # ----- quantities and paths ----------------------------------------------------------
    def _quantities(self, adjoint, value) -> dict[str, Quantity]:
        c = self.c
        q: dict[str, Quantity] = {}
        for name, t in self.inputs.items():
            g = adjoint.get(id(t))
            q[name] = Quantity(
                name,
                "input",
                _as_value(t.data),
                None,
                _as_value(np.zeros_like(t.data) if g is None else g),
            )
        for name, v in self._constants().items():
            expr = self.program.definitions[name].expr
            q[name] = Quantity(name, "constant", v, pretty_node(expr), python=str(expr))
        for key in c.keys:
            if key in c.leaves:
                continue
            name = c.labels[key]
            role = "output" if key == c.output else "intermediate"
            forms = {}
            if self.scalar and self.defs.get(key) is not None:
                d = self.defs[key]
                forms = dict(
                    definition=pretty(d), python=python_form(d), latex=latex(d), mathml=mathml(d)
                )
            if self.program is not None and name in self.program.definitions:
                expr = self.program.definitions[name].expr  # as the user wrote it
                forms.update(definition=pretty_node(expr), python=str(expr),
                             mathml=mathml_node(expr))
            g = 1.0 if key == c.output else adjoint.get(key)
            q[name] = Quantity(name, role, _as_value(c.value(key)), gradient=_as_value(g), **forms)
        # The output last, as a worked solution ends.
        out = q.pop(c.labels[c.output])
        q[out.name] = out
        return q

    def _paths(self, links: list[Link]):
        c = self.c
        by_pair = {(link.target, link.source): link for link in links}
        paths, truncated = [], False
        self.paths_truncated = False
        for name in self.wrt:
            target = id(self.inputs[name])
            if target not in c.objs:
                continue
            # Only quantities that lead to the target are walked, so the search costs at
            # most MAX_PATHS paths, however many paths avoid the target.
            leads = {target}
            for key in c.keys:  # topological order: a quantity's preds come before it
                if any(p in leads for p in c.preds.get(key, ())):
                    leads.add(key)
            found = 0
            stack = [(c.output, (c.output,))] if c.output in leads else []
            while stack:
                key, trail = stack.pop()
                if key == target:
                    chain = tuple(
                        by_pair[(c.labels[a], c.labels[b])] for a, b in zip(trail, trail[1:])
                    )
                    product = math.prod(float(link.value) for link in chain)
                    names = tuple(c.labels[k] for k in trail)
                    paths.append(Path(name, names, chain, product))
                    found += 1
                    if found >= MAX_PATHS:
                        truncated = self.paths_truncated = True
                        break
                    continue
                for pred in reversed(c.preds.get(key, [])):
                    if pred in leads and (c.labels[key], c.labels[pred]) in by_pair:
                        stack.append((pred, (*trail, pred)))
        return paths, truncated


def _as_value(v):
    """Single numbers as Python floats, arrays as arrays."""
    if v is None:
        return None
    arr = np.asarray(v)
    return float(arr.reshape(())) if arr.size == 1 and arr.ndim == 0 else arr


_CUT = object()  # a step the symbolic budget cut short


_NO_SYMPY = (
    "Formulas need SymPy, which is not installed (in chainrule's clone: "
    'pip install -e ".[explain]"); '
    "the numbers are the engine's."
)


def _finite(v) -> bool:
    return bool(np.all(np.isfinite(v)))


def _notes(links: list[Link], derivs: dict, output: str) -> list[str]:
    bad = [link.label for link in links if not _finite(link.value)]
    bad += [f"d{output}/d{name}" for name, v in derivs.items() if not _finite(v)]
    if not bad:
        return []
    return [
        "Not finite at this point: " + ", ".join(dict.fromkeys(bad)) + ". The function is "
        "not differentiable here (or only in a limit); those values are not checked."
    ]


def _check(what: str, symbolic: float, automatic, rtol: float = 1e-7) -> Check:
    a = float(np.reshape(automatic, ()))
    s = float(symbolic)
    if math.isfinite(a) and math.isfinite(s):
        ok = math.isclose(a, s, rel_tol=rtol, abs_tol=rtol * 1e-2)
    else:
        ok = (math.isnan(a) and math.isnan(s)) or a == s
    return Check(what, s, a, ok)
