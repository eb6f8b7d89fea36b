"""Reading a chainrule checkpoint archive without trusting it (used by ``cr.load``).

A crafted file must not make ``cr.load`` spend memory or time out of proportion to what
its header declares.  So the archive is read in this order:

1. the zip directory: every member is named once, stored or deflated, and is either the
   header ``__chainrule__.npy`` or ``<ref>.npy`` for a ``ref`` the header names (checked
   after step 2; nothing else is inflated before);
2. the header member alone, inflating at most :data:`MAX_HEADER_BYTES`; its JSON is
   refused if nested deeper than :data:`MAX_JSON_DEPTH` (before ``json.loads``, whose
   recursion would otherwise end in ``RecursionError``);
3. each array member, whose ``.npy`` header must give the dtype and shape the chainrule
   header declared, and whose data is read as exactly ``itemsize * prod(shape)`` bytes:
   a member that would inflate to more is refused, having inflated at most one block
   beyond its declared size.

Every problem raises :class:`BadArchive` with a short reason; ``cr.load`` adds the file name.
"""

from __future__ import annotations

import json
import math
import re
import zipfile

import numpy as np

__all__ = ["BadArchive", "read_header", "read_member", "member_names", "json_depth"]

#: The largest header accepted (inflated bytes of its member).
MAX_HEADER_BYTES = 64 * 2**20
#: The deepest JSON nesting accepted in a header (``cr.save`` writes at most
#: ``2 * MAX_DEPTH + 3`` levels for ``MAX_DEPTH`` nested containers).
MAX_JSON_DEPTH = 2 * 100 + 3
_NPY_HEADER_MAX = 10_000  # NumPy's own default limit for an .npy header


class BadArchive(ValueError):
    """The archive is not a valid chainrule file; the message says why."""


def member_names(zf: zipfile.ZipFile, header: str) -> dict[str, zipfile.ZipInfo]:
    """``{name without .npy: ZipInfo}``, after checking names are unique, end in
    ``.npy``, and members are stored or deflated (as ``np.savez`` writes them)."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise BadArchive(f"archive member {info.filename!r:.80} is not a .npy array")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise BadArchive(f"archive member {info.filename!r:.80} appears twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BadArchive(
                f"archive member {info.filename!r:.80} uses compression method "
                f"{info.compress_type}; chainrule writes stored or deflated members only"
            )
        members[name] = info
    if header not in members:
        raise BadArchive("an .npz archive without a chainrule header (a foreign file)")
    return members


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(text: bytes) -> int:
    """How deeply the brackets of JSON ``text`` nest (strings ignored), without parsing."""
    skeleton = np.frombuffer(_STRING.sub(b'""', text), dtype=np.uint8)
    opening = (skeleton == ord("[")) | (skeleton == ord("{"))
    closing = (skeleton == ord("]")) | (skeleton == ord("}"))
    brackets = skeleton[opening | closing]  # memory in proportion to the brackets only
    step = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(step).max(initial=0))


def read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    """The JSON header, read from its member with bounded inflation and depth."""
    with zf.open(info) as f:
        dtype, shape = _npy_header(f, info.filename)
        if dtype != np.dtype(np.uint8) or len(shape) != 1:
            raise BadArchive("the header member is not a byte string")
        if shape[0] > MAX_HEADER_BYTES:
            raise BadArchive(
                f"the header declares {shape[0]} bytes (at most {MAX_HEADER_BYTES} are read)"
            )
        raw = _exactly(f, shape[0], info.filename)
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise BadArchive(f"the header nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadArchive(f"the header is not valid JSON ({e})") from e


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: np.dtype, shape: tuple):
    """The array of member ``info``, which must hold ``dtype`` and ``shape`` (from the
    chainrule header); never inflates more than that (plus one block to see the end)."""
    with zf.open(info) as f:
        got_dtype, got_shape, fortran = _npy_header(f, info.filename, with_order=True)
        if got_dtype != dtype or got_shape != shape:
            raise BadArchive(
                f"member {info.filename!r} has dtype {got_dtype.str} and shape {got_shape}, "
                f"but the header says {dtype.str} and {shape}"
            )
        data = _exactly(f, dtype.itemsize * math.prod(shape), info.filename)
    arr = np.frombuffer(bytearray(data), dtype=dtype)  # bytearray: a writable array
    if fortran:
        return arr.reshape(shape[::-1]).transpose()
    return arr.reshape(shape)


def _npy_header(f, name: str, with_order: bool = False):
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, _NPY_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, _NPY_HEADER_MAX)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as e:
        raise BadArchive(f"archive member {name!r} is not a NumPy array ({e})") from e
    if dtype.hasobject or dtype.kind == "V":
        raise BadArchive(f"archive member {name!r} holds objects (would need pickle)")
    return (dtype, tuple(shape), fortran) if with_order else (dtype, tuple(shape))


def _exactly(f, n: int, name: str) -> bytes:
    """``n`` bytes from ``f``, which must then be at its end (reading to the end makes
    zipfile check the member's CRC)."""
    data = f.read(n)
    if len(data) != n:
        raise BadArchive(f"archive member {name!r} is truncated")
    if f.read(1):
        raise BadArchive(f"archive member {name!r} holds more data than its declared shape")
    return data
