"""The one place where cr.compile reads the primitive registry.

Everything the compiler needs from a :class:`~chainrule.autodiff.primitive.Primitive` — how
to call its forward from generated code, how to write that call readably, its local
derivative's formula for the chain-rule comments — is asked here, so a change in how
primitives are declared touches this module only.

A :class:`Callee` is what an ``Op`` calls: a primitive's forward, or a NumPy function with no
derivative (comparisons, ``sign``: chainrule's non-differentiable helpers). It knows

* ``name`` — the global the generated code calls it by (``np.sin``, ``f_sum``);
* ``template`` — an infix form for readability (``{0} * {1}``), when the call is exactly
  NumPy's operator;
* ``math`` — the same operation on Python floats (``math.sin({0})``), for graphs of 0-d
  values, where NumPy's per-call overhead would dominate.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.autodiff.primitive import REGISTRY

# Operators with exactly NumPy's semantics on arrays (and Python's on floats).
_INFIX = {
    "add": "{0} + {1}",
    "subtract": "{0} - {1}",
    "multiply": "{0} * {1}",
    "divide": "{0} / {1}",
    "power": "{0} ** {1}",
    "negative": "-{0}",
}
# NumPy ufunc -> the math function computing the same on a Python float.
_MATH = {
    "exp": "math.exp({0})", "log": "math.log({0})", "sqrt": "math.sqrt({0})",
    "sin": "math.sin({0})", "cos": "math.cos({0})", "tan": "math.tan({0})",
    "arcsin": "math.asin({0})", "arccos": "math.acos({0})", "arctan": "math.atan({0})",
    "sinh": "math.sinh({0})", "cosh": "math.cosh({0})", "tanh": "math.tanh({0})",
    "log1p": "math.log1p({0})", "expm1": "math.expm1({0})", "square": "{0} * {0}",
    "absolute": "abs({0})", "arctan2": "math.atan2({0}, {1})",
    "greater": "{0} > {1}", "greater_equal": "{0} >= {1}", "less": "{0} < {1}",
    "less_equal": "{0} <= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
}


class Callee:
    """What an Op calls, and how generated code writes the call."""

    __slots__ = ("fn", "name", "template", "math", "pure", "label", "prim")

    def __init__(self, fn, name, template=None, math=None, label=None, prim=None):
        self.fn = fn
        self.name = name
        self.template = template
        self.math = math
        self.pure = True
        self.label = label or name
        self.prim = prim

    @property
    def formulas(self) -> tuple:
        """The primitive's displayed local derivatives (read only for ``.source``: some are
        derived by SymPy on first use)."""
        return tuple(self.prim.formulas) if self.prim is not None else ()


_CALLEES: dict = {}


_NAMES: dict = {}  # global name in generated code -> the function it stands for


def _global_name(name: str, fn=None) -> str:
    """``f_<name>``, unique per function (two helpers of one name get ``_2``...)."""
    base = "f_" + re.sub(r"\W", "_", name)
    candidate, k = base, 1
    while candidate in _NAMES and _NAMES[candidate] is not fn:
        k += 1
        candidate = f"{base}_{k}"
    _NAMES[candidate] = fn
    return candidate


def of_primitive(prim) -> Callee:
    """The Callee running ``prim``'s forward."""
    callee = _CALLEES.get(prim)
    if callee is not None and callee.fn is prim.forward:
        return callee
    fwd = prim.forward
    template = _INFIX.get(prim.name)
    if type(fwd) is np.ufunc:
        name = "np." + fwd.__name__
        math_form = _MATH.get(fwd.__name__)
        if prim.name in ("add", "subtract", "multiply", "divide", "negative"):
            math_form = template
        elif prim.name == "power":
            # Python's ** gives a complex number for a negative base and a fractional
            # exponent (NumPy: nan); math.pow raises there instead of returning it.
            math_form = "math.pow({0}, {1})"
    else:
        name = _global_name(prim.name, fwd)
        template = None
        math_form = None
        if prim.name == "copy":
            name, template, math_form = "np.array", None, "{0}"
    callee = Callee(fwd, name, template, math_form, label=prim.name, prim=prim)
    _CALLEES[prim] = callee
    return callee


def of_numpy(fn) -> Callee:
    """The Callee for a NumPy function called without a derivative (``np.greater``)."""
    callee = _CALLEES.get(fn)
    if callee is None:
        name = getattr(fn, "__name__", "fn")
        callee = Callee(fn, "np." + name, None, _MATH.get(name), label=name)
        _CALLEES[fn] = callee
    return callee


