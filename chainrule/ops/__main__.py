"""``python -m chainrule.ops``: print the generated list of primitives (docs/functions.md)."""

import chainrule  # noqa: F401  (registers every primitive)
from chainrule.ops import reference_page

print(reference_page(), end="")
