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
  A new file gets the mode ``open()`` would give it (``0o666`` less the umask); an
  overwritten file keeps its mode; saving to a symbolic link writes (atomically) to the
  file it points to and keeps the link.
* **Any extension.** ``np.savez`` appends ``.npz`` to file *names*; we hand it an open file
  instead, so ``cr.save(obj, "model.ckpt")`` writes exactly ``model.ckpt``.
* **Clear failures.** A truncated, corrupt or foreign file raises ``ValueError`` naming it.
* **Bounded.** Containers nest at most :data:`MAX_DEPTH` levels (``save`` refuses deeper
  ones, or a container that holds itself, with a ``ValueError``).  ``load`` reads the
  header first and checks all of it before building anything; it refuses archive members
  the header does not name and never inflates a member beyond the size its declared dtype
  and shape give (see :mod:`chainrule._archive`).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import zipfile
from typing import Any

import numpy as np

__all__ = ["save", "load", "FORMAT_VERSION", "MAX_DEPTH"]

FORMAT_VERSION = 1
#: Containers (dict, list, tuple) nest at most this deep in a saved object.
MAX_DEPTH = 100
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

    def encode(self, obj: Any, keypath: str = "", depth: int = 0) -> dict:
        # bool before int: bool is a subclass of int.
        if depth > MAX_DEPTH:
            raise ValueError(
                f"cr.save: containers nested deeper than {MAX_DEPTH} levels at "
                f"{_path_str(keypath)[:120]}... (a list or dict that contains itself?); "
                f"chainrule saves at most {MAX_DEPTH} levels"
            )
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
                values.append(self.encode(v, f"{keypath}[{k!r}]", depth + 1))
            return {"t": "dict", "k": keys, "v": values}
        if isinstance(obj, list | tuple):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {
                "t": kind,
                "v": [self.encode(v, f"{keypath}[{i}]", depth + 1) for i, v in enumerate(obj)],
            }
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

    # Through a symbolic link, the file it points to is replaced (the link stays).
    target = os.path.realpath(path) if os.path.islink(path) else path
    if os.path.isdir(target):
        raise IsADirectoryError(
            errno.EISDIR, "cr.save: the path is a directory; give a file name inside it", path
        )
    fd, tmp = _create_temp(target, path)
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **members)
            f.flush()
            os.fsync(f.fileno())
        try:  # an overwritten file keeps its mode (the new one has open()'s)
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _create_temp(target: str, path: str) -> tuple[int, str]:
    """A new file beside ``target``, created as ``open(..., "wb")`` would create it (mode
    ``0o666`` less the umask; ``tempfile.mkstemp`` would give ``0o600``)."""
    directory = os.path.dirname(os.path.abspath(target))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(
            directory, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp"
        )
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            # The temporary file is ours; an error about it must name the user's path.
            why = (
                "the directory does not exist; create it first"
                if isinstance(exc, FileNotFoundError)
                else exc.strerror or str(exc)
            )
            raise type(exc)(exc.errno, f"cr.save: cannot write {path!r}: {why}") from None


_KINDS = ("ndarray", "scalar", "tensor")


