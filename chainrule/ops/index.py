"""Indexing: x[index], its adjoint index_add (scatter-add), and index_put (x[index] = v).

Repeated indices accumulate in the gradient (``np.add.at``), as PyTorch does.
"""

import numpy as np

from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops import references
from chainrule.ops.declare import linear
from chainrule.ops.samples import normal


def is_basic(index) -> bool:
    """True when ``index`` has only ints, slices, None and Ellipsis (no element repeats)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items
    )


def _getitem_forward(x, index):
    out = x[index]
    # Basic indexing gives a view; copy so that in-place changes of either never leak.
    return np.array(out) if isinstance(out, np.ndarray) and out.base is not None else out


getitem = linear(
    "getitem", forward=_getitem_forward,
    vjp=lambda g, ans, x, index: call(index_add, g, shape=x.shape, index=index),
    formulas=("1 at the selected elements",), symbolic=None,
    samples=lambda rng: [
        ((normal(rng, 4, 5),), {"index": (slice(1, 3), 2)}),
        ((normal(rng, 4, 5),), {"index": (np.array([0, 2, 2, 3]),)}),
        ((normal(rng, 4, 5),), {"index": (Ellipsis, None, slice(None, None, 2))}),
        ((normal(rng, 3, 4),), {"index": normal(np.random.default_rng(1), 3, 4) > 0}),
    ],
    ref=lambda x, index: x[index],
    doc="x[index], basic or advanced; repeated indices accumulate in the gradient.",
)


def _index_add_forward(g, shape, index):
    out = np.zeros(shape, dtype=np.asarray(g).dtype)
    if is_basic(index):
        out[index] += g
    else:
        np.add.at(out, index, g)
    return out


index_add = linear(
    "index_add", forward=_index_add_forward,
    vjp=lambda g, ans, x, shape, index: call(getitem, g, index=index),
    formulas=("1 at the indexed elements",), symbolic=None,
    samples=lambda rng: [
        ((normal(rng, 4),), {"shape": (5, 3), "index": (np.array([0, 1, 1, 4]), 2)}),
        ((normal(rng, 2, 3),), {"shape": (4, 3), "index": (slice(1, 3),)}),
    ],
    ref=references.index_add,
    doc="Zeros of shape with g added at index (scatter-add): the adjoint of getitem.",
)


def _index_put_forward(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


index_put = Primitive(
    "index_put", _index_put_forward,
    vjp=(lambda g, ans, x, v, index: call(index_put, g, 0.0, index=index),
         lambda g, ans, x, v, index: call(getitem, g, index=index)),
    # linear in (x, v) together: the op applied to the tangents (zeros where one has none)
    jvp=lambda ts, ans, x, v, index: call(index_put, *ts, index=index),
    formulas=("1 outside index, 0 at index", "1 at index"), symbolic=None,
    samples=lambda rng: [((normal(rng, 4, 3), normal(rng, 3)), {"index": (1,)}),
                         ((normal(rng, 4, 3), normal(rng, 2, 1)), {"index": (slice(0, 2),)})],
    saves_args=False, saves_ans=False,
    ref=references.index_put,
    doc="x with x[index] = v (out of place); behind ``x[index] = v`` on Tensors.",
)
