"""cr.save / cr.load: round trips, the on-disk format, atomicity and bad files."""

import json
import math
import os
import pathlib
import zipfile

import numpy as np
import pytest

from chainrule.io import load, save


def _nested():
    rng = np.random.default_rng(0)
    return {
        "weights": [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5)],
        "meta": {"name": "mlp", "epoch": 7, "lr": 1e-3, "done": False, "note": None},
        "shape": (2, 3),
        3: {"step": 10, "exp_avg": np.zeros(4, np.float64)},
        "ints": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([True, False]),
        "scalar": np.float32(2.5),
        "big": 2**80,
        "specials": [math.inf, -math.inf, 0.1 + 0.2],
        "empty": np.zeros((0, 3), np.float32),
        "0d": np.array(4.0),
        "unicode": "π ≈ 3.14159",
    }


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray | np.generic):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        assert np.array_equal(a, b)
    else:
        assert a == b


def test_round_trip_nested(tmp_path):
    obj = _nested()
    save(obj, tmp_path / "ckpt.pt")
    back = load(tmp_path / "ckpt.pt")
    _assert_same(obj, back)


def test_nan_round_trips(tmp_path):
    save({"x": math.nan}, str(tmp_path / "n"))
    assert math.isnan(load(str(tmp_path / "n"))["x"])


def test_any_extension_exact_name(tmp_path):
    for name in ["model.ckpt", "noext", "a.npz", "w.bin"]:
        save({"a": np.ones(2)}, tmp_path / name)
        assert (tmp_path / name).exists()
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "model.ckpt", "noext", "w.bin"]


def test_format_is_plain_npz_with_json_header(tmp_path):
    p = tmp_path / "f.bin"
    save({"w": np.arange(3.0), "k": [1, "x"]}, p)
    with np.load(p, allow_pickle=False) as z:
        header = json.loads(z["__chainrule__"].tobytes().decode())
        assert header["format"] == "chainrule" and header["version"] == 1
        root = header["root"]
        assert root["t"] == "dict" and root["k"] == [["s", "w"], ["s", "k"]]
        arr = root["v"][0]
        assert arr["t"] == "array" and arr["dtype"] == np.dtype(float).str and arr["shape"] == [3]
        np.testing.assert_array_equal(z[arr["ref"]], np.arange(3.0))


def test_overwrite_is_atomic_and_leaves_no_temp(tmp_path):
    p = tmp_path / "m.npz"
    save({"v": 1}, p)
    save({"v": 2}, p)
    assert load(p) == {"v": 2}
    assert os.listdir(tmp_path) == ["m.npz"]


def test_unsupported_type_names_key_path_and_writes_nothing(tmp_path):
    p = tmp_path / "m.npz"
    save({"v": 1}, p)
    with pytest.raises(TypeError, match=r"type set at \['layers'\]\[1\]\['f'\]"):
        save({"layers": [1, {"f": {1, 2}}]}, p)
    with pytest.raises(TypeError, match=r"object"):
        save({"o": np.array([1, "a"], dtype=object)}, p)
    with pytest.raises(TypeError, match=r"key"):
        save({(1, 2): 3}, p)
    assert load(p) == {"v": 1}  # the old file survives
    assert os.listdir(tmp_path) == ["m.npz"]


def test_failure_during_write_leaves_old_file(tmp_path, monkeypatch):
    p = tmp_path / "m.npz"
    save({"v": 1}, p)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save({"v": 2}, p)
    monkeypatch.undo()
    assert load(p) == {"v": 1}
    assert os.listdir(tmp_path) == ["m.npz"]


def test_truncated_file(tmp_path):
    p = tmp_path / "m.ckpt"
    save({"w": np.random.default_rng(0).standard_normal(1000)}, p)
    data = p.read_bytes()
    for cut in [len(data) // 2, len(data) - 10, 20]:
        q = tmp_path / f"t{cut}.ckpt"
        q.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"t{cut}.ckpt"):
            load(q)


def test_corrupted_bytes(tmp_path):
    p = tmp_path / "m.ckpt"
    save({"w": np.zeros(4000)}, p)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's payload: the zip CRC catches it
    q = tmp_path / "bad.ckpt"
    q.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad.ckpt"):
        load(q)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world, not a checkpoint", b"\x80\x04K\x01."],  # empty, text, a pickle
)
def test_foreign_bytes(tmp_path, content):
    p = tmp_path / "foreign.bin"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="foreign.bin"):
        load(p)


def test_foreign_npz_and_npy(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, x=np.ones(3))
    with pytest.raises(ValueError, match="other.npz.*foreign"):
        load(p)
    q = tmp_path / "arr.npy"
    np.save(q, np.ones(3))
    with pytest.raises(ValueError, match="arr.npy"):
        load(q)


def _rewrite_header(src, dst, edit):
    with np.load(src, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    header = json.loads(members["__chainrule__"].tobytes().decode())
    edit(header, members)
    members["__chainrule__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, **members)


def test_header_mismatch_and_future_version(tmp_path):
    p = tmp_path / "m.npz"
    save({"w": np.ones((2, 2), np.float32)}, p)

    def wrong_shape(h, m):
        h["root"]["v"][0]["shape"] = [4]

    def future(h, m):
        h["version"] = 99

    def missing_member(h, m):
        del m["a0"]

    for i, edit in enumerate([wrong_shape, future, missing_member]):
        q = tmp_path / f"edited{i}.npz"
        _rewrite_header(p, q, edit)
        with pytest.raises(ValueError, match=f"edited{i}.npz"):
            load(q)


def test_zip_with_non_npy_member(tmp_path):
    p = tmp_path / "z.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("__chainrule__.npy", b"garbage")
    with pytest.raises(ValueError, match="z.npz"):
        load(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load(tmp_path / "nope")


def test_pathlike_and_str(tmp_path):
    save([1, 2.0], str(tmp_path / "a"))
    assert load(pathlib.Path(tmp_path / "a")) == [1, 2.0]


def test_compressed(tmp_path):
    save({"z": np.zeros(10000)}, tmp_path / "c", compress=True)
    assert os.path.getsize(tmp_path / "c") < 10000
    np.testing.assert_array_equal(load(tmp_path / "c")["z"], np.zeros(10000))


def test_tensor_round_trip(tmp_path):
    cr = pytest.importorskip("chainrule.tensor")
    t = cr.tensor(np.arange(3.0, dtype=np.float32), requires_grad=True)
    save({"t": t}, tmp_path / "t")
    back = load(tmp_path / "t")["t"]
    assert isinstance(back, cr.Tensor) and back.requires_grad
    assert back.data.dtype == np.float32
    np.testing.assert_array_equal(back.data, t.data)


def test_a_text_file_is_refused_as_not_an_archive(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ValueError, match=r"notes.txt.*not an .npz"):
        load(path)


def test_unwritable_target_names_the_users_path_not_the_temp_file(tmp_path):
    missing = tmp_path / "no-such-dir" / "model.ckpt"
    with pytest.raises(FileNotFoundError) as info:
        save({"a": np.ones(2)}, missing)
    assert str(missing) in str(info.value) and ".tmp" not in str(info.value)
    assert "does not exist" in str(info.value)
    with pytest.raises(IsADirectoryError) as info:
        save({"a": np.ones(2)}, tmp_path)
    assert str(tmp_path) in str(info.value) and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_bytes_path(tmp_path):
    path = os.fsencode(tmp_path / "w.bin")
    save({"w": np.arange(3.0)}, path)
    np.testing.assert_array_equal(load(path)["w"], np.arange(3.0))