class _Decoder:
    """Checks a header's whole node tree (:meth:`check`), then builds the object from it
    and the arrays read for it (:meth:`decode`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.arrays: dict[str, np.ndarray] = {}

    def bad(self, why: str) -> ValueError:
        return ValueError(f"cr.load: {self.name} is not a valid chainrule file: {why}")

    def check(self, root: Any) -> dict[str, tuple[np.dtype, tuple]]:
        """Every node well formed, without recursion; returns ``{ref: (dtype, shape)}``
        of the arrays the header names (each at most once)."""
        refs: dict[str, tuple[np.dtype, tuple]] = {}
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.bad(f"containers nested deeper than {MAX_DEPTH} levels")
            if not isinstance(node, dict) or not isinstance(node.get("t"), str):
                raise self.bad(f"malformed header node {node!r:.80}")
            t, v = node["t"], node.get("v")
            if t == "none":
                continue
            if t == "bool" and isinstance(v, bool):
                continue
            if t == "int" and isinstance(v, int) and not isinstance(v, bool):
                continue
            if t == "str" and isinstance(v, str):
                continue
            if t == "float" and isinstance(v, str):
                try:
                    float(v)
                except ValueError:
                    raise self.bad(f"float node holds {v!r:.40}") from None
                continue
            if t in ("list", "tuple", "dict") and isinstance(v, list):
                if t == "dict":
                    keys = node.get("k")
                    if not isinstance(keys, list) or len(keys) != len(v):
                        raise self.bad("dict with different numbers of keys and values")
                    for k in keys:
                        self._key(k)
                stack.extend((item, depth + 1) for item in v)
                continue
            if t == "array":
                ref, dtype, shape = self._array_node(node)
                if ref in refs:
                    raise self.bad(f"the header names member {ref!r} twice")
                refs[ref] = (dtype, shape)
                continue
            raise self.bad(f"malformed {t!r:.20} node {node!r:.80}")
        return refs

    def _array_node(self, node: dict) -> tuple[str, np.dtype, tuple]:
        ref, shape = node.get("ref"), node.get("shape")
        if not isinstance(ref, str) or not ref.isidentifier() or ref == _HEADER:
            raise self.bad(f"array node with member name {ref!r:.40}")
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise self.bad(f"array {ref!r} with shape {shape!r:.80}")
        try:
            dtype = np.dtype(node.get("dtype"))
        except (TypeError, ValueError):
            raise self.bad(f"array {ref!r} with dtype {node.get('dtype')!r:.40}") from None
        if dtype.hasobject or dtype.kind == "V":
            raise self.bad(f"array {ref!r} with dtype {dtype} (would need pickle)")
        kind = node.get("kind", "ndarray")
        if kind not in _KINDS or (kind == "scalar" and shape):
            raise self.bad(f"array {ref!r} of kind {kind!r:.40} and shape {shape!r:.40}")
        if not isinstance(node.get("requires_grad", False), bool):
            raise self.bad(f"array {ref!r} with requires_grad {node['requires_grad']!r:.20}")
        return ref, dtype, tuple(shape)

    def decode(self, node: dict) -> Any:
        """The object of a node :meth:`check` passed (recursion bounded by ``MAX_DEPTH``)."""
        t = node["t"]
        if t == "none":
            return None
        if t in ("bool", "int", "str"):
            return node["v"]
        if t == "float":
            return float(node["v"])
        if t == "dict":
            return {
                self._key(k): self.decode(v) for k, v in zip(node["k"], node["v"], strict=True)
            }
        if t in ("list", "tuple"):
            items = [self.decode(v) for v in node["v"]]
            return items if t == "list" else tuple(items)
        arr = self.arrays[node["ref"]]
        kind = node.get("kind", "ndarray")
        if kind == "scalar":
            return arr[()]
        if kind == "tensor":
            from chainrule.tensor import tensor  # lazy: io must not need the engine to load

            return tensor(arr, requires_grad=bool(node.get("requires_grad", False)))
        return arr

    def _key(self, k: Any) -> str | int:
        if isinstance(k, list) and len(k) == 2 and k[0] == "s" and isinstance(k[1], str):
            return k[1]
        if (
            isinstance(k, list)
            and len(k) == 2
            and k[0] == "i"
            and isinstance(k[1], int)
            and not isinstance(k[1], bool)
        ):
            return k[1]
        raise self.bad(f"malformed dict key {k!r:.80}")


def load(path: str | os.PathLike) -> Any:
    """Load what :func:`save` wrote to ``path``.

    Arrays come back as NumPy arrays (with their saved dtype and shape), Tensors as Tensors,
    tuples as tuples. Never unpickles anything.  The header is read and checked first;
    an array member is inflated only up to the size its declared dtype and shape give.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, if it is truncated, corrupt, not an ``.npz`` archive,
            or an archive that chainrule did not write (or a newer format version).
    """
    from chainrule import _archive

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
    decoder = _Decoder(name)
    try:
        with zipfile.ZipFile(path) as zf:
            members = _archive.member_names(zf, _HEADER)
            header = _archive.read_header(zf, members.pop(_HEADER))
            root = _check_header(header, decoder)
            refs = decoder.check(root)
            for member in members:
                if member not in refs:
                    raise decoder.bad(f"archive member {member!r:.80} is not named by the header")
            for ref, (dtype, shape) in refs.items():
                if ref not in members:
                    raise decoder.bad(f"the header names member {ref!r}, which the archive lacks")
                decoder.arrays[ref] = _archive.read_member(zf, members[ref], dtype, shape)
    except FileNotFoundError:
        raise
    except _archive.BadArchive as e:
        raise decoder.bad(str(e)) from e
    except ValueError as e:
        if str(e).startswith("cr.load:"):
            raise
        raise decoder.bad(str(e)) from e
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
        raise decoder.bad(str(e) or repr(e)) from e
    except Exception as e:  # noqa: BLE001 - zlib.error, NotImplementedError, ...: corruption
        raise decoder.bad(repr(e)) from e
    return decoder.decode(root)


def _check_header(header: Any, decoder: _Decoder) -> Any:
    if not isinstance(header, dict) or header.get("format") != _FORMAT or "root" not in header:
        raise decoder.bad("the header does not describe a chainrule file")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise decoder.bad(
            f"format version {version!r}; this chainrule reads versions 1 to {FORMAT_VERSION}"
        )
    return header["root"]
