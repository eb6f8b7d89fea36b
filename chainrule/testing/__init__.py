"""Testing helpers: ``check_grads`` compares derivatives with central differences."""

from chainrule.testing.gradcheck import check_grads

__all__ = ["check_grads"]
