"""The error for differentiating a primitive in a mode it declares no rule for."""

from __future__ import annotations


class MissingRuleError(NotImplementedError):
    """A primitive was differentiated in a mode for which it declares no rule.

    A ``NotImplementedError`` (hence a ``RuntimeError``): the primitive works, but nobody told
    the engine its derivative for that mode.
    """


_MODES = {
    "vjp": ("VJP", "reverse mode (backward, grad, vjp, jacobian(mode='rev'))", "cr.defvjp"),
    "jvp": ("JVP", "forward mode (jvp, jacobian(mode='fwd'), hessian, hvp)", "cr.defjvp"),
}


def missing_rule(prim, rule: str) -> MissingRuleError:
    """The error for differentiating ``prim`` in a mode it has no ``rule`` ("vjp"/"jvp") for."""
    label, mode, how = _MODES[rule]
    return MissingRuleError(
        f"primitive {prim.name!r} has no {label} rule, so {mode} cannot differentiate it; "
        f"declare one with {how}({prim.name}, rule)"
    )
