"""Marking code that the tracer cannot see into, so that compiled code still runs it.

Most of chainrule computes through primitives, which the tracer records. A few places
compute on raw NumPy arrays on purpose (an optimizer's in-place update, a Dropout mask drawn
from chainrule's generator, BatchNorm's running statistics, the argmax of a max-pool, the
one-hot coefficients of a cross-entropy). Traced naively, their results would be baked into
the code as constants. Two decorators say what they are:

* ``@effect(label)``: state lives outside the trace (parameters changed in place, random
  draws). The call is recorded and made again, as it is, on every replay, in order.
* ``@traced_function``: a pure function of its arguments (arrays or Tensors) returning one
  array. The call is recorded as one operation of the program on the traced values.

Outside a trace both decorators cost one flag test.
"""

from __future__ import annotations

import functools

from chainrule.autodiff.graph import DEFAULT_MODE, STATE


def _hooked(fn, traced):
    """``fn``, except that while a tracer runs in this thread ``traced(tracer, fn, args,
    kwargs)`` is called instead."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if DEFAULT_MODE[0]:
            return fn(*args, **kwargs)
        tracer = STATE.compile_tracer
        if tracer is None:
            return fn(*args, **kwargs)
        return traced(tracer, fn, args, kwargs)

    return wrapper


def effect(label: str):
    """Run the decorated function again on every replay of a compiled trace."""

    def decorate(fn):
        return _hooked(fn, lambda tracer, f, args, kwargs:
                       tracer.run_effect(f, args, kwargs, label))

    return decorate


def traced_function(fn):
    """Record the decorated pure function (arrays or Tensors in, one array out) as one op."""
    return _hooked(fn, lambda tracer, f, args, kwargs: tracer.run_function(f, args, kwargs))
