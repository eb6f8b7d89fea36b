"""SymPy functions named as a textbook names them, so that their derivatives read as one.

SymPy spells every function of the language out: ``softplus(x)`` is ``log(1 + e^x)``, whose
derivative SymPy gives as ``e^x/(e^x + 1)``, and ``max(a, b)`` is ``Max(a, b)``, whose
derivative is ``Heaviside(a − b)`` (0 at a tie).  A learner knows ``softplus′ = σ``,
``GELU′(x) = Φ(x) + x·φ(x)`` and ``∂max(a, b)/∂a = 1 if a > b else 0``.  The classes here
are those functions as SymPy functions whose derivative (``fdiff``) is the textbook's,
and whose numerical value (``evalf``) is the spelled-out one, so that the formula a reader
sees is the expression evaluated at the point and compared with the engine.

The rules at kinks and ties are the engine's (see :mod:`chainrule.ops.elementwise`), so
that the check holds there too: ``∂max(a, b)/∂a`` is ``1 if a > b``, ``1/2 if a = b``
(each side gets half the gradient at a tie, as in PyTorch) and ``0 if a < b``;
``LeakyReLU′(x) = 1 if x > 0 else 0.01`` (0.01 at 0); ``ReLU′(0) = 0``.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sp.diff(functions(sp)["softplus"](x), x)
sigmoid(x)
"""

from __future__ import annotations

import functools

__all__ = ["functions", "classes"]


@functools.lru_cache(maxsize=1)
def classes() -> dict:
    """``{name: SymPy function class}`` (made on first use: SymPy is an optional extra)."""
    import sympy as sp

    class _Named(sp.Function):
        """A function of real arguments, evaluated through its spelled-out form."""

        def _spelled(self):  # pragma: no cover - each subclass has its own
            raise TypeError

        def _eval_evalf(self, prec):
            return self._spelled()._eval_evalf(prec)

        def _eval_is_real(self):
            return all(a.is_real for a in self.args) or None

    class sigmoid(_Named):  # noqa: N801 - printed as σ
        """The logistic function ``σ(z) = 1/(1 + e^−z)``, with ``σ′ = σ·(1 − σ)``."""

        def fdiff(self, argindex=1):
            s = sigmoid(self.args[0])
            return s * (1 - s)

        def _spelled(self):
            return 1 / (1 + sp.exp(-self.args[0]))

        def _eval_rewrite_as_exp(self, arg, **kwargs):
            return 1 / (1 + sp.exp(-arg))

        def _latex(self, printer, exp=None):
            arg = printer._print(self.args[0])
            power = f"^{{{exp}}}" if exp else ""
            return rf"\sigma{power}\left({arg}\right)"

    class softplus(_Named):  # noqa: N801
        """``softplus(x) = log(1 + e^x)``, with ``softplus′ = σ``."""

        def fdiff(self, argindex=1):
            return sigmoid(self.args[0])

        def _spelled(self):
            return sp.log(1 + sp.exp(self.args[0]))

    class Phi(_Named):
        """The standard normal CDF ``Φ(x) = (1 + erf(x/√2))/2``, with ``Φ′ = φ``."""

        def fdiff(self, argindex=1):
            return phi(self.args[0])

        def _spelled(self):
            return (1 + sp.erf(self.args[0] / sp.sqrt(2))) / 2

    class phi(_Named):  # noqa: N801
        """The standard normal density ``φ(x) = e^(−x²/2)/√(2π)``, with ``φ′ = −x·φ``."""

        def fdiff(self, argindex=1):
            return -self.args[0] * phi(self.args[0])

        def _spelled(self):
            x = self.args[0]
            return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)

    class gelu(_Named):  # noqa: N801 - printed as GELU
        """``GELU(x) = x·Φ(x)``, with ``GELU′(x) = Φ(x) + x·φ(x)``."""

        def fdiff(self, argindex=1):
            x = self.args[0]
            return Phi(x) + x * phi(x)

        def _spelled(self):
            x = self.args[0]
            return x * (1 + sp.erf(x / sp.sqrt(2))) / 2

    class leaky_relu(_Named):  # noqa: N801 - printed as LeakyReLU
        """``LeakyReLU(x) = x if x > 0 else 0.01·x``; its slope is 0.01 at 0 (the engine's)."""

        def fdiff(self, argindex=1):
            return sp.Piecewise((1, self.args[0] > 0), (sp.Float(0.01), True))

        def _spelled(self):
            x = self.args[0]
            return sp.Max(x, x / 100)

    def _tie(win, a, b):
        # 1 to the winner, 1/2 to each at a tie (the engine's and PyTorch's rule), 0 else.
        # (unevaluated, so that b > a is not turned round into a < b)
        return sp.Piecewise((1, win), (sp.S.Half, sp.Eq(a, b)), (0, True), evaluate=False)

    class _Extremum(_Named):
        """``max(a, b)`` or ``min(a, b)``, set by the subclass: ``_wins(a, b)`` says that a
        is the one taken (``a > b`` for max), ``_spelled_as`` is SymPy's own function."""

        nargs = 2

        @classmethod
        def eval(cls, a, b):
            if a.is_Number and b.is_Number:
                return cls._spelled_as(a, b)
            return None

        def fdiff(self, argindex=1):
            a, b = self.args
            return _tie(self._wins(a, b), a, b) if argindex == 1 else _tie(self._wins(b, a), a, b)

        def _spelled(self):
            return self._spelled_as(*self.args)

        def _latex(self, printer, exp=None):
            args = ", ".join(map(printer._print, self.args))
            return rf"\{type(self).__name__}\left({args}\right)"

    class max(_Extremum):  # noqa: N801,A001 - the language's max(a, b)
        """``max(a, b)``: ``∂/∂a = 1 if a > b, 1/2 if a = b, 0 if a < b``."""

        _wins, _spelled_as = sp.Gt, sp.Max

    class min(_Extremum):  # noqa: N801,A001 - the language's min(a, b)
        """``min(a, b)``: ``∂/∂a = 1 if a < b, 1/2 if a = b, 0 if a > b``."""

        _wins, _spelled_as = sp.Lt, sp.Min

    return {
        "sigmoid": sigmoid, "softplus": softplus, "gelu": gelu, "leaky_relu": leaky_relu,
        "max": max, "min": min, "Phi": Phi, "phi": phi,
    }


def functions(sp) -> dict:
    """The language's functions that a textbook names (``{name: SymPy function}``):
    ``sigmoid softplus gelu leaky_relu max min``; the others are SymPy's own."""
    del sp  # the classes import it; the argument matches the primitives' symbolic(sp, ...)
    return {name: cls for name, cls in classes().items() if name not in ("Phi", "phi")}
