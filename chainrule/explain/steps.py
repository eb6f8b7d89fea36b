"""The engine's backward pass, told step by step.

For each node the reverse sweep visits (outputs first), the engine reports the gradient
that arrived, ``∂L/∂out``, and what the node's rule sent to each argument.  A step reads:

    yhat = matmul(h, W2)    ∂L/∂yhat: shape (4, 1), norm 1.49
      ∂L/∂h = (∂L/∂yhat) · W2ᵀ   -> shape (4, 5), norm 1.09
      ∂L/∂W2 = hᵀ · (∂L/∂yhat)   -> shape (5, 1), norm 1.46

Elementwise rules are declared as local derivatives (``cos(x)``), so the gradient sent is
``∂L/∂out · cos(x)``; other rules are written with ``g`` for the upstream gradient
(``g · bᵀ``), which is replaced by its name.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.autodiff.backward import sum_to_shape
from chainrule.explain.explanation import BackwardStep
from chainrule.ops.notation import ARGUMENT_LETTERS
from chainrule.tensor import Tensor

__all__ = ["backward_steps", "rule_text"]

# The letters the primitives' formulas use for their arguments, by number of arguments.
_LETTERS = ARGUMENT_LETTERS
_TOKEN = re.compile(r"(?<![A-Za-z_])(ans|[a-zA-Z])(?![A-Za-z_0-9])")


def rule_text(formula: str, out: str, args: tuple[str, ...], index: int, loss: str = "L") -> str:
    """The gradient sent to argument ``index`` as a formula in the quantities' names
    (``loss`` is the output's name, so the gradients read ``∂loss/∂x``)."""

    def _d(name: str) -> str:
        return f"∂{loss}/∂{name}"

    letters = _LETTERS.get(len(args), {})
    has_g = False

    def sub(m: re.Match) -> str:
        nonlocal has_g
        tok = m.group(1)
        if tok == "g":
            has_g = True
            return f"({_d(out)})"
        if tok == "ans":
            return out
        if tok in letters and letters[tok] < len(args):
            return args[letters[tok]]
        return tok

    text = _TOKEN.sub(sub, formula)
    if has_g:
        return text
    return f"{_d(out)} · ({text})" if text.strip() not in ("1", "") else _d(out)


def _norm(a) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64).ravel()))


def backward_steps(c, sweep) -> list[BackwardStep]:
    """:class:`BackwardStep` records for the sweep ``sweep`` over the contracted graph ``c``.

    Unnamed intermediate results are called ``u1, u2, ...`` in the order the forward pass
    made them; constants are shown by value (or shape).
    """
    labels = dict(c.labels)
    loss = c.labels[c.output]
    count = 0
    for node in c.order:
        if id(node) not in labels:
            count += 1
            labels[id(node)] = f"u{count}"
    steps = []
    for i, s in enumerate(sweep, start=1):
        node = s.node
        out = labels[id(node)]
        args = []
        for j, p in enumerate(node.parents):
            if p is not None:
                args.append(labels.get(id(p), "?"))
            else:
                args.append(_constant(node.args[j] if node.args is not None else None))
        args = tuple(args)
        rules, sent = [], []
        for j, (p, contrib) in enumerate(zip(node.parents, s.contributions)):
            formula = node.prim.formulas[j] if j < len(node.prim.formulas) else ""
            if p is None or contrib is None:
                rules.append("")
                sent.append(None)
                continue
            rule = f"∂{loss}/∂{args[j]} = {rule_text(formula, out, args, j, loss)}"
            shape = tuple(np.shape(p.data if isinstance(p, Tensor) else p.out))
            if np.shape(contrib) != shape:
                # What the argument receives: the engine sums a broadcast gradient back.
                rule += ", summed over the broadcast axes"
                contrib = sum_to_shape(np.asarray(contrib), shape, np)
            rules.append(rule)
            sent.append((args[j], shape, _norm(contrib)))
        steps.append(
            BackwardStep(
                index=i,
                op=node.prim.name,
                output=out,
                arguments=args,
                rules=tuple(rules),
                upstream_shape=tuple(np.shape(s.upstream)),
                upstream_norm=_norm(s.upstream),
                sent=tuple(sent),
            )
        )
    return steps


def _constant(value) -> str:
    if isinstance(value, Tensor):
        value = value.data
    arr = np.asarray(value) if value is not None else None
    if arr is None or arr.dtype.kind not in "fiub":
        return "·"
    if arr.size == 1:
        return f"{float(arr.reshape(())):.6g}"
    return f"[{'×'.join(map(str, arr.shape))} constant]"
