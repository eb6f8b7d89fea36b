"""Saving and loading nested containers of arrays: ``cr.save`` and ``cr.load``.

The format
----------
A file is an ordinary uncompressed NumPy ``.npz`` archive (a zip of ``.npy`` members) that any
NumPy can open with ``np.load(path, allow_pickle=False)``. It holds:

* ``__chainrule__`` -- a ``uint8`` array with the UTF-8 bytes of a JSON header::

      {"format": "chainrule", "version": 1, "root": NODE}

* ``a0``, ``a1``, ... -- one member per array in the saved object.

A ``NODE`` is a JSON object whose ``"t"`` field says what it is:

==========  =====================================================================
``t``       meaning and other fields
==========  =====================================================================
``dict``    ``"k"``: the keys, each ``["s", str]`` or ``["i", int]``; ``"v"``: nodes
``list``    ``"v"``: the items, nodes
``tuple``   ``"v"``: the items, nodes
``array``   ``"ref"``: the member name; ``"dtype"``; ``"shape"``; ``"kind"``: ``"ndarray"``,
            ``"scalar"`` (a NumPy scalar such as ``np.float32(1)``) or ``"tensor"``
            (a chainrule Tensor, with ``"requires_grad"``)
``int``     ``"v"``: the integer (JSON integers are exact at any size)
``float``   ``"v"``: ``repr(x)``, a string, so that ``nan``/``inf`` survive and the value
            round-trips bit for bit
``bool``    ``"v"``: ``true`` or ``false``
``none``    nothing else
``str``     ``"v"``: the string
==========  =====================================================================

The dtype and shape recorded in the header are checked against each member on load, so a
file whose members were swapped or damaged is refused rather than silently misread.

Guarantees
----------
* **Never pickle.** Saving refuses object arrays and unknown types with a ``TypeError`` that
  names the key path (``state['layers'][2]``); loading uses ``allow_pickle=False``.
* **Atomic.** The archive is written to a temporary file in the destination's directory,
  flushed to disk, then moved over the destination with :func:`os.replace`. A crash or an
  error mid-write leaves the old file (or no file) in place, never a half-written one.
* **Any extension.** ``np.savez`` appends ``.npz`` to file *names*; we hand it an open file
  instead, so ``cr.save(obj, "model.ckpt")`` writes exactly ``model.ckpt``.
* **Clear failures.** A truncated, corrupt or foreign file raises ``ValueError`` naming it.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_HEADER = "__chainrule__"
_FORMAT = "chainrule"


def _is_tensor(obj: Any) -> bool:
    # Duck-typed check (avoids importing the engine here): a chainrule Tensor or Parameter.
    for cls in type(obj).__mro__:
        if cls.__name__ == "Tensor" and cls.__module__.startswith("chainrule"):
            return True
    return False


def _path_str(keypath: str) -> str:
    return keypath or "<root>"


class _Encoder:
    """Turns a nested object into a JSON-able node tree plus a dict of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _add_array(self, arr: np.ndarray, keypath: str) -> str:
        if arr.dtype.kind in "OV" or arr.dtype.hasobject:
            raise TypeError(
                f"cr.save: cannot save the array at {_path_str(keypath)} with dtype "
                f"{arr.dtype}: object and structured arrays would need pickle, which "
                "chainrule never uses; convert it to a numeric array first"
            )
        ref = f"a{len(self.arrays)}"
        self.arrays[ref] = arr
        return ref

    def encode(self, obj: Any, keypath: str = "") -> dict:
        # bool before int: bool is a subclass of int.
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, np.ndarray):
            ref = self._add_array(obj, keypath)
            return self._array_node(ref, obj, "ndarray")
        if isinstance(obj, np.generic):
            arr = np.asarray(obj)
            ref = self._add_array(arr, keypath)
            return self._array_node(ref, arr, "scalar")
        if _is_tensor(obj):
            arr = np.asarray(obj.data)
            ref = self._add_array(arr, keypath)
            node = self._array_node(ref, arr, "tensor")
            node["requires_grad"] = bool(getattr(obj, "requires_grad", False))
            return node
        if isinstance(obj, dict):
            keys, values = [], []
            for k, v in obj.items():
                if isinstance(k, str):
                    keys.append(["s", k])
                elif isinstance(k, int) and not isinstance(k, bool):
                    keys.append(["i", int(k)])
                else:
                    raise TypeError(
                        f"cr.save: dict key {k!r} of type {type(k).__name__} at "
                        f"{_path_str(keypath)}: only str and int keys can be saved"
                    )
                values.append(self.encode(v, f"{keypath}[{k!r}]"))
            return {"t": "dict", "k": keys, "v": values}
        if isinstance(obj, list | tuple):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"t": kind, "v": [self.encode(v, f"{keypath}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(
            f"cr.save: cannot save an object of type {type(obj).__name__} at "
            f"{_path_str(keypath)}: supported are dict, list, tuple, NumPy arrays and scalars, "
            "Tensors, int, float, bool, None and str"
        )

    @staticmethod
    def _array_node(ref: str, arr: np.ndarray, kind: str) -> dict:
        return {
            "t": "array",
            "ref": ref,
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "kind": kind,
        }


def save(obj: Any, path: str | os.PathLike, *, compress: bool = False) -> None:
    """Save a nested container of arrays, numbers and strings to ``path``, atomically.

    ``obj`` may be a dict (str or int keys), list or tuple nesting NumPy arrays and scalars,
    chainrule Tensors (saved as their arrays), ``int``, ``float``, ``bool``, ``None`` and
    ``str`` -- a model's ``state_dict()``, an optimizer's, or a whole checkpoint. The file
    format is described in this module's docstring; ``compress=True`` deflates the members.

    Example::

        >>> import numpy as np, tempfile, os, chainrule as cr
        >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.bin")
        >>> cr.save({"epoch": 3, "w": np.eye(2)}, p)
        >>> cr.load(p)["epoch"]
        3
    """
    path = os.fsdecode(path)  # str, bytes or os.PathLike
    encoder = _Encoder()
    # Encode everything before touching the disk: a TypeError must leave no file behind.
    root = encoder.encode(obj)
    header = json.dumps(
        {"format": _FORMAT, "version": FORMAT_VERSION, "root": root}, separators=(",", ":")
    )
    members = {_HEADER: np.frombuffer(header.encode("utf-8"), dtype=np.uint8)}
    members.update(encoder.arrays)

    directory = os.path.dirname(os.path.abspath(path))
    # The temporary file beside ``path`` is ours; an error about it must name the user's path.
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cr.save: the path is a directory; give a file "
                                "name inside it", path)
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as exc:
        why = ("the directory does not exist; create it first"
               if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc))
        raise type(exc)(exc.errno, f"cr.save: cannot write {path!r}: {why}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], name: str) -> None:
        self.arrays = arrays
        self.name = name
        self.used: set[str] = set()

    def bad(self, why: str) -> ValueError:
        return ValueError(f"cr.load: {self.name} is not a valid chainrule file: {why}")

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict) or "t" not in node:
            raise self.bad(f"malformed header node {node!r:.80}")
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return bool(node["v"])
        if t == "int":
            if not isinstance(node["v"], int):
                raise self.bad(f"int node holds {node['v']!r:.40}")
            return int(node["v"])
        if t == "float":
            try:
                return float(node["v"])
            except (TypeError, ValueError) as e:
                raise self.bad(f"float node holds {node['v']!r:.40}") from e
        if t == "str":
            return str(node["v"])
        if t == "dict":
            keys = [self._key(k) for k in node["k"]]
            if len(keys) != len(node["v"]):
                raise self.bad("dict with different numbers of keys and values")
            return {k: self.decode(v) for k, v in zip(keys, node["v"], strict=True)}
        if t in ("list", "tuple"):
            items = [self.decode(v) for v in node["v"]]
            return items if t == "list" else tuple(items)
        if t == "array":
            return self._array(node)
        raise self.bad(f"unknown node type {t!r}")

    def _key(self, k: Any) -> str | int:
        if isinstance(k, list) and len(k) == 2 and k[0] == "s" and isinstance(k[1], str):
            return k[1]
        if isinstance(k, list) and len(k) == 2 and k[0] == "i" and isinstance(k[1], int):
            return k[1]
        raise self.bad(f"malformed dict key {k!r:.80}")

    def _array(self, node: dict) -> Any:
        ref = node["ref"]
        if ref not in self.arrays:
            raise self.bad(f"the header names member {ref!r}, which the archive lacks")
        arr = self.arrays[ref]
        self.used.add(ref)
        if arr.dtype.str != node["dtype"] or list(arr.shape) != list(node["shape"]):
            raise self.bad(
                f"member {ref!r} has dtype {arr.dtype.str} and shape {arr.shape}, but the "
                f"header says {node['dtype']} and {tuple(node['shape'])}"
            )
        kind = node.get("kind", "ndarray")
        if kind == "scalar":
            return arr[()]
        if kind == "tensor":
            from chainrule.tensor import tensor  # lazy: io must not need the engine to load

            return tensor(arr, requires_grad=bool(node.get("requires_grad", False)))
        return arr


