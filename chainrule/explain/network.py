"""A network's backward pass, told with the names of a textbook and every rule checked.

For a loss of a network, ``cr.explain(lambda: loss_fn(model(X), y), wrt=model)`` shows
the engine's reverse sweep one layer at a time:

    2. z2 = a1·W2ᵀ + b2                 ∂L/∂z2: shape (5, 2), norm 0.314
         ∂L/∂a1 = ∂L/∂z2 · W2           -> shape (5, 4), norm 0.229
         ∂L/∂W2 = (∂L/∂z2)ᵀ · a1        -> shape (2, 4), norm 0.245
         ∂L/∂b2 = Σ_batch ∂L/∂z2        -> shape (2,), norm 0.279

Names: the loss is ``L`` (unless the user named it), the input ``X``, the targets ``y``,
a dense layer's parameters ``W1, b1, W2, b2 ...``, its output ``z1`` and the activation
after it ``a1``; other unnamed results are ``u1, u2, ...``.  A loss written from several
operations (cross-entropy: log-softmax, a pick, a mean) is one step with the rule a
textbook gives, ``∂L/∂z = (softmax(z) − onehot(y))/N``.

**Every displayed rule is evaluated** over the step's named arrays by
:func:`chainrule.ops.notation.evaluate_formula` (the rule as text, read back) and compared
with the gradient the engine sent; each comparison is a
:class:`~chainrule.explain.explanation.Check`, so a wrong displayed rule fails loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from chainrule.autodiff.backward import sum_to_shape
from chainrule.explain.explanation import BackwardStep, Check
from chainrule.ops.notation import ARGUMENT_LETTERS
from chainrule.tensor import Tensor

__all__ = ["NetworkView", "LayerNorm", "network_view", "rule_text", "VANISHING", "EXPLODING"]

#: A weight gradient this many times smaller than the next layer's is flagged as vanishing.
VANISHING = 1e-3
#: ... and this many times larger, or not finite, as exploding.
EXPLODING = 1e3

# The letters the primitives' formulas use for their arguments, by number of arguments.
_LETTERS = ARGUMENT_LETTERS
_TOKEN = re.compile(r"(?<![A-Za-z_])(ans|[a-zA-Z])(?![A-Za-z_0-9])")
#: Activation functions: the result of one applied to a layer's output z_k is a_k.
_ACTIVATIONS = frozenset({"tanh", "relu", "sigmoid", "gelu", "leaky_relu", "softplus", "elu"})


@dataclass
class LayerNorm:
    """One dense layer's gradient sizes: ``‖∂L/∂W‖`` and ``‖∂L/∂b‖`` (None without a
    bias), and ``ratio`` = this layer's ‖∂L/∂W‖ over the next layer's (None for the last)."""

    layer: int
    weight: str
    weight_norm: float
    bias: str | None = None
    bias_norm: float | None = None
    ratio: float | None = None
    flag: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class NetworkView:
    """What the network story adds to an explanation: the forward pass in named steps,
    the parameters' names (``W1`` is ``0.weight``), the gradient sizes layer by layer, and
    the rules that could not be read back (shown but not checked)."""

    forward: list[tuple[str, str]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    layers: list[LayerNorm] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "forward": [{"definition": d, "shape": s} for d, s in self.forward],
            "aliases": dict(self.aliases),
            "layers": [layer.to_dict() for layer in self.layers],
            "unchecked": list(self.unchecked),
        }


def rule_text(formula: str, out: str, args: tuple[str, ...], index: int, loss: str = "L") -> str:
    """The gradient sent to argument ``index`` as a formula in the quantities' names.

    Rules written with ``g`` (the upstream gradient) read ``∂L/∂out`` in its place
    (``g · w`` -> ``∂L/∂z2 · W2``, ``gᵀ · x`` -> ``(∂L/∂z2)ᵀ · a1``); a local derivative
    (an elementwise function's, without ``g``) is multiplied elementwise by the upstream
    gradient: ``∂L/∂a1 ⊙ (1 − tanh²(z1))``.
    """
    upstream = f"∂{loss}/∂{out}"
    letters = _LETTERS.get(len(args), {})
    has_g = False

    def sub(m: re.Match) -> str:
        nonlocal has_g
        tok = m.group(1)
        if tok == "g":
            has_g = True
            after = m.string[m.end() : m.end() + 1]
            return f"({upstream})" if after in ("ᵀ", "²", "³") else upstream
        if tok == "ans":
            return out
        if tok in letters and letters[tok] < len(args):
            return args[letters[tok]]
        return tok

    text = _TOKEN.sub(sub, formula).replace("-", "−")
    # tanh(z1)² is written tanh²(z1), as a textbook does (the evaluator reads both).
    text = re.sub(r"\b([A-Za-z]\w*)\(([^()]*)\)([²³])", r"\1\3(\2)", text)
    if has_g:
        return text
    text = text.strip()
    if text in ("1", ""):
        return upstream
    if text == "−1":
        return f"−{upstream}"
    return f"{upstream} ⊙ ({text})"


def _norm(a) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64).ravel()))


def _shape(obj) -> tuple:
    return tuple(np.shape(obj.data if isinstance(obj, Tensor) else obj.out))


def _value(obj):
    return obj.data if isinstance(obj, Tensor) else obj.out


# ----- names ----------------------------------------------------------------------------------


def _labels(c, order) -> tuple[dict, dict]:
    """Names of the nodes and constant arguments: ``(labels by id, constants by label)``."""
    labels = dict(c.labels)
    constants: dict[str, np.ndarray] = {}
    taken = set(labels.values())
    layer = 0
    count = 0
    first_input = True

    def constant_name(value, preferred: str | None) -> str:
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if arr.size == 1 and arr.dtype.kind in "fiub":
            return f"{float(arr.reshape(())):.6g}"
        if arr.dtype.kind not in "fiub":
            return "·"
        for key, v in constants.items():
            if v is arr or (v.shape == arr.shape and np.array_equal(v, arr)):
                return key
        name = preferred if preferred and preferred not in taken else None
        i = 1
        while name is None:
            name = f"c{i}" if f"c{i}" not in taken else None
            i += 1
        taken.add(name)
        constants[name] = arr
        return name

    const_labels: dict[tuple[int, int], str] = {}
    for node in order:  # targets first: y, wherever else the array is used
        loss = getattr(node, "explain_loss", None)
        if loss is not None:
            const_labels[(id(node), -1)] = constant_name(loss[2], "y")
    for node in order:
        for j, p in enumerate(node.parents):
            if p is None and node.args is not None:
                prefer = None
                if node.prim.name in ("linear", "matmul") and j == 0 and first_input:
                    prefer = "X"
                const_labels[(id(node), j)] = constant_name(node.args[j], prefer)
        if node.prim.name in ("linear", "matmul"):
            first_input = False
        if id(node) in labels:
            continue
        name = None
        if node.prim.name == "linear":
            layer += 1
            w = labels.get(id(node.parents[1])) if len(node.parents) > 1 else None
            k = w[1:] if w and re.fullmatch(r"W\d+", w) else str(layer)
            name = f"z{k}"
        elif node.prim.name in _ACTIVATIONS and node.parents and node.parents[0] is not None:
            parent = labels.get(id(node.parents[0]), "")
            if re.fullmatch(r"z\d+", parent):
                name = f"a{parent[1:]}"
        if name is None or name in taken:
            count += 1
            name = f"u{count}"
            while name in taken:
                count += 1
                name = f"u{count}"
        labels[id(node)] = name
        taken.add(name)
    labels["constants"] = const_labels
    return labels, constants


def _definition(node, out: str, args: tuple[str, ...]) -> str:
    """The forward step as a textbook writes it (a dense layer as ``X·W1ᵀ + b1``)."""
    if node.prim.name == "linear":
        text = f"{args[0]}·{args[1]}ᵀ"
        return f"{out} = {text} + {args[2]}" if len(args) > 2 else f"{out} = {text}"
    if node.prim.name == "matmul":
        return f"{out} = {args[0]}·{args[1]}"
    return f"{out} = {node.prim.name}({', '.join(args)})"


# ----- losses as one step ---------------------------------------------------------------------


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _loss_rule(kind: str, z: str, y: str, reduction: str) -> str:
    n = "/N" if reduction == "mean" else ""
    if kind == "cross_entropy":
        return f"(softmax({z}) − onehot({y})){n}"
    scale = "(2/N)" if reduction == "mean" else "2"
    return f"{scale}·({z} − {y})"


def _inside(loss_node, start) -> set[int]:
    """Ids of the nodes strictly between the loss node and its input ``start``."""
    inner, stack = set(), [loss_node]
    while stack:
        node = stack.pop()
        for p in node.parents:
            if p is None or p is start or isinstance(p, Tensor) or id(p) in inner:
                continue
            inner.add(id(p))
            stack.append(p)
    return inner


# ----- the view ------------------------------------------------------------------------------


def network_view(c, sweep, adjoint: dict, wrt, inputs, rtol: float):
    """``(steps, checks, view)`` for a tensor-valued graph: the backward steps with
    textbook rules, one :class:`Check` per displayed rule, and the :class:`NetworkView`."""
    from chainrule.ops.notation import FormulaError, evaluate_formula

    order = c.order
    labels, constants = _labels(c, order)
    const_labels = labels.pop("constants")
    loss = c.labels[c.output]
    view = NetworkView()
    skip: set[int] = set()
    for node in order:
        group = getattr(node, "explain_loss", None)
        if group is not None:
            skip |= _inside(node, group[1])

    def args_of(node) -> tuple[str, ...]:
        out = []
        for j, p in enumerate(node.parents):
            out.append(const_labels.get((id(node), j), "·") if p is None else labels[id(p)])
        return tuple(out)

    for node in order:
        if id(node) in skip:
            continue
        out = labels[id(node)]
        group = getattr(node, "explain_loss", None)
        if group is not None:
            kind, start = group[0], group[1]
            y = const_labels[(id(node), -1)]
            text = f"{out} = {kind}({labels[id(start)]}, {y})"
        else:
            text = _definition(node, out, args_of(node))
        view.forward.append((text, str(_shape(node)) if _shape(node) else "scalar"))

    steps, checks = [], []
    for s in sweep:
        node = s.node
        if id(node) in skip:
            continue
        out = labels[id(node)]
        group = getattr(node, "explain_loss", None)
        if group is not None:
            kind, start, target, reduction = group
            z, y = labels[id(start)], const_labels[(id(node), -1)]
            rhs = _loss_rule(kind, z, y, reduction)
            zval = np.asarray(_value(start), dtype=np.float64)
            values = {
                z: zval,
                y: np.asarray(target),
                "N": float(np.shape(target)[0] if kind == "cross_entropy" else np.size(target)),
            }
            n_classes = zval.shape[-1]
            functions = {"softmax": _softmax, "onehot": lambda t, n=n_classes: np.eye(n)[t]}
            sent_value = adjoint.get(id(start))
            rule = f"∂{loss}/∂{z} = {rhs}"
            _check_rule(
                checks,
                view,
                rule,
                rhs,
                values,
                sent_value,
                _shape(start),
                rtol,
                evaluate_formula,
                FormulaError,
                functions=functions,
                elementwise=True,
            )
            steps.append(
                BackwardStep(
                    len(steps) + 1,
                    kind,
                    out,
                    (z, y),
                    (rule, ""),
                    tuple(np.shape(s.upstream)),
                    _norm(s.upstream),
                    ((z, _shape(start), _norm(sent_value)), None),
                )
            )
            continue
        args = args_of(node)
        rules, sent = [], []
        values = {name: _value(p) for name, p in zip(args, node.parents) if p is not None}
        values.update({k: v for k, v in constants.items() if k in args})
        values[out] = node.out
        values[f"∂{loss}/∂{out}"] = np.asarray(s.upstream)
        formulas = node.prim.formulas
        for j, (p, contrib) in enumerate(zip(node.parents, s.contributions)):
            if p is None or contrib is None:
                rules.append("")
                sent.append(None)
                continue
            formula = formulas[j] if j < len(formulas) else ""
            rhs = rule_text(formula, out, args, j, loss)
            shape = _shape(p)
            contrib = np.asarray(contrib)
            if contrib.shape != shape:
                contrib = sum_to_shape(contrib, shape, np)
            rule = f"∂{loss}/∂{args[j]} = {rhs}"
            _check_rule(
                checks,
                view,
                rule,
                rhs,
                values,
                contrib,
                shape,
                rtol,
                evaluate_formula,
                FormulaError,
                elementwise="⊙" in rhs,
            )
            rules.append(rule)
            sent.append((args[j], shape, _norm(contrib)))
        steps.append(
            BackwardStep(
                len(steps) + 1,
                node.prim.name,
                out,
                args,
                tuple(rules),
                tuple(np.shape(s.upstream)),
                _norm(s.upstream),
                tuple(sent),
            )
        )
    view.layers = _layers(wrt, adjoint, inputs)
    return steps, checks, view


def _check_rule(
    checks,
    view,
    rule,
    rhs,
    values,
    engine,
    shape,
    rtol,
    evaluate,
    error,
    functions=None,
    elementwise=False,
) -> None:
    """Evaluate the displayed ``rhs`` over ``values`` and compare with the engine's."""
    try:
        with np.errstate(all="ignore"):
            shown = evaluate(rhs, values, functions=functions, shape=shape, elementwise=elementwise)
        shown = np.broadcast_to(np.asarray(shown, dtype=np.float64), shape)
    except (error, KeyError):
        view.unchecked.append(rule)  # not in the notation the evaluator reads
        return
    except (ValueError, TypeError, IndexError):
        # Readable but not computable over the step's arrays (shapes that do not fit):
        # the rule shown is wrong, which is what a check is for.
        checks.append(Check(rule, None, _norm(engine), False))
        return
    auto = np.asarray(engine, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(auto))) if auto.size else 1.0)
    ok = bool(np.allclose(shown, auto, rtol=rtol, atol=rtol * scale))
    checks.append(Check(rule, _norm(shown), _norm(auto), ok))


