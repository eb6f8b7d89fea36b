"""cr.save / cr.load against crafted files and file-system edges: bounded header depth,
the whole header checked before anything is built, no inflation of unnamed members or
beyond a member's declared shape, file modes as open() gives them, symbolic links."""

import io
import json
import os
import stat
import sys
import zipfile

import numpy as np
import pytest

import chainrule  # noqa: F401 - loads chainrule.tensor
from chainrule.io import MAX_DEPTH, load, save


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _header(root) -> np.ndarray:
    text = json.dumps({"format": "chainrule", "version": 1, "root": root})
    return np.frombuffer(text.encode(), np.uint8)


def _archive(path, members: dict, compress=zipfile.ZIP_STORED):
    """A zip of ``{name: bytes}`` members, in the given order."""
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _array_node(ref, arr, kind="ndarray"):
    return {"t": "array", "ref": ref, "dtype": arr.dtype.str, "shape": list(arr.shape),
            "kind": kind}


def test_a_header_nested_3000_deep_is_a_value_error_naming_the_file(tmp_path):
    root = {"t": "none"}
    for _ in range(3000):
        root = {"t": "list", "v": [root]}
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # json.dumps needs it here
    p = tmp_path / "deep.ckpt"
    _archive(p, {"__chainrule__.npy": _npy(_header(root))})
    with pytest.raises(ValueError, match=r"deep\.ckpt.*nests deeper"):
        load(p)
    # Plain brackets, no chainrule nodes at all: refused before json.loads as well.
    raw = np.frombuffer(b"[" * 5000 + b"]" * 5000, np.uint8)
    q = tmp_path / "brackets.ckpt"
    _archive(q, {"__chainrule__.npy": _npy(raw)})
    with pytest.raises(ValueError, match=r"brackets\.ckpt.*nests deeper"):
        load(q)


def test_brackets_inside_strings_do_not_count_as_depth(tmp_path):
    p = tmp_path / "s.ckpt"
    save({"name": "[" * 5000, "k{" * 300: "}" * 10}, p)
    assert load(p) == {"name": "[" * 5000, "k{" * 300: "}" * 10}


def test_containers_at_the_depth_limit_round_trip_and_deeper_are_refused(tmp_path):
    ok = []
    for _ in range(MAX_DEPTH):
        ok = [ok]
    save(ok, tmp_path / "ok.ckpt")
    assert load(tmp_path / "ok.ckpt") == ok
    too_deep = [ok]
    with pytest.raises(ValueError, match=f"deeper than {MAX_DEPTH} levels"):
        save(too_deep, tmp_path / "deep.ckpt")
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save({"a": loop}, tmp_path / "loop.ckpt")
    assert sorted(os.listdir(tmp_path)) == ["ok.ckpt"]


def test_the_whole_header_is_checked_before_anything_is_built(tmp_path, monkeypatch):
    built = []
    tensor_module = sys.modules["chainrule.tensor"]  # (cr.tensor is also a function)
    monkeypatch.setattr(tensor_module, "tensor", lambda *a, **k: built.append(a))
    w = np.ones(3, np.float32)
    bad_nodes = [
        {"t": "int", "v": "7"},
        {"t": "dict", "k": [["s", "a"]], "v": []},
        {"t": "array", "ref": "a1", "dtype": "|O", "shape": [1], "kind": "ndarray"},
        {"t": "array", "ref": "a1", "dtype": "<f4", "shape": [-1], "kind": "ndarray"},
        {"t": "array", "ref": "a0", "dtype": "<f4", "shape": [3], "kind": "tensor"},  # a0 twice
        {"t": "mystery"},
    ]
    for i, bad in enumerate(bad_nodes):
        root = {"t": "list", "v": [_array_node("a0", w, "tensor"), bad]}
        p = tmp_path / f"bad{i}.ckpt"
        _archive(p, {"__chainrule__.npy": _npy(_header(root)), "a0.npy": _npy(w)})
        with pytest.raises(ValueError, match=f"bad{i}.ckpt"):
            load(p)
    assert built == []


