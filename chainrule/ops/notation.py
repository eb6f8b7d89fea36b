"""The textbook notation of derivative rules: printed from SymPy, and evaluated over arrays.

A primitive's displayed rule is a string such as ``cos(x)``, ``σ(x)·(1 - σ(x))``,
``1 if x > 0 else 0`` or, for a matrix rule, ``∂L/∂y · W`` and ``Σ_batch ∂L/∂y``.
:func:`print_formula` writes a SymPy expression in this notation (the formulas of
primitives declared with a SymPy form are derived by it from ``sympy.diff``);
:func:`evaluate_formula` reads it back and computes it over named NumPy arrays, so that a
test (or the explainer) can check that what is displayed is what the engine computes.

The notation, as :func:`evaluate_formula` reads it:

* names: any identifier (``x``, ``W``, ``a_min``, ``z1``) and gradient names
  ``∂L/∂y`` (one name: ``values["∂L/∂y"]``); constants ``π``/``pi`` and ``e``;
* ``+ - − * / ^ **``; ``⊙`` and ``*`` multiply elementwise; superscripts ``x²``, ``x³``,
  ``tan²(x)`` (= ``tan(x)²``), ``x^(2/3)``; ``√x`` and ``√(...)``;
* ``a · b`` is the product a textbook means: plain multiplication when either is a number
  (0-d); else NumPy's matrix product (a stack of matrices is a stack of products; a 1-D
  vector is a row on the left, a column on the right), except that a transposed vector
  times a vector, or a vector times a transposed one, is their outer product (``gᵀ · x``,
  ``g · bᵀ``), and a stack of numbers times a stack of matrices of that stack shape
  multiplies each matrix by its number (``g · A⁻ᵀ`` for a batch of determinants);
* ``Aᵀ`` swaps the last two axes (a 1-D vector becomes a column); ``A⁻¹`` is the inverse
  and ``A⁻ᵀ`` the inverse transposed (the last two axes of a stack of matrices);
* ``Σ_batch X`` sums ``X`` over every axis but the last (the batch axes of a dense
  layer); ``X`` is the atom that follows, or a parenthesized group;
* comparisons ``< > ≤ ≥ <= >=`` (chained: ``a ≤ x ≤ b``; a bound whose value is None is
  absent, so a comparison with it holds), ``and``, ``or``, ``not`` and
  ``a if cond else b`` elementwise; ``σ`` is the logistic sigmoid;
* functions: those of the expression language (``exp log sqrt sin ... sigmoid relu``),
  ``sign``, ``floor``, ``ceil``, ``det``, and any passed in ``functions``.

Nothing here runs user text as Python: the text is rewritten into Python syntax, parsed
with :mod:`ast`, and only a whitelist of node types is evaluated.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping

import numpy as np

from chainrule.ops.tables import expression_functions

__all__ = ["evaluate_formula", "print_formula", "FormulaError", "rule_values", "rule_formula",
           "ARGUMENT_LETTERS"]


class FormulaError(ValueError):
    """A displayed formula that cannot be read or evaluated (names the formula and why)."""


# ----- printing SymPy in the notation ------------------------------------------------------

_SUPERSCRIPT = {"2": "²", "3": "³"}


def print_formula(expr) -> str:
    """``expr`` (a SymPy expression) in the notation: ``·`` for products, ``x²``, ``x^(a)``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> print_formula(sp.diff(sp.tan(x), x))
    'tan(x)² + 1'
    """
    text = str(expr)
    # x**2 -> x², (...)**3 -> (...)³; other powers x**y -> x^y (the caret of textbooks).
    text = re.sub(r"\*\*([23])(?![\d.])", lambda m: _SUPERSCRIPT[m.group(1)], text)
    text = text.replace("**", "^").replace("*", "·")
    return text.replace("pi", "π")


# ----- reading the notation back -----------------------------------------------------------

_GRADIENT_NAME = re.compile(r"∂[^\s/·()⊙*+\-−,]+/∂[^\s·()⊙*+\-−,ᵀ⁻²³^]+")
_REPLACE = (
    ("−", "-"), ("≤", "<="), ("≥", ">="), ("≠", "!="), ("⊙", "*"), ("×", "*"),
    ("·", "@"), ("^", "**"), ("⁻ᵀ", ".invT"), ("⁻¹", ".inv"), ("ᵀ", ".T"),
    ("²", "**2"), ("³", "**3"), ("σ", "sigmoid"), ("π", "pi"),
)
_FUNC_POWER = re.compile(r"([A-Za-z_]\w*)([²³])\(")


def _matching(text: str, start: int) -> int:
    """The index just past the parenthesis that closes the one at ``text[start]``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise FormulaError(f"unbalanced parentheses in {text!r}")


