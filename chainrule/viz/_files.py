"""Writing output files atomically, with errors that name the path.

A picture, page or plot is written to a temporary file beside its destination and renamed
over it only when complete, so a failure (a full disk, a crash, a bad directory) never
leaves a half-written file where the reader expects a whole one.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile

__all__ = ["write_atomic"]


def write_atomic(path, data: bytes | str, *, what: str = "write") -> pathlib.Path:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically; return the path.

    Raises ``OSError`` (the matching subclass, e.g. ``PermissionError``,
    ``FileNotFoundError``) whose message starts with ``what`` and names the path and why it
    could not be written; nothing is left behind at ``path`` or beside it.
    """
    target = pathlib.Path(os.fspath(path))
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = target.parent if str(target.parent) else pathlib.Path(".")
    tmp = None
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes the file private (0600); a picture is an ordinary file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, FileNotFoundError) and not directory.exists():
            reason = f"the directory {str(directory)!r} does not exist"
        raise OSError(exc.errno, f"{what}: cannot write {str(target)!r}: {reason}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target
