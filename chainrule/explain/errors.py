"""Errors of the expression language: one line each, with the position when there is one.

Every problem with user text is an :class:`ExprError` (a ``ValueError``), so callers catch
one class.  Syntax problems are :class:`ExprSyntaxError`, which is also a ``SyntaxError``;
a point outside a function's domain (``log(-1)``) is :class:`ExprDomainError`.

>>> err = ExprError("unknown function 'foo'", source="y = foo(x)", line=1, col=5)
>>> str(err)
"unknown function 'foo' (line 1, column 5)"
>>> print(err.caret())
  y = foo(x)
      ^
"""

from __future__ import annotations

import re

__all__ = ["ExprError", "ExprSyntaxError", "ExprDomainError", "split_lines"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as Python's tokenizer sees them (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return _NEWLINE.split(text)


class ExprError(ValueError):
    """A problem with an expression: ``str(err)`` is one line ending with the position.

    Attributes: ``message`` (without the position), ``line`` and ``col`` (1-based, or
    ``None``), ``source`` (the whole text) and ``source_line`` (the line the error is on).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ):
        # Messages are shown on one line on the command line, whatever the input held.
        self.message = " ".join(str(message).split())
        self.source = source
        self.line = line
        self.col = col
        super().__init__(self.message)

    @property
    def source_line(self) -> str | None:
        """The line of the source the error points at, or ``None``."""
        if self.source is None or self.line is None:
            return None
        lines = split_lines(self.source)
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return None

    def position(self) -> str:
        """``"line L, column C"`` (or ``""`` when the error has no position)."""
        if self.line is None:
            return ""
        if self.col is None:
            return f"line {self.line}"
        return f"line {self.line}, column {self.col}"

    def caret(self, indent: str = "  ") -> str:
        """The source line and a caret under the position (two lines), or ``""``."""
        text = self.source_line
        if text is None or self.col is None:
            return ""
        # Tabs are kept in the padding so that the caret lines up with the character.
        pad = "".join(c if c == "\t" else " " for c in text[: self.col - 1])
        return f"{indent}{text}\n{indent}{pad}^"

    def __str__(self) -> str:
        where = self.position()
        return f"{self.message} ({where})" if where else self.message


class ExprSyntaxError(ExprError, SyntaxError):
    """Text that is not a valid expression (also a ``SyntaxError``)."""

    def __init__(self, message: str, **kwargs):
        ExprError.__init__(self, message, **kwargs)
        # The SyntaxError fields, so that tools that read them see the same position.
        self.msg = self.message
        self.lineno = self.line
        self.offset = self.col
        self.text = self.source_line
        self.filename = "<expression>"

    __str__ = ExprError.__str__


class ExprDomainError(ExprError):
    """A value outside a function's domain at the point (``log(-1)``, ``1/0``)."""