def _atom_end(text: str, start: int) -> int:
    """The end of the atom starting at ``text[start]``: a parenthesized group, or a name or
    number with its call parentheses and postfix marks (ᵀ, ⁻¹, ², ...)."""
    i = start
    if i < len(text) and text[i] == "(":
        i = _matching(text, i)
    else:
        m = re.match(r"[\w.]+", text[i:])
        if not m:
            raise FormulaError(f"expected a quantity after Σ_batch or √ in {text!r}")
        i += m.end()
        if i < len(text) and text[i] == "(":
            i = _matching(text, i)
    while i < len(text) and text[i] in "ᵀ⁻¹²³":
        i += 1
    return i


def _rewrite_prefix(text: str, mark: str, func: str) -> str:
    """``mark X`` -> ``func(X)`` for the atom X after each occurrence of ``mark``."""
    while mark in text:
        at = text.index(mark)
        start = at + len(mark)
        while start < len(text) and text[start] == " ":
            start += 1
        end = _atom_end(text, start)
        text = f"{text[:at]}{func}({text[start:end]}){text[end:]}"
    return text


def _to_python(text: str, names: dict[str, str]) -> str:
    """The formula in Python syntax; gradient names are replaced by identifiers in ``names``."""

    def name_of(m: re.Match) -> str:
        key = m.group(0)
        names.setdefault(key, f"_grad{len(names)}")
        return names[key]

    out = _GRADIENT_NAME.sub(name_of, text)
    out = _rewrite_prefix(out, "Σ_batch", "_sum_batch")
    out = _rewrite_prefix(out, "√", "sqrt")
    # tan²(x) is tan(x)²
    while (m := _FUNC_POWER.search(out)) is not None:
        end = _matching(out, m.end() - 1)
        out = f"{out[:m.start()]}{m.group(1)}{out[m.end() - 1:end]}{m.group(2)}{out[end:]}"
    for old, new in _REPLACE:
        out = out.replace(old, new)
    return out


class _Column(np.ndarray):
    """A transposed 1-D vector: an ``n × 1`` column that remembers it was a vector."""


def _vector(a) -> np.ndarray | None:
    """The vector behind ``a`` if it is a 1-D array or a transposed one, else None."""
    if isinstance(a, _Column) and a.ndim == 2 and a.shape[1] == 1:
        return np.asarray(a)[:, 0]
    return a if a.ndim == 1 else None


def _product(a, b):
    """``a · b``: multiplication with a number, the outer product of a vector and a
    transposed vector, else NumPy's matrix product."""
    a, b = np.asanyarray(a), np.asanyarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return np.asarray(a) * np.asarray(b)
    # A stack of numbers times a stack of matrices of the same stack shape (g · A⁻ᵀ for a
    # batched det): each matrix times its number.
    if a.ndim >= 1 and b.ndim >= 2 and a.shape == b.shape[:-2]:
        return np.asarray(a)[..., None, None] * np.asarray(b)
    if b.ndim >= 1 and a.ndim >= 2 and b.shape == a.shape[:-2]:
        return np.asarray(a) * np.asarray(b)[..., None, None]
    va, vb = _vector(a), _vector(b)
    if va is not None and vb is not None and (isinstance(a, _Column) or isinstance(b, _Column)):
        return np.multiply.outer(va, vb)
    return np.matmul(np.asarray(a), np.asarray(b))


