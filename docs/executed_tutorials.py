"""The tutorials are executed once, by the tests, and the docs site shows those outputs.

``tests/test_tutorials.py`` runs every notebook in ``tutorials/`` top to bottom (a failing
cell fails the test) and stores the executed copy in ``docs/_build/executed/``, stamped with
a fingerprint of the notebook and of chainrule's source. ``docs/conf.py`` renders a stored
copy whose fingerprint still matches instead of executing the notebook again; any other
notebook (a fresh clone, an edited notebook, a changed library) is executed by the docs
build itself, where a failing cell fails the build too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "docs" / "_build" / "executed"
_KEY = "chainrule_fingerprint"


@functools.lru_cache(maxsize=1)
def package_digest() -> bytes:
    """SHA-256 of every ``.py`` file of the chainrule package (each file's path and bytes),
    read once per process: the tests and the docs build fingerprint every notebook against
    the same source."""
    digest = hashlib.sha256()
    package = ROOT / "chainrule"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


def fingerprint(notebook: pathlib.Path) -> str:
    """SHA-256 of the notebook's file and of :func:`package_digest`: an executed copy is
    current only if neither the notebook nor chainrule's source changed since it was
    executed."""
    return hashlib.sha256(pathlib.Path(notebook).read_bytes() + package_digest()).hexdigest()


def save(executed: dict, notebook: pathlib.Path) -> pathlib.Path:
    """Store ``executed`` (the notebook as nbformat's JSON dict, with its outputs) as the
    executed copy of ``notebook``."""
    EXECUTED.mkdir(parents=True, exist_ok=True)
    executed.setdefault("metadata", {})[_KEY] = fingerprint(notebook)
    out = EXECUTED / pathlib.Path(notebook).name
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(out)  # never a half-written notebook for the docs build to read
    return out


def current_copy(notebook: pathlib.Path) -> pathlib.Path | None:
    """The stored executed copy of ``notebook`` if it is current, else None."""
    copy = EXECUTED / pathlib.Path(notebook).name
    try:
        stamp = json.loads(copy.read_text())["metadata"][_KEY]
    except (OSError, ValueError, KeyError):
        return None
    return copy if stamp == fingerprint(notebook) else None
