"""einsum's subscript parsing, cached: answers that callers cannot change, one per number
of dimensions behind '...', and errors raised on every call."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.linalg import parse_einsum


def test_two_calls_with_the_same_subscripts_give_independent_answers():
    terms, out = parse_einsum("ij,jk", [(2, 3), (3, 4)])
    assert (list(terms), out) == (["ij", "jk"], "ik")  # NumPy's implicit output
    try:  # a caller that edits its answer ...
        terms[0] = "zz"
    except TypeError:
        pass
    try:
        terms.append("kl")
    except AttributeError:
        pass
    again, out = parse_einsum("ij,jk", [(2, 3), (3, 4)])
    assert (list(again), out) == (["ij", "jk"], "ik")  # ... leaves the next one alone


def test_the_answer_follows_the_dimensions_behind_the_ellipsis():
    two, out2 = parse_einsum("...j,jk->...k", [(3, 4), (4, 5)])
    three, out3 = parse_einsum("...j,jk->...k", [(2, 3, 4), (4, 5)])
    assert len(two[0]) == 2 and len(three[0]) == 3
    assert len(out2) == 2 and len(out3) == 3
    rng = np.random.default_rng(0)
    b = rng.standard_normal((4, 5))
    for a in (rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4)), rng.standard_normal(4)):
        # value against NumPy, gradients against finite differences, alternating shapes
        np.testing.assert_allclose(cr.einsum("...j,jk->...k", a, b).data,
                                   np.einsum("...j,jk->...k", a, b), rtol=1e-12)
        cr.check_grads(lambda x, y: cr.einsum("...j,jk->...k", x, y), (a, b), order=1)


def test_errors_are_raised_on_every_call():
    for _ in range(2):
        with pytest.raises(ValueError, match="2 operand subscripts for 1 operands"):
            parse_einsum("ij,jk->ik", [(2, 3)])
        with pytest.raises(ValueError, match="operand 0 has 1 dimensions, fewer than"):
            parse_einsum("...ij->j", [(3,)])


def test_subscripts_that_are_not_a_string_get_a_clear_error():
    with pytest.raises(TypeError, match="subscripts must be a string such as 'ij,jk->ik'"):
        parse_einsum(["ij"], [(2, 2)])
