"""Seeded random expressions of the expression language, with a point in their domain,
for differential tests and benchmarks of ``cr.explain`` and ``differentiate``.

>>> import random
>>> text, point = random_case(random.Random(0))
>>> len(text) < 80 and set(point) <= {"x", "y"}
True
"""

from __future__ import annotations

import math
import random

import numpy as np

__all__ = ["random_expression", "random_case", "FUNCTIONS"]

#: The one-argument functions drawn from (every function of the language).
FUNCTIONS = "exp log sqrt sin cos tan asin acos atan sinh cosh tanh sigmoid relu abs".split()
_OPS = ("+", "-", "*", "/", "^")


def random_expression(rng: random.Random, variables=("x", "y"), max_chars: int = 80) -> str:
    """A random expression shorter than ``max_chars`` characters in ``variables``."""
    while True:
        text = _node(rng, variables, rng.randint(2, 5), top=True)
        if len(text) < max_chars and any(v in text for v in variables):
            return text


def _node(rng: random.Random, variables, depth: int, top: bool = False) -> str:
    if depth <= 0 or (not top and rng.random() < 0.2):
        r = rng.random()
        if r < 0.75:
            return rng.choice(variables)
        return rng.choice(("2", "3", "0.5", "pi", "1.5"))
    if rng.random() < 0.45:
        return f"{rng.choice(FUNCTIONS)}({_node(rng, variables, depth - 1)})"
    op = rng.choice(_OPS)
    if op == "^":  # small exponents, as written by hand: x^2, x^y
        right = rng.choice(("2", "3", "-1", "0.5", *variables))
    else:
        right = _node(rng, variables, depth - 1)
    left = _node(rng, variables, depth - 1)
    if len(left) > 1 and not left.isalnum():
        left = f"({left})"
    if len(right) > 1 and not right.replace(".", "").isalnum():
        right = f"({right})"
    return f"{left}{op}{right}" if op in "*/^" else f"{left} {op} {right}"


def random_case(rng: random.Random, variables=("x", "y"), max_chars: int = 80, tries: int = 50):
    """``(text, point)``: a random expression and a point where it and its derivative are
    finite (values in ``(-1.5, 1.5)``, rounded to 4 digits)."""
    from chainrule.explain.errors import ExprError
    from chainrule.explain.expr import parse

    while True:
        text = random_expression(rng, variables, max_chars)
        try:
            program = parse(text)
        except ExprError:  # a constant part outside its domain: log(-1)
            continue
        if not program.inputs:  # "exp(2)": the x was in a function's name
            continue
        for _ in range(tries):
            point = {v: round(rng.uniform(-1.5, 1.5), 4) for v in program.inputs}
            if _finite_near(program, point):
                return text, point


def _finite_near(program, point: dict) -> bool:
    """Whether the value is finite at the point and a little away from it (so the point
    is not on an edge of the domain, where a derivative may not exist)."""
    with np.errstate(all="ignore"):
        for shift in (0.0, 1e-3, -1e-3):
            try:
                values = program.evaluate({k: v + shift for k, v in point.items()})
            except (ValueError, ArithmeticError):
                return False
            value = float(np.reshape(values[program.output], ()))
            if not math.isfinite(value) or abs(value) > 1e6:
                return False
    return True