def load(path: str | os.PathLike) -> Any:
    """Load what :func:`save` wrote to ``path``.

    Arrays come back as NumPy arrays (with their saved dtype and shape), Tensors as Tensors,
    tuples as tuples. Never unpickles anything.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, if it is truncated, corrupt, not an ``.npz`` archive,
            or an archive that chainrule did not write (or a newer format version).
    """
    path = os.fsdecode(path)
    name = repr(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"cr.load: no such file: {name}")
    if not zipfile.is_zipfile(path):
        # np.load would try to read anything else as a bare .npy or a pickle.
        raise ValueError(
            f"cr.load: {name} is not a valid chainrule file: not an .npz (zip) archive "
            "(truncated, corrupt, or written by something else)"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            files = list(npz.files)
            if _HEADER not in files:
                raise ValueError("an .npz archive without a chainrule header (a foreign file)")
            # Read every member now: zip checks each member's CRC as it is read, so a
            # damaged file fails here, inside the try, rather than later in user code.
            arrays = {k: npz[k] for k in files}
            for k, v in arrays.items():
                if not isinstance(v, np.ndarray):  # a zip member that is not an .npy file
                    raise ValueError(f"archive member {k!r} is not a NumPy array")
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"cr.load: {name} is not a valid chainrule file: {e}") from e
    except Exception as e:  # e.g. a zip whose members are not .npy: anything is corruption
        raise ValueError(f"cr.load: {name} is not a valid chainrule file: {e!r}") from e

    raw = arrays.pop(_HEADER)
    decoder = _Decoder(arrays, name)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise decoder.bad("the header member is not a byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise decoder.bad(f"the header is not valid JSON ({e})") from e
    if not isinstance(header, dict) or header.get("format") != _FORMAT or "root" not in header:
        raise decoder.bad("the header does not describe a chainrule file")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise decoder.bad(
            f"format version {version!r}; this chainrule reads versions 1 to {FORMAT_VERSION}"
        )
    try:
        return decoder.decode(header["root"])
    except ValueError:
        raise
    except (KeyError, TypeError, AttributeError) as e:
        raise decoder.bad(f"malformed header ({e!r})") from e
