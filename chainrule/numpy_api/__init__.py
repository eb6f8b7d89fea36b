"""The NumPy-named functions users call: ``cr.exp``, ``cr.sum``, ``cr.reshape``, ...

Each is a registered primitive or a composition of primitives; this package is also the
namespace ``xp`` that rules compute with when a backward pass is recorded, so its
functions take NumPy's arguments and keep NumPy's semantics. In rooms:

* :mod:`~chainrule.numpy_api.math_functions` — the primitives (generated from their declarations),
  elementwise helpers and reductions;
* :mod:`~chainrule.numpy_api.shape` — reshaping, joining, splitting, indexing;
* :mod:`~chainrule.numpy_api.joining` — NumPy's stacking helpers (``vstack``, ``r_``, ...);
* :mod:`~chainrule.numpy_api.arranging` — flipping, rolling, moving axes, diagonals;
* :mod:`~chainrule.numpy_api.ordering` — ``sort``, ``partition``, ``take_along_axis``;
* :mod:`~chainrule.numpy_api.differences` — ``diff``, ``cumsum``, ``cumprod``, ``gradient``;
* :mod:`~chainrule.numpy_api.linear_algebra` — products and ``cr.linalg``;
* :mod:`~chainrule.numpy_api.creation` — zeros, ones, arange, ...;
* :mod:`chainrule.random` — the random generator and ``randn``/``rand``;
* :mod:`~chainrule.numpy_api.dispatch` — NumPy's own functions on Tensors (``np.sin(t)``).

The dispatch tables at the end (NumPy's ufuncs and functions on Tensors, Tensor methods)
are generated from the same declarations.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

import chainrule.tensor as _tensor_module
import chainrule.tensor_operators as _operators
from chainrule import linalg_api
from chainrule.autodiff import namespace as _namespace
from chainrule.autodiff.graph import DEFAULT_MODE, STATE
from chainrule.numpy_api import dispatch
from chainrule.numpy_api.arranging import (
    diag,
    diagonal,
    flip,
    fliplr,
    flipud,
    moveaxis,
    roll,
    rollaxis,
    rot90,
    trace,
    tril,
    triu,
)
from chainrule.numpy_api.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from chainrule.numpy_api.differences import cumprod, cumsum, diff, gradient
from chainrule.numpy_api.joining import (
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    c_,
    column_stack,
    dsplit,
    dstack,
    hsplit,
    hstack,
    r_,
    row_stack,
    vsplit,
    vstack,
)
from chainrule.numpy_api.linear_algebra import (
    cross,
    dot,
    einsum,
    inner,
    kron,
    linalg,
    outer,
    tensordot,
)
from chainrule.numpy_api.math_functions import (  # noqa: F401  (_user_stacklevel: for other rooms)
    _user_stacklevel,
    all,
    amax,
    amin,
    angle,
    any,
    argmax,
    argmin,
    astype,
    ceil,
    clip,
    conj,
    conjugate,
    equal,
    floor,
    greater,
    greater_equal,
    imag,
    isfinite,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    max,
    mean,
    min,
    nan_to_num,
    norm,
    not_equal,
    prod,
    real,
    round,
    select,
    sign,
    std,
    sum,
    var,
    where,
)
from chainrule.numpy_api.ordering import partition, sort, take_along_axis
from chainrule.numpy_api.shape import (  # noqa: F401  (_operand, _data, _axis: the engine's)
    _axis,
    _data,
    _operand,
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    index_put,
    pad,
    ravel,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    take,
    tile,
    transpose,
)
from chainrule.ops import arithmetic
from chainrule.ops import method_names as _registered_methods
from chainrule.ops import numpy_functions as _registered_functions
from chainrule.random import (
    get_rng_state,
    manual_seed,
    rand,
    randn,
    random_generator,
    set_rng_state,
)
from chainrule.tensor import (
    Tensor,
    bool_,
    float32,
    float64,
    get_default_dtype,
    int64,
    set_default_dtype,
    tensor,
)

# The primitives' own functions (cr.exp, cr.absolute, ...), as their declarations name them.
globals().update(_registered_functions())

# ----- naming ------------------------------------------------------------------------------------


def named(x, name: str):
    """Name an intermediate quantity for explanations and graphs; returns x.

    >>> h = cr.named(4000 - g, "h")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"named: the name must be a non-empty string, got {name!r}")
    if not isinstance(x, Tensor):
        x = tensor(x)
    x.name = name
    if x._node is not None:
        x._node.name = name
    if not DEFAULT_MODE[0] and STATE.compile_tracer is not None:
        STATE.compile_tracer.name(x.data, name)  # compiled code calls the value `name`
    return x


pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


