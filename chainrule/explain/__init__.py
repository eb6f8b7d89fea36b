"""The chain rule, shown: the expression language and the explainer.

:mod:`chainrule.explain.expr` parses formulas safely; the explainer shows every link of
the chain rule as a formula and as a number.
"""

from chainrule.explain.errors import ExprDomainError, ExprError, ExprSyntaxError
from chainrule.explain.expr import Program, parse

__all__ = ["ExprError", "ExprSyntaxError", "ExprDomainError", "Program", "parse"]