def _transpose(a):
    a = np.asanyarray(a)
    if isinstance(a, _Column):
        return np.asarray(a)[:, 0]
    if a.ndim < 2:
        return np.asarray(a).reshape(-1, 1).view(_Column)
    return np.swapaxes(a, -1, -2)


def _sum_batch(a):
    a = np.asarray(a)
    return a.sum(axis=tuple(range(a.ndim - 1))) if a.ndim > 1 else a


_POSTFIX = {
    "T": _transpose,
    "inv": np.linalg.inv,
    "invT": lambda a: _transpose(np.linalg.inv(a)),
}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: _product,
}
_COMPARE = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}


def _base_functions() -> dict[str, Callable]:
    fns: dict[str, Callable] = {name: p.forward for name, p in expression_functions().items()}
    fns.update(sign=np.sign, sqrt=np.sqrt, floor=np.floor, ceil=np.ceil, det=np.linalg.det,
               _sum_batch=_sum_batch, softmax=lambda x: np.exp(x) / np.exp(x).sum())
    return fns


def evaluate_formula(text: str, values: Mapping[str, object], *,
                     functions: Mapping[str, Callable] | None = None, shape=None,
                     elementwise: bool = False):
    """The value of the displayed formula ``text`` with its names bound by ``values``.

    ``values`` maps each name as written (``"x"``, ``"W"``, ``"∂L/∂y"``) to a number or
    array; ``functions`` adds or overrides functions by name. With ``shape``, the result is
    summed over broadcast axes to that shape, as the engine sums a gradient back to its
    input's shape (``aᵀ · g`` over a stack of matrices gives one ``aᵀ · g`` per matrix).
    With ``elementwise``, ``·`` multiplies elementwise, as in the local derivative of an
    elementwise function (``σ(x)·(1 - σ(x))`` over an array of points).

    >>> import numpy as np
    >>> W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])      # y = x·Wᵀ + b
    >>> g = np.array([[1.0, 0.0, -1.0]])                          # ∂L/∂y, batch of one
    >>> evaluate_formula("∂L/∂y · W", {"∂L/∂y": g, "W": W})
    array([[-4., -4.]])
    >>> evaluate_formula("σ(x)·(1 − σ(x))", {"x": 0.0})
    0.25

    Raises :class:`FormulaError` (a ``ValueError``) naming the formula for a name with no
    value, an unknown function, or syntax outside the notation.
    """
    names: dict[str, str] = {}
    source = _to_python(text, names)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise FormulaError(f"cannot read the formula {text!r}: {err.msg}") from None
    env = {ident: values[key] for key, ident in names.items() if key in values}
    env.update({k: v for k, v in values.items() if k.isidentifier()})
    missing = [key for key, ident in names.items() if ident not in env]
    if missing:
        raise FormulaError(f"formula {text!r}: no value for {', '.join(missing)}")
    binary = dict(_BINARY)
    if elementwise:
        binary[ast.MatMult] = operator.mul
    fns = _base_functions()
    if functions:
        fns.update(functions)

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in ("pi", "e"):
                return {"pi": np.pi, "e": np.e}[node.id]
            raise FormulaError(f"formula {text!r}: no value for {node.id!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            return binary[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            v = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return np.logical_not(v)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Attribute) and node.attr in _POSTFIX:
            return _POSTFIX[node.attr](ev(node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in fns:
                raise FormulaError(f"formula {text!r}: unknown function {node.func.id!r}")
            return fns[node.func.id](*[ev(a) for a in node.args])
        if isinstance(node, ast.Compare):
            result, left = True, ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                if type(op) not in _COMPARE:
                    break
                right = ev(comp)
                if left is not None and right is not None:  # None: an absent bound holds
                    result = np.logical_and(result, _COMPARE[type(op)](left, right))
                left = right
            else:
                return result
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            result = ev(node.values[0])
            for v in node.values[1:]:
                result = combine(result, ev(v))
            return result
        if isinstance(node, ast.IfExp):
            return np.where(ev(node.test), ev(node.body), ev(node.orelse))
        raise FormulaError(f"formula {text!r}: {ast.dump(node)[:40]}... is outside the notation")

    with np.errstate(all="ignore"):
        result = ev(tree)
    if isinstance(result, _Column):
        result = np.asarray(result)
    if shape is not None:
        result = _sum_to_shape(np.asarray(result), tuple(shape))
    return result


def _sum_to_shape(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` summed over the axes broadcasting added or stretched, down to ``shape`` (one
    with as many elements, a vector written as a column, is only reshaped)."""
    if a.size == int(np.prod(shape)) and a.ndim != len(shape):
        return a.reshape(shape)
    extra = a.ndim - len(shape)
    if extra > 0:
        a = a.sum(axis=tuple(range(extra)))
    elif extra < 0:
        a = a.reshape((1,) * -extra + a.shape)
    stretched = tuple(i for i, (n, m) in enumerate(zip(a.shape, shape)) if m == 1 and n != 1)
    if stretched:
        a = a.sum(axis=stretched, keepdims=True)
    return np.broadcast_to(a, shape) if a.shape != shape else a


# ----- formulas derived from a SymPy form ----------------------------------------------------

#: The letters rules use for a primitive's arguments, by their number (``x, y``: the first
#: and second argument; a dense layer's ``x, w, b``); derived formulas use these.
LETTERS = {1: ("x",), 2: ("x", "y"), 3: ("x", "w", "b")}

#: Every letter a displayed rule may use for an argument, by the number of arguments, with
#: the argument it names (``a, b`` of a matrix product, ``A`` of a matrix function); in a
#: rule, ``g`` is the upstream gradient ``∂L/∂ans`` and ``ans`` the primitive's output.
ARGUMENT_LETTERS = {
    1: {"x": 0, "A": 0},
    2: {"x": 0, "a": 0, "A": 0, "y": 1, "b": 1, "w": 1},
    3: {"x": 0, "w": 1, "b": 2},
}


def rule_values(arity: int, args, ans, g, params=None) -> dict:
    """The values of the names a displayed rule of a primitive may use: its argument
    letters (:data:`ARGUMENT_LETTERS`), ``ans``, ``g`` and its keyword parameters."""
    values = {letter: args[i] for letter, i in ARGUMENT_LETTERS.get(arity, {}).items()
              if i < len(args)}
    return {**values, **(params or {}), "ans": ans, "g": g}


def rule_formula(formula: str) -> str:
    """A displayed rule as the whole VJP: a local derivative ``d`` (no ``g`` in it) sends
    ``g · (d)``, elementwise for an elementwise function; a rule with ``g`` is already one."""
    if re.search(r"(?<![\w∂])g(?![A-Za-z0-9_])", formula):
        return formula
    return f"g · ({formula})"


def derived_formulas(symbolic: Callable, arity: int, given: tuple = ()) -> Callable[[], tuple]:
    """A function that makes the displayed local derivatives of a primitive from its SymPy
    form: ``∂f/∂x`` by ``sympy.diff``, printed by :func:`print_formula`; ``given[i]`` (a
    textbook formula, where SymPy's is not how a textbook writes it) takes precedence.
    Without SymPy installed the derived ones are empty (explanations then say SymPy is
    needed for formulas)."""

    def make() -> tuple:
        try:
            import sympy as sp
        except ImportError:  # pragma: no cover - sympy is in the 'explain' extra
            sp = None
        out = []
        for i in range(len(LETTERS[arity])):
            if i < len(given) and given[i]:
                out.append(given[i])
            elif sp is None:
                out.append("")
            else:
                symbols = [sp.Symbol(n, real=True) for n in LETTERS[arity]]
                out.append(print_formula(sp.diff(symbolic(sp, *symbols), symbols[i])))
        return tuple(out)

    return make
