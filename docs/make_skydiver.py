"""Write the skydiver's pictures in docs/ from chainrule's own code:

    python docs/make_skydiver.py

``docs/skydiver.svg`` (the graph, each node with its value and gradient, each edge with its
local derivative) and ``docs/skydiver.html`` (the step-through page) are what

    chainrule explain "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2" \\
        --wrt t --at t=10 --format svg -o docs/skydiver.svg        (and --format html)

writes. Run it after a change to the explainer or to chainrule/viz; tests/test_docs.py
fails while docs/skydiver.html is not what this writes.
"""

from __future__ import annotations

import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

SKYDIVER = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


def command(fmt: str, path) -> list[str]:
    """The ``chainrule`` command line (without the program's name) that writes ``path``."""
    return ["explain", SKYDIVER, "--wrt", "t", "--at", "t=10", "--format", fmt, "-o", str(path)]


def main() -> int:
    from chainrule.cli import main as chainrule

    for fmt in ("svg", "html"):
        status = chainrule(command(fmt, DOCS / f"skydiver.{fmt}"))
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
