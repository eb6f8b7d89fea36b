"""Shape primitives: reshape, transpose, broadcast_to, concatenate, pad.

All are linear, so their JVP is the op applied to the tangent and their VJP moves the
cotangent back (reshape back, inverse permutation, slice out, ...).
"""

import numpy as np

from chainrule.autodiff.namespace import namespace
from chainrule.autodiff.primitive import Primitive, call
from chainrule.ops.declare import linear
from chainrule.ops.samples import normal

reshape = linear(
    "reshape", forward=lambda x, shape: np.reshape(x, shape),
    vjp=lambda g, ans, x, shape: namespace(g).reshape(g, x.shape),
    formulas=("1 (elements moved)",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4),), {"shape": (2, 6)}),
                         ((normal(rng, 2, 3, 2),), {"shape": (-1,)})],
    view=True,  # NumPy reshapes without a copy where it can
    ref=lambda x, shape: x.reshape(shape),
    doc="The same elements in a new shape.",
)


def _transpose_forward(x, axes=None):
    return np.transpose(x, axes)


def _transpose_back(g, ans, x, axes=None):
    xp = namespace(g)
    if axes is None:
        return xp.transpose(g)
    return xp.transpose(g, tuple(int(i) for i in np.argsort(axes)))


transpose = linear(
    "transpose", forward=_transpose_forward, vjp=_transpose_back,
    formulas=("1 (axes permuted)",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4),), {"axes": None}),
                         ((normal(rng, 2, 3, 4),), {"axes": (1, 2, 0)})],
    view=True,
    ref=lambda x, axes=None: x.transpose(axes),
    doc="Axes permuted (reversed when axes is None).",
)

broadcast_to = linear(
    "broadcast_to", forward=lambda x, shape: np.broadcast_to(x, shape),
    # The engine sums the cotangent back over the broadcast axes.
    vjp=lambda g, ans, x, shape: g,
    formulas=("1 (copies summed back)",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 1),), {"shape": (2, 3, 4)})],
    view=True,  # a read-only view: in-place changes of it are refused
    ref=lambda x, shape: x + np.zeros(shape),
    doc="x repeated along broadcast axes; the gradient sums over the copies.",
)


def _concatenate_forward(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _concatenate_vjp(g, ans, *xs, axis=0):
    """Each piece's slice of g (slicing is a view: the pieces nobody wants cost nothing)."""
    ax = axis % ans.ndim
    out = []
    start = 0
    for x in xs:
        size = np.shape(x)[ax]
        out.append(g[(slice(None),) * ax + (slice(start, start + size),)])
        start += size
    return tuple(out)


def _concatenate_jvp(ts, ans, *xs, axis=0):
    """The tangents joined alike (zeros for a piece without one); a single piece's tangent
    comes alone, as for any one-argument rule."""
    return call(concatenate, *(ts if len(xs) > 1 else (ts,)), axis=axis)


concatenate = Primitive(
    "concatenate", _concatenate_forward, vjp=_concatenate_vjp, jvp=_concatenate_jvp,
    formulas=("1 (each piece's slice)",), symbolic=None,
    samples=lambda rng: [((normal(rng, 2, 3), normal(rng, 1, 3), normal(rng, 4, 3)), {"axis": 0}),
                         ((normal(rng, 2, 3), normal(rng, 2, 2)), {"axis": -1})],
    saves_args=False, saves_ans=False,
    ref=lambda *xs, axis=0: np.concatenate(xs, axis=axis),
    doc="Arrays joined along an existing axis; each gets back its slice of the gradient.",
)


def _pad_forward(x, pad_width):
    # Zeros only: padding with c != 0 is affine, not linear (its JVP must pad the tangent
    # with zeros), so cr.pad adds the constant border as a separate, constant term.
    return np.pad(x, pad_width, mode="constant")


def _pad_back(g, ans, x, pad_width):
    index = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
    return g[index]


pad = linear(
    "pad", forward=_pad_forward, vjp=_pad_back,
    formulas=("1 inside, 0 on the padding",), symbolic=None,
    samples=lambda rng: [((normal(rng, 3, 4),), {"pad_width": ((1, 2), (0, 1))})],
    ref=lambda x, pad_width: np.pad(x, pad_width),
    doc="x surrounded by zeros; the gradient is the inner slice.",
)