def test_a_member_the_header_does_not_name_is_refused_without_inflating_it(tmp_path):
    w = np.arange(4.0)
    # A deflated stream that is corrupt: inflating it would raise zlib's error, so the
    # message shows it was never inflated.
    p = tmp_path / "extra.ckpt"
    _archive(
        p,
        {"junk.npy": b"\x00" * 1000, "__chainrule__.npy": _npy(_header(_array_node("a0", w))),
         "a0.npy": _npy(w)},
        compress=zipfile.ZIP_DEFLATED,
    )
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        junk = z.getinfo("junk.npy")
    start = junk.header_offset + 30 + len(junk.filename) + len(junk.extra)
    data[start : start + junk.compress_size] = b"\xff" * junk.compress_size
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"extra\.ckpt.*'junk' is not named by the header"):
        load(p)


def test_a_member_inflating_past_its_declared_shape_is_refused(tmp_path):
    declared = np.zeros(2)
    big = np.zeros(3_000_000)  # 24 MB of zeros, deflated to a few kB
    # Its .npy header says what the chainrule header says: but more data follows.
    member = _npy(declared) + big.tobytes()
    p = tmp_path / "bomb.ckpt"
    _archive(
        p,
        {"__chainrule__.npy": _npy(_header(_array_node("a0", declared))), "a0.npy": member},
        compress=zipfile.ZIP_DEFLATED,
    )
    assert p.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"bomb\.ckpt.*more data than its declared shape"):
        load(p)
    # An .npy header that disagrees with the chainrule header is refused before its data.
    q = tmp_path / "liar.ckpt"
    _archive(
        q,
        {"__chainrule__.npy": _npy(_header(_array_node("a0", declared))), "a0.npy": _npy(big)},
        compress=zipfile.ZIP_DEFLATED,
    )
    with pytest.raises(ValueError, match=r"liar\.ckpt.*header says <f8 and \(2,\)"):
        load(q)


def test_fortran_order_and_zero_size_arrays_load_as_saved(tmp_path):
    obj = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "e": np.zeros((0, 4), np.int8)}
    p = tmp_path / "m.ckpt"
    save(obj, p)
    back = load(p)
    np.testing.assert_array_equal(back["f"], obj["f"])
    assert back["e"].shape == (0, 4) and back["e"].dtype == np.int8
    back["f"][0, 0] = 9.0  # loaded arrays are writable, as np.load's


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_new_files_get_open_modes_and_overwrites_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        save({"a": 1}, tmp_path / "new.ckpt")
        with open(tmp_path / "plain", "wb"):
            pass
        assert stat.S_IMODE(os.stat(tmp_path / "new.ckpt").st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "plain").st_mode) == 0o644
        os.chmod(tmp_path / "new.ckpt", 0o664)  # shared with a group
        save({"a": 2}, tmp_path / "new.ckpt")
        assert stat.S_IMODE(os.stat(tmp_path / "new.ckpt").st_mode) == 0o664
        assert load(tmp_path / "new.ckpt") == {"a": 2}
        os.umask(0o077)
        save({"a": 3}, tmp_path / "private.ckpt")
        assert stat.S_IMODE(os.stat(tmp_path / "private.ckpt").st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="symlinks")
def test_saving_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "store" / "model.ckpt"
    real.parent.mkdir()
    save({"v": 1}, real)
    link = tmp_path / "latest.ckpt"
    link.symlink_to(real)
    save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load(real) == {"v": 2} and load(link) == {"v": 2}
    assert sorted(os.listdir(real.parent)) == ["model.ckpt"]  # no temporary file left
    dangling = tmp_path / "next.ckpt"
    dangling.symlink_to(tmp_path / "store" / "next-real.ckpt")
    save({"v": 3}, dangling)
    assert dangling.is_symlink() and load(tmp_path / "store" / "next-real.ckpt") == {"v": 3}