#: What ``from chainrule.numpy_api import *`` (and so ``import chainrule``) gives, by name:
#: the primitives under their declared NumPy names, then the functions written here.
__all__ = [
    *_registered_functions(),
    "Tensor",
    "bool_",
    "float32",
    "float64",
    "get_default_dtype",
    "int64",
    "set_default_dtype",
    "tensor",
    "sign",
    "floor",
    "ceil",
    "round",
    "isnan",
    "isfinite",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_not",
    "logical_and",
    "logical_or",
    "any",
    "all",
    "argmax",
    "argmin",
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "logsumexp",
    "var",
    "std",
    "norm",
    "astype",
    "clip",
    "where",
    "reshape",
    "transpose",
    "swapaxes",
    "expand_dims",
    "squeeze",
    "flatten",
    "ravel",
    "broadcast_to",
    "concatenate",
    "stack",
    "split",
    "pad",
    "take",
    "repeat",
    "tile",
    "getitem",
    "index_put",
    "dot",
    "outer",
    "einsum",
    "linalg",
    "named",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "arange",
    "linspace",
    "eye",
    "manual_seed",
    "get_rng_state",
    "set_rng_state",
    "random_generator",
    "randn",
    "rand",
    "pi",
    "e",
    "inf",
    "nan",
    "newaxis",
    # NumPy's array helpers, composed from the above: MORE_FUNCTIONS below is this run of
    # names, from atleast_1d to conj
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "vstack",
    "hstack",
    "dstack",
    "column_stack",
    "append",
    "array_split",
    "vsplit",
    "hsplit",
    "dsplit",
    "flip",
    "flipud",
    "fliplr",
    "rot90",
    "roll",
    "moveaxis",
    "rollaxis",
    "diagonal",
    "trace",
    "diag",
    "triu",
    "tril",
    "tensordot",
    "inner",
    "kron",
    "cross",
    "take_along_axis",
    "sort",
    "partition",
    "diff",
    "cumsum",
    "cumprod",
    "gradient",
    "select",
    "nan_to_num",
    "real",
    "imag",
    "conjugate",
    "angle",
    "conj",
    "row_stack",
    "r_",
    "c_",
]

# ----- the dispatch tables, generated ----------------------------------------------------------

#: NumPy ufuncs that run chainrule's function of the same name on a Tensor (``np.sin(t)``):
#: every function here that NumPy has as a ufunc, but for the composed helpers at the end
#: of ``__all__`` (``np.conjugate`` is a ufunc: on a Tensor it says to call cr.conjugate).
UFUNCS = {n: globals()[n] for n in __all__
          if isinstance(getattr(np, n, None), np.ufunc) and n not in ("conjugate", "conj")}

#: NumPy functions (``np.sum(t)``, ``np.concatenate([t, u])``) that run chainrule's
#: differentiable function of the same name and arguments.
ARRAY_FUNCTIONS = {n: globals()[n] for n in (
    "sum mean prod max min amax amin var std reshape transpose swapaxes expand_dims squeeze "
    "broadcast_to concatenate stack split pad take repeat tile dot outer einsum matmul where "
    "clip ravel").split()}

#: ``np.linalg`` functions that run ``cr.linalg``'s.
LINALG_FUNCTIONS = {n: getattr(linalg, n) for n in ("inv", "det", "solve", "norm",
                                                    *linalg_api.FUNCTIONS)}

#: Tensor methods: the primitives declared ``method=True``, and these functions.
METHODS = _registered_methods() + (
    "sign floor ceil round isnan clip sum mean var std prod max min logsumexp norm argmax "
    "argmin swapaxes squeeze expand_dims flatten dot take repeat tile any all").split()

#: NumPy's array helpers written from the functions above (joining, arranging, products,
#: ordering, differences, selection): each a composition, with no rule of its own. NumPy's
#: dispatch runs them for ``np.<name>(tensor)``; ``cr.<name>`` is each of them too.
MORE_FUNCTIONS = {n: globals()[n] for n in
                  __all__[__all__.index("atleast_1d"):__all__.index("row_stack")]}
ARRAY_FUNCTIONS.update(MORE_FUNCTIONS)

#: The ones that are also Tensor methods, as NumPy's ndarray has them (not ``sort`` and
#: ``partition``, which sort an ndarray in place).
METHODS += ("diagonal", "trace", "cumsum", "cumprod", "conj", "conjugate")
_tensor_module.add_methods(METHODS)

# NumPy's dispatch on Tensors (Tensor.__array_ufunc__/__array_function__ call these), over
# the tables above.
array_ufunc = functools.partial(dispatch.array_ufunc, UFUNCS)
array_function = functools.partial(dispatch.array_function, ARRAY_FUNCTIONS,
                                   LINALG_FUNCTIONS)

# ----- handing the surface down ----------------------------------------------------------------
# Tensor's operators and the engine's recorded rules compute with this surface, which sits
# above both (it is generated from the registry of primitives built on them). They do not
# import it: they say what they need, and the surface, now built, hands itself over here.
_operators.use_surface(sys.modules[__name__], {
    p.name: p._apply2 for p in (arithmetic.add, arithmetic.subtract, arithmetic.multiply,
                                arithmetic.divide)})
_namespace.use_recorded(sys.modules[__name__])
