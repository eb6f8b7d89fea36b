"""chainrule's dtypes: NumPy's scalar types, the default floating dtype (float32 unless
changed), and the check of a dtype argument."""

from __future__ import annotations

import numpy as np

# NumPy's scalar types, as ``np.float32`` (``cr.float32(1.5)``, ``t.dtype == cr.float32``,
# ``t.dtype.type is cr.float32``).
float32 = np.float32
float64 = np.float64
int64 = np.int64
bool_ = np.bool_

_default_dtype = [np.dtype(float32)]


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and lists of floats become (float32 unless changed)."""
    return _default_dtype[0]


def set_default_dtype(dtype) -> None:
    """Set the dtype for Python floats: ``cr.set_default_dtype(cr.float64)``."""
    dt = as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _default_dtype[0] = dt


def as_dtype(dtype) -> np.dtype:
    """Validate and normalise a dtype argument (NumPy dtypes, their names, Python types)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(
            f"unknown dtype {dtype!r} (type {type(dtype).__name__}); use cr.float32, "
            "cr.float64, cr.int64 or cr.bool_"
        ) from exc
    if dt.kind not in "fiub":
        raise TypeError(f"unsupported dtype {dt}: chainrule tensors hold float, int or bool")
    return dt


def _check_can_require_grad(dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise TypeError(
            f"only floating-point tensors can require gradients, got dtype {dtype}; "
            "create it with dtype=cr.float32 or cr.float64"
        )