def of_function(fn) -> Callee:
    """The Callee for a pure helper marked with ``effects.traced_function``."""
    callee = _CALLEES.get(fn)
    if callee is None:
        name = _global_name(fn.__name__.lstrip("_"), fn)
        callee = Callee(fn, name, None, None, label=fn.__name__)
        _CALLEES[fn] = callee
    return callee


# A fresh buffer: never shared by two values (not a common subexpression).
COPY = Callee(np.array, "np.array", None, "{0}", label="copy")
COPY.pure = False


def globals_for(callees) -> dict:
    """The names generated code calls: ``f_sum`` -> the sum primitive's forward, ..."""
    out = {}
    for c in callees:
        if not c.name.startswith("np."):
            out[c.name] = c.fn
    return out


def float_form_samples() -> list:
    """``(name, args)``: the first sample of each registered primitive whose forward has a
    Python-float form (``math``), where that sample is float64 arrays and no parameters.
    The cases on which the Python-float code and numba's fused loops are tested against
    eager chainrule (values from the primitive's own samples stay in its domain)."""
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        if prim.samples is None or of_primitive(prim).math is None:
            continue
        args, params = prim.samples(np.random.default_rng(3))[0]
        if params or not all(isinstance(a, np.ndarray) and a.dtype == np.float64
                             for a in args):
            continue
        cases.append((name, list(args)))
    return cases


def link_formula(callee: Callee, i: int, arg_names: list[str]) -> str:
    """The local derivative ``d out / d arg_i`` as declared, in the program's names.

    Formulas are written in the rule names ``x, y`` (``cos(x)``, ``-x/y²``); here ``x`` and
    ``y`` become the names of the values at hand.
    """
    if i >= len(callee.formulas) or not callee.formulas[i]:
        return "(rule)"
    text = callee.formulas[i]
    names = {"x": arg_names[0] if arg_names else "x",
             "y": arg_names[1] if len(arg_names) > 1 else "y"}
    if callee.label in ("matmul",):
        names = {"a": arg_names[0], "b": arg_names[1] if len(arg_names) > 1 else "b"}
    pattern = r"(?<![A-Za-z_])(" + "|".join(names) + r")(?![A-Za-z_0-9])"
    return tidy(re.sub(pattern, lambda m: names[m.group(1)], text))


# A number as the code writes it (``2``, ``-0.5``, ``1e-05``), not inside a name (``v2``).
_NUM = r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![A-Za-z0-9_.])"
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def tidy(text: str) -> str:
    """A formula with numbers put in, as a textbook writes it: ``2·t^(2-1)`` is ``2·t``,
    ``3·t^(3-1)`` is ``3·t²``, ``-x/2.0²`` is ``-x/4``, ``1·x`` is ``x``.

    Only arithmetic on numbers written out is done (a difference in parentheses, a power
    of a number, a factor 1 or an exponent 0 or 1); names are left as they are."""
    previous = None
    while text != previous:
        previous = text
        text = re.sub(rf"\(\s*({_NUM})\s*([-+])\s*({_NUM})\s*\)", _difference, text)
        text = re.sub(rf"({_NUM})²", lambda m: _number(float(m[1]) ** 2), text)
        text = re.sub(rf"([\w.]+)\^\(?({_NUM})\)?(?![\w.(])", _power, text)
        text = re.sub(r"(^|[(\s/])(-?)1·", r"\1\2", text)  # 1·x is x (and -1·x is -x)
        text = re.sub(r"·1(?=$|[)\s])", "", text)
        text = re.sub(r"(^|[(·/\s])--", r"\1", text)  # a negative number negated
    return re.sub(r"(?<![\w.])(\d+)\.0(?![\w.])", r"\1", text)  # 2.0 is 2


def _number(v: float) -> str:
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def _difference(m) -> str:
    a, b = float(m[1]), float(m[3])
    return _number(a + b if m[2] == "+" else a - b)


def _power(m) -> str:
    base, exponent = m[1], float(m[2])
    if exponent == 1:
        return base
    if exponent == 0:
        return "1"
    if exponent == int(exponent):
        return base + str(int(exponent)).translate(_SUPERSCRIPT)
    return f"{base}^{_number(exponent)}" if exponent > 0 else f"{base}^({_number(exponent)})"
