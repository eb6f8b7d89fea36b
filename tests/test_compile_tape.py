"""The tape backend of cr.compile against eager chainrule.

Programs over ``TAPE_ABOVE`` statements run as a flat tape instead of generated source. A
tape must mean exactly what the source means, so the source backend's own tests run here
again with the threshold at -1 (every program a tape): the registry-driven test of every
primitive (value, VJP, JVP, second order), transforms, guards, threads and memory, and
compiled training steps (optimizer effects, Dropout's generator, BatchNorm's statistics,
``.grad`` written back). The tests below add what is the tape's own.
"""

import numpy as np
import pytest
from test_compile import (  # noqa: F401  (collected again here, on the tape)
    test_backward_inside_sets_grad_of_input_tensors,
    test_cache_is_bounded_and_repeated_retracing_warns_once,
    test_constants_are_folded_and_common_subexpressions_shared,
    test_grad_of_a_scalar_function_and_its_source,
    test_guards_retrace_and_say_why,
    test_hvp_jacobian_and_compositions,
    test_in_place_updates_inside_are_replayed,
    test_named_quantities_name_the_code_and_their_cotangents,
    test_no_memory_growth_over_many_calls,
    test_static_argnums,
    test_tensor_inputs_give_tensors_and_plain_inputs_give_arrays,
    test_transforms_of_a_pytree_function,
    test_two_threads_share_one_compiled_function,
)
from test_compile_passes import (  # noqa: F401
    test_a_constant_backward_chain_makes_one_constant,
    test_a_folded_value_read_by_kept_ops_an_output_a_grad_and_a_write,
    test_a_value_written_in_place_is_not_shared_replaced_or_folded,
    test_folded_values_inside_nested_arguments_and_parameters,
)
from test_compile_primitives import test_compiled_primitive_equals_eager  # noqa: F401
from test_compile_training import (  # noqa: F401
    test_a_parameter_changed_outside_is_seen,
    test_compiled_training_equals_eager,
    test_gradient_clipping_inside_a_compiled_step,
)

import chainrule as cr
from chainrule.compile import compiled as compiled_module
from chainrule.compile.tape import Tape

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(autouse=True)
def every_program_on_tape(monkeypatch):
    monkeypatch.setattr(compiled_module, "TAPE_ABOVE", -1)


def _chain(x0, n):
    x = cr.tensor(x0, requires_grad=True)
    y = x
    for k in range(n):
        y = cr.sin(y) * 1.01 + 0.1 if k % 2 else y * 1.0001 + 0.0001
    y.sum().backward()
    return y, x.grad


@pytest.mark.parametrize("shape", [(), (5,)], ids=["floats", "arrays"])
def test_a_long_chain_on_tape_equals_eager(shape):
    n = 300
    f = cr.compile(lambda x0: _chain(x0, n))
    r = np.random.default_rng(0)
    for _ in range(3):  # traced once, replayed twice
        x0 = r.standard_normal(shape)
        got, want = f(x0), _chain(x0, n)
        np.testing.assert_allclose(got[0], want[0].data, **TOL)
        np.testing.assert_allclose(got[1], want[1].data, **TOL)
    assert f.cache_info().misses == 1
    tape = f._latest.fn
    assert isinstance(tape, Tape)
    # Dead values give their registers back: one per value the backward pass still needs
    # (sin's input, every other step), not one per step.
    assert len(tape.base) < tape.size // 4
    assert f.source.startswith("# Run as a flat tape")
    assert "# chain rule through" in f.source


def test_the_threshold_picks_the_backend(monkeypatch):
    def g(x):
        return cr.sum(cr.tanh(x) * x)

    monkeypatch.setattr(compiled_module, "TAPE_ABOVE", 2)
    long = cr.compile(g)
    long(np.ones(3))
    assert isinstance(long._latest.fn, Tape)
    monkeypatch.setattr(compiled_module, "TAPE_ABOVE", 1000)
    short = cr.compile(g)
    short(np.ones(3))
    assert not isinstance(short._latest.fn, Tape)
    forced = cr.compile(g, backend="tape")
    np.testing.assert_allclose(forced(np.arange(3.0)), g(np.arange(3.0)).data, **TOL)
    assert isinstance(forced._latest.fn, Tape)
    source = cr.compile(g, backend="source")
    monkeypatch.setattr(compiled_module, "TAPE_ABOVE", -1)
    source(np.ones(3))
    assert not isinstance(source._latest.fn, Tape)


def test_an_unknown_backend_is_named():
    with pytest.raises(ValueError, match="backend='fast'.*'auto', 'source', 'tape'"):
        cr.compile(lambda x: x, backend="fast")


def test_outputs_of_every_kind():
    """A leaf input given back as it is, a constant, a literal, a computed array."""
    c = np.arange(3.0)

    def f(x, w):
        w.grad = None
        loss = cr.sum(w * x)
        loss.backward()
        return {"w": w, "const": cr.tensor(c), "k": 3, "loss": loss, "g": w.grad}

    compiled = cr.compile(f)
    for seed in (1, 2):
        x = cr.tensor(np.random.default_rng(seed).standard_normal(3))
        w1 = cr.tensor(np.ones(3), requires_grad=True)
        w2 = cr.tensor(np.ones(3), requires_grad=True)
        got, want = compiled(x, w1), f(x, w2)
        assert got["w"] is w1 and got["k"] == 3
        np.testing.assert_allclose(got["const"].data, c)
        np.testing.assert_allclose(got["loss"].data, want["loss"].data, **TOL)
        np.testing.assert_allclose(w1.grad.data, w2.grad.data, **TOL)
        np.testing.assert_allclose(got["g"].data, x.data, **TOL)