def _layers(wrt, adjoint, inputs) -> list[LayerNorm]:
    """Gradient norms of the dense layers' parameters ``W1, b1, W2, ...`` (in layer
    order), each weight's ratio to the next layer's, flagged when vanishing/exploding."""
    rows = []
    for name in wrt:
        m = re.fullmatch(r"W(\d+)", name)
        if m is None:
            continue
        k = int(m.group(1))
        g = adjoint.get(id(inputs[name]))
        bias = f"b{k}" if f"b{k}" in wrt else None
        gb = adjoint.get(id(inputs[bias])) if bias else None
        rows.append(
            LayerNorm(
                k,
                name,
                0.0 if g is None else _norm(g),
                bias,
                None if bias is None else (0.0 if gb is None else _norm(gb)),
            )
        )
    rows.sort(key=lambda r: r.layer)
    for here, nxt in zip(rows, rows[1:]):
        if nxt.weight_norm > 0:
            here.ratio = here.weight_norm / nxt.weight_norm
        elif here.weight_norm > 0:
            here.ratio = float("inf")
        if here.ratio is not None:
            if not np.isfinite(here.weight_norm) or here.ratio > EXPLODING:
                here.flag = "exploding"
            elif here.ratio < VANISHING:
                here.flag = "vanishing"
    for r in rows:
        if not np.isfinite(r.weight_norm):
            r.flag = "exploding"
    return rows
