"""What an explanation holds: quantities, links, paths, the backward sweep, the checks.

An :class:`Explanation` is plain data; the renderers (:mod:`chainrule.explain.render`)
turn it into text, Markdown, LaTeX, Graphviz DOT or JSON, and the step-through page
(:mod:`chainrule.explain.page`) into HTML. None of them imports :mod:`chainrule.viz`,
which sits above the explainer and reads Explanations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.explain.page import explanation_html

__all__ = ["Quantity", "Link", "Path", "BackwardStep", "Check", "Explanation"]


def _plain(value):
    """A JSON-ready form of a value: a float, a nested list, or None."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        v = float(arr)
        return v if np.isfinite(v) else str(v)
    return [_plain(v) for v in arr]




@dataclass
class Quantity:
    """A named quantity: an input, an intermediate named by the user, or the output.

    ``definition`` is its formula in terms of the quantities it reads, in textbook
    notation (``None`` for an input; ``python``, ``latex``, ``mathml``: other forms);
    ``gradient`` is the derivative of the output with respect to it.
    """

    name: str
    role: str
    value: object
    definition: str | None = None
    gradient: object = None
    latex: str | None = None
    python: str | None = None
    mathml: str | None = None

    @property
    def shape(self) -> tuple:
        """The shape of the quantity's value (``()`` for a number), as ``np.shape`` gives it."""
        return np.shape(self.value)

    def to_dict(self) -> dict:
        """The quantity as plain JSON-ready data (name, role, formulas, value, shape, gradient)."""
        return {
            "name": self.name,
            "role": self.role,
            "definition": self.definition,
            "python": self.python,
            "latex": self.latex,
            "value": _plain(self.value),
            "shape": list(self.shape),
            "gradient": _plain(self.gradient),
        }


@dataclass
class Link:
    """One link of the chain: the local derivative ``∂target/∂source`` at the point.

    ``formula`` is the simplified symbolic derivative in terms of the named quantities,
    in textbook notation (``σ(z)·(1 − σ(z))``; ``None`` where a primitive has no symbolic
    form), ``python`` the same in Python syntax, ``latex`` and ``mathml`` typeset;
    ``value`` its number from the engine, ``symbolic_value`` the formula evaluated at the
    point (the check).  ``partial`` says ``target`` reads other quantities too, so the link
    holds them fixed.
    """

    source: str
    target: str
    value: object
    formula: str | None = None
    latex: str | None = None
    symbolic_value: float | None = None
    partial: bool = False
    python: str | None = None
    mathml: str | None = None

    @property
    def label(self) -> str:
        """The link's name in Leibniz notation, ``dy/dx`` (``∂y/∂x`` when ``target`` reads other
        quantities too).
        """
        d = "∂" if self.partial else "d"
        return f"{d}{self.target}/{d}{self.source}"

    def to_dict(self) -> dict:
        """The link as plain JSON-ready data (``from``, ``to``, label, formulas, values,
        ``partial``).
        """
        return {
            "from": self.source,
            "to": self.target,
            "label": self.label,
            "formula": self.formula,
            "python": self.python,
            "latex": self.latex,
            "value": _plain(self.value),
            "symbolic_value": _plain(self.symbolic_value),
            "partial": self.partial,
        }


@dataclass
class Path:
    """One way ``wrt`` reaches the output: the links from the output back to ``wrt``,
    and their product."""

    wrt: str
    quantities: tuple[str, ...]
    links: tuple[Link, ...]
    value: object

    def to_dict(self) -> dict:
        """The path as plain JSON-ready data: its input, the quantities on it, its links' labels
        and their product.
        """
        return {
            "wrt": self.wrt,
            "quantities": list(self.quantities),
            "links": [link.label for link in self.links],
            "value": _plain(self.value),
        }


@dataclass
class BackwardStep:
    """One node of the engine's reverse sweep: the operation, its local rule, the gradient
    that arrived (upstream) and the gradients it sent to each argument."""

    index: int
    op: str
    output: str
    arguments: tuple[str, ...]
    rules: tuple[str, ...]
    upstream_shape: tuple
    upstream_norm: float
    sent: tuple[tuple[str, tuple, float] | None, ...]

    def to_dict(self) -> dict:
        """The step as plain JSON-ready data (operation, rules, upstream gradient's shape and
        norm, what it sent each argument).
        """
        return {
            "index": self.index,
            "op": self.op,
            "output": self.output,
            "arguments": list(self.arguments),
            "rules": list(self.rules),
            "upstream_shape": list(self.upstream_shape),
            "upstream_norm": _plain(self.upstream_norm),
            "sent": [
                None if s is None else {"to": s[0], "shape": list(s[1]), "norm": _plain(s[2])}
                for s in self.sent
            ],
        }


