"""The primitives, one file per family, each with its forward and rules side by side.

Names inside rules are short and always mean the same thing:

* ``x, y, a, b`` — the primitive's arguments (arrays, or Tensors in a recorded backward);
* ``ans`` — the primitive's output;
* ``g`` — the cotangent of the output, ``dL/d(ans)``;
* ``t`` — a tangent of an argument (forward mode);
* ``xp`` — the namespace to compute with: ``numpy``, or ``chainrule.numpy_api``.

Importing this package registers every primitive in ``chainrule.autodiff.primitive.REGISTRY``.
"""

from chainrule.autodiff.primitive import REGISTRY as _REGISTRY
from chainrule.ops import (  # noqa: F401
    arithmetic,
    cumulative,
    decompositions,
    elementwise,
    index,
    linalg,
    nn,  # noqa: F401
    reduce,
    shape,
    ufuncs,
)
from chainrule.ops.tables import expression_functions, method_names, numpy_functions  # noqa: F401


def reference_page() -> str:
    """The API reference's list of differentiable primitives, in Markdown, generated from
    the registry (``docs/functions.md``; regenerate with ``python -m chainrule.ops``)."""
    rows = [
        "# Differentiable primitives",
        "",
        "Generated from chainrule's registry by `python -m chainrule.ops > docs/functions.md`;"
        " a test keeps it in sync. Each primitive is declared once, in `chainrule/ops/`."
        " *NumPy names*: the functions `cr.<name>` (and `np.<name>(t)` where NumPy has a ufunc"
        " or function of that name); *method*: `t.<name>()`; *explain*: its name in the"
        " expression language of `cr.explain` and `chainrule explain/diff`, with its domain;"
        " *rule*: the derivative the explainer displays, per argument (`g` is the upstream"
        " gradient). Functions written from these (`var`, `std`, `norm`, `stack`, ...) are in"
        " the README.",
        "",
        "| primitive | NumPy names | method | explain | rule | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in sorted(_REGISTRY.items()):
        names = ", ".join(f"`{n}`" for n in p.numpy) or "—"
        expr = "—" if p.expr is None else f"`{p.expr}`" + (f" ({p.domain})" if p.domain else "")
        rule = "; ".join(f"`{f}`" for f in p.formulas if f) or "—"
        doc = " ".join(p.doc.split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {names} | {'yes' if p.method else '—'} | {expr} | "
                    f"{rule.replace('|', chr(92) + '|')} | {doc} |")
    return "\n".join(rows) + "\n"
