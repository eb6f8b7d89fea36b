"""The chain rule, shown: ``cr.explain``, the expression language, and derivatives.

- :func:`explain` — every link of the chain as a formula and a number at the point
  (:mod:`chainrule.explain.core`), with renderers to text, Markdown, LaTeX, DOT and JSON;
- :func:`parse` — the safe expression language (:mod:`chainrule.explain.expr`);
- :func:`differentiate` — a derivative of any order, formula and value
  (:mod:`chainrule.explain.diff`).
"""

from chainrule.explain.core import explain
from chainrule.explain.diff import Derivative, differentiate
from chainrule.explain.errors import ExprDomainError, ExprError, ExprSyntaxError
from chainrule.explain.explanation import BackwardStep, Check, Explanation, Link, Path, Quantity
from chainrule.explain.expr import Program, parse

__all__ = [
    "explain",
    "Explanation",
    "Quantity",
    "Link",
    "Path",
    "BackwardStep",
    "Check",
    "differentiate",
    "Derivative",
    "parse",
    "Program",
    "ExprError",
    "ExprSyntaxError",
    "ExprDomainError",
]
