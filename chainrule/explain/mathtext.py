"""Mathematical notation in the expression language: write it the way the blog does.

``P = 101325·e^(−0.0001·h); h = 4000 − g; g = ½·9.8·t²`` reads as
``P = 101325*e**(-0.0001*h); h = 4000 - g; g = (1/2)*9.8*t**2``.  Each line of text is
rewritten, character by character, into the ASCII the parser reads, and every character
written remembers the column it came from, so an error's caret still points at the
user's own column.  The rewrites:

- ``·`` ``×`` ``⋅`` ``∗`` are ``*``; ``−`` ``–`` are ``-``; ``÷`` is ``/``; ``^`` is ``**``;
- superscripts are powers: ``t²`` is ``t**2``, ``x⁻¹`` is ``x**-1``, ``tanh²(z)`` is
  ``(tanh(z))**2``;
- ``½ ¼ ¾ ⅓ ⅔`` are ``(1/2)`` ...; ``π`` is ``pi``; ``σ`` is ``sigmoid``;
- ``√x``, ``√2`` and ``√(…)`` are ``sqrt(x)``, ``sqrt(2)``, ``sqrt(…)``;
- ``f(x) = …`` and ``P(h) = …`` at the start of a statement define ``f`` and ``P`` (the
  parameter list is blanked out: it only says what the definition reads).

Nothing is evaluated here: the result goes to the same whitelist parser as any text.
"""

from __future__ import annotations

import re

__all__ = ["translate"]

_SIMPLE = {
    "·": "*",
    "×": "*",
    "⋅": "*",
    "∗": "*",
    "−": "-",
    "–": "-",
    "÷": "/",
    "^": "**",
    "π": "pi",
    "σ": "sigmoid",
    "½": "(1/2)",
    "¼": "(1/4)",
    "¾": "(3/4)",
    "⅓": "(1/3)",
    "⅔": "(2/3)",
}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
_DEFINITION = re.compile(
    r"(^|;)(\s*[A-Za-z_]\w*\s*)(\(\s*[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s*\))(\s*=(?!=))"
)


def _closing(text: str, start: int) -> int | None:
    """Index of the parenthesis closing the one at ``text[start]``, or None."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def _atom_end(text: str, start: int) -> int:
    """End of the name or number that starts at ``text[start]`` (for ``√x``)."""
    m = re.match(r"[A-Za-z_]\w*|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+", text[start:])
    return start + (m.end() if m else 0)


def translate(line: str) -> tuple[str, list[int]]:
    """``line`` in the parser's ASCII, and for each character written the 0-based column
    of ``line`` it came from."""
    # f(x) = ... : the parameter list becomes blanks, so every column stays where it was.
    if "(" in line and "=" in line:
        line = _DEFINITION.sub(
            lambda m: m.group(1) + m.group(2) + " " * len(m.group(3)) + m.group(5), line
        )
    out: list[str] = []
    cols: list[int] = []
    closers: dict[int, list[tuple[str, int]]] = {}

    def emit(text: str, col: int) -> None:
        out.append(text)
        cols.extend([col] * len(text))

    i = 0
    while i < len(line):
        ch = line[i]
        if ch in _SUPER:
            j = i
            while j < len(line) and line[j] in _SUPER:
                j += 1
            power = "".join(_SUPER[c] for c in line[i:j])
            close = _closing(line, j) if j < len(line) and line[j] == "(" else None
            name = re.search(r"[A-Za-z_]\w*$", line[:i])
            if close is not None and name is not None:
                # tanh²(z): the power applies to the call. An opening bracket goes before
                # the name (already written), the power after the call's own bracket.
                k = len("".join(out)) - len(name.group(0))
                text = "".join(out)
                out[:] = [text[:k], "(", text[k:]]
                cols.insert(k, name.start())
                closers.setdefault(close, []).append((f")**{power}", i))
            else:
                emit(f"**{power}", i)
            i = j
            continue
        if ch == "√":
            j = i + 1
            while j < len(line) and line[j] == " ":
                j += 1
            if j < len(line) and line[j] == "(":
                emit("sqrt", i)
                i = j
                continue
            end = _atom_end(line, j)
            if end > j:
                emit("sqrt(", i)
                for k in range(j, end):
                    emit(line[k], k)
                emit(")", end - 1)
                i = end
                continue
        emit(_SIMPLE.get(ch, ch), i)
        for text, col in closers.pop(i, []):
            emit(text, col)
        i += 1
    return "".join(out), cols
