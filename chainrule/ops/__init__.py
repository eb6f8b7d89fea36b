"""The primitives, one file per family, each with its forward and rules side by side.

Names inside rules are short and always mean the same thing:

* ``x, y, a, b`` — the primitive's arguments (arrays, or Tensors in a recorded backward);
* ``ans`` — the primitive's output;
* ``g`` — the cotangent of the output, ``dL/d(ans)``;
* ``t`` — a tangent of an argument (forward mode);
* ``xp`` — the namespace to compute with: ``numpy``, or ``chainrule.numpy_api``.

Importing this package registers every primitive in ``chainrule.autodiff.primitive.REGISTRY``.
"""

from chainrule.ops import (  # noqa: F401
    arithmetic,
    elementwise,
    index,
    linalg,
    nn,  # noqa: F401
    reduce,
    shape,
)
