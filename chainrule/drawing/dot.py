"""Running Graphviz's ``dot`` program on DOT text.

The DOT text needs nothing but Python; turning it into SVG or PNG runs ``dot``, which is
not a Python package (Debian/Ubuntu: ``apt-get install graphviz``). Without it,
:func:`run_dot` raises :class:`GraphvizNotFoundError`, which says how to install it.
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["GraphvizNotFoundError", "run_dot"]

_INSTALL = (
    "Graphviz's `dot` program was not found on PATH; it is needed to render graphs as "
    "{fmt}. Install it: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), `conda install -c conda-forge graphviz`, or from https://graphviz.org/download/. "
    "The DOT text works without it: Graph.dot, or render(path, format='dot')."
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program and it is not installed."""


def run_dot(source: str, fmt: str = "svg", *, timeout: float = 120) -> bytes:
    """Run ``dot -T<fmt>`` on ``source`` and return its output.

    Raises :class:`GraphvizNotFoundError` (with install instructions) when ``dot`` is
    missing and ``RuntimeError`` with Graphviz's message when it fails.
    """
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFoundError(_INSTALL.format(fmt=fmt.upper()))
    try:
        proc = subprocess.run(
            [program, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"Graphviz `dot` took more than {timeout:.0f} s to lay out the graph; draw a "
            "smaller part of it, or pass collapse=True"
        ) from None
    if proc.returncode != 0 or not proc.stdout:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}"
        raise RuntimeError(f"Graphviz `dot -T{fmt}` failed: {message}")
    return proc.stdout