@dataclass
class Check:
    """A number computed two ways and whether they agree: ``expected`` independently
    (a SymPy formula at the point, or the sum over paths), ``automatic`` by the engine."""

    what: str
    expected: float | None
    automatic: float
    ok: bool

    def to_dict(self) -> dict:
        """The check as plain JSON-ready data (``what``, ``expected``, ``automatic``, ``ok``)."""
        return {
            "what": self.what,
            "expected": _plain(self.expected),
            "automatic": _plain(self.automatic),
            "ok": self.ok,
        }


@dataclass
class Explanation:
    """The chain rule for one function at one point, shown.

    Attributes:
        output: the output's name.  ``value``: its value at the point.
        wrt: the inputs differentiated by.  ``derivatives``: ``{input: d output/d input}``.
        quantities: ``{name: Quantity}``, inputs first, output last.
        steps: the links (``∂target/∂source``, formula, value), output side first.
        paths: for each input, every path from it to the output, with its product.
        backward: the engine's reverse sweep, node by node.
        checks: symbolic and automatic numbers compared (``all(c.ok for c in checks)``).
        scalar: whether every quantity is a single number (else formulas are omitted and
        the backward sweep is the main story).
    """

    output: str
    value: object
    wrt: tuple[str, ...]
    derivatives: dict[str, object]
    quantities: dict[str, Quantity]
    steps: list[Link]
    paths: list[Path]
    backward: list[BackwardStep] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    point: dict[str, object] = field(default_factory=dict)
    scalar: bool = True
    source: str | None = None
    paths_truncated: bool = False
    notes: list[str] = field(default_factory=list)
    #: The forward pass, parameter names and gradient norms per layer of a network
    #: (a :class:`~chainrule.explain.network.NetworkView`); None for anything else.
    network: object = None
    #: ``evaluate(point) -> (output, {input: derivative})``, for :meth:`descend`.
    evaluator: object = field(default=None, repr=False, compare=False)

    @property
    def derivative(self):
        """The derivative of the output with respect to the single input in ``wrt`` (a number or
        an array shaped like that input), or the dict ``{input: derivative}`` when there are
        several inputs.
        """
        if len(self.wrt) == 1:
            return self.derivatives[self.wrt[0]]
        return dict(self.derivatives)

    @property
    def links(self) -> list[Link]:
        """The links of the chain, the same list as ``steps`` (each a :class:`Link`, output side
        first).
        """
        return self.steps

    @property
    def agrees(self) -> bool:
        """Whether every symbolic value matched the engine's (see ``checks``)."""
        return all(c.ok for c in self.checks)

    def descend(self, lr: float, steps: int = 1):
        """Gradient descent from the explained point: ``steps`` steps ``w ← w − lr·∂L/∂w``
        for every input ``w`` in ``wrt``, each with its numbers and the output before and
        after (a :class:`~chainrule.explain.descend.Descent`; ``print`` it).

        ``lr`` must be a positive finite number and ``steps`` a whole number from 1 to
        1000 (``ValueError`` otherwise).

        For a network (``cr.explain(lambda: loss_fn(model(X), y), wrt=model)``) each
        parameter takes the step ``W ← W − η·∂L/∂W``, shown by its shape and norms, with
        the loss before and after.  It is a preview: the steps are taken on copies, and
        the model's parameters (and buffers) are as they were afterwards; train it with
        ``cr.optim.SGD`` or ``cr.train.fit``.

        >>> import chainrule as cr
        >>> e = cr.explain("L = (y - sigmoid(w*x+b))^2", wrt="w", w=0.5, x=1.5, b=0.1, y=1)
        >>> print(e.descend(0.5))
        Gradient descent with learning rate η = 0.5:
          w ← w − η·dL/dw = 0.5 − 0.5·(−0.188438626) = 0.594219313
          L: 0.08966003617 → 0.07325123912 (down)
        """
        from chainrule.explain.descend import descend

        if self.evaluator is None:
            raise ValueError(
                "descend: this explanation cannot take gradient-descent steps: give the "
                "inputs as numbers at the point, or a network's parameters as wrt "
                "(cr.explain(lambda: loss_fn(model(X), y), wrt=model))"
            )
        start = getattr(self.evaluator, "start", None)
        return descend(self.evaluator, self.output, self.wrt,
                       self.point if start is None else start, lr, steps)

    def to_dict(self) -> dict:
        """Everything shown, as plain JSON-ready data (lists, numbers, strings): the source, the
        point, the values, the derivatives, the quantities, links, paths, backward sweep and
        checks. ``json.dumps(e.to_dict())`` works; arrays become nested lists.
        """
        return {
            "source": self.source,
            "output": self.output,
            "value": _plain(self.value),
            "point": {k: _plain(v) for k, v in self.point.items()},
            "wrt": list(self.wrt),
            "derivatives": {k: _plain(v) for k, v in self.derivatives.items()},
            "quantities": [q.to_dict() for q in self.quantities.values()],
            "links": [link.to_dict() for link in self.steps],
            "paths": [p.to_dict() for p in self.paths],
            "backward": [s.to_dict() for s in self.backward],
            "checks": [c.to_dict() for c in self.checks],
            "agrees": self.agrees,
            "notes": list(self.notes),
            "headline": self.headline,
            "network": None if self.network is None else self.network.to_dict(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The explanation as JSON (values as numbers or nested lists; nan and infinities,
        which JSON cannot hold, as the strings "nan", "inf", "-inf")."""
        from chainrule.explain.render import to_json_text

        return to_json_text(self.to_dict(), indent)

    def to_text(self) -> str:
        """A worked solution in plain text: quantities, the chain, each link, the product."""
        from chainrule.explain.render import to_text

        return to_text(self)

    def to_markdown(self) -> str:
        """The worked solution as Markdown, formulas in ``$...$`` LaTeX."""
        from chainrule.explain.render import to_markdown

        return to_markdown(self)

    def to_latex(self) -> str:
        """The worked solution as a LaTeX ``align*`` block."""
        from chainrule.explain.render import to_latex

        return to_latex(self)

    def to_dot(self) -> str:
        """The contracted graph in Graphviz DOT: quantities with value and gradient, edges
        labelled with the local derivative's formula and value."""
        from chainrule.explain.render import to_dot

        return to_dot(self)

    def to_html(self) -> str:
        """One self-contained HTML page (inline SVG, CSS and JS) that steps through the
        backward pass: Step / Back / Play, each node's ``local × upstream = gradient``.

        The page is built by :mod:`chainrule.explain.page` from this data alone, and its
        graph drawn by :mod:`chainrule.drawing` (Graphviz when installed, else a plain
        layered drawing): both sit below the explainer, so an Explanation renders itself
        without importing :mod:`chainrule.viz` (the pictures' layer, above it; the same
        page is ``cr.viz.explanation_html(e)``)."""
        return explanation_html(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        # Jupyter shows the step-through page (see to_html).
        return explanation_html(self, fragment=True)

    def __str__(self) -> str:
        return self.to_text()

    @property
    def headline(self) -> str:
        """One line saying what was computed, such as ``∂L/∂W1, ∂L/∂b1, ... at L = 0.783``."""
        from chainrule.explain.render import _num

        d = "d" if len(self.wrt) == 1 and self.scalar else "∂"
        names = ", ".join(f"{d}{self.output}/{d}{w}" for w in self.wrt)
        if len(self.wrt) > 6:
            names = ", ".join(f"{d}{self.output}/{d}{w}" for w in self.wrt[:5]) + ", ..."
        return f"{names} at {self.output} = {_num(self.value)}"

    def __repr__(self) -> str:
        if not self.scalar:
            ok = sum(c.ok for c in self.checks)
            return (
                f"<Explanation {self.headline}: {len(self.backward)} backward steps, "
                f"{ok} of {len(self.checks)} rule checks ok>"
            )
        d = self.derivative
        shown = {k: _plain(v) for k, v in d.items()} if isinstance(d, dict) else _plain(d)
        text = f"<Explanation d{self.output}/d{','.join(self.wrt)} = {shown}>"
        return text if len(text) <= 300 else f"<Explanation {self.headline}>"
