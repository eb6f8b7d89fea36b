"""What ``cr.nn`` does when an input's dtype differs from the model's: never promote silently.

NumPy promotes ``float32 @ float64`` to float64, so without a rule one float64 array (NumPy's
default dtype: ``np.random.randn``, ``np.loadtxt``, ``cr.datasets``) or one integer target
would quietly turn a float32 model's every output, loss and gradient float64.  The rule:

* **Layers with parameters** (``Linear``, ``Conv2d``, ``BatchNorm1d``, ``LayerNorm``, and
  ``F.linear`` / ``F.conv2d``) compute in their parameters' dtype.  An input of another
  dtype -- a float64 array into a float32 model, an integer array -- raises ``TypeError``
  naming the fix (cast the input with ``.astype(cr.float32)``, or make the model float64
  with ``model.double()``), as PyTorch raises for the same layers.  A Python number or
  list has no dtype of its own and becomes the layer's.  ``cr.data.DataLoader`` already
  yields floating data in ``cr.get_default_dtype()``, so ``cr.train.fit`` and
  ``chainrule train`` feed float32 models float32 batches.
* **Losses** compute in their input's (the prediction's) dtype.  Targets, class weights
  and ``pos_weight`` are data, not model outputs, so they are *cast* to the input's dtype:
  integer labels 0/1 for ``BCELoss`` / ``BCEWithLogitsLoss``, float64 regression targets
  for ``MSELoss``.  (PyTorch is not consistent here: it raises for integer BCE targets and
  promotes ``mse_loss(float32, float64)`` to float64.)  A target that requires grad is
  cast by ``astype``, which casts its gradient back.  Class labels for
  ``CrossEntropyLoss`` and ``NLLLoss`` must be integers (``TypeError`` otherwise).
* Layers without parameters (activations, ``Dropout``, ``MaxPool2d``, ``Flatten``) keep
  their input's dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_input_dtype"]


def check_input_dtype(layer: str, x, *params) -> None:
    """Raise ``TypeError`` if ``x``'s dtype differs from the first parameter's that exists.

    ``params`` are the layer's parameters or buffers (``None`` for one it does not have);
    their own dtypes must agree too (``F.linear(x, w32, b64)``).
    """
    have = getattr(x, "dtype", None)
    if have is None:
        return
    for p in params:  # the common case, every dtype the same, checked first: once per layer call
        if p is not None and p.dtype != have:
            break
    else:
        return
    given = [p for p in params if p is not None]
    want = np.dtype(given[0].dtype)
    for p in given[1:]:
        if np.dtype(p.dtype) != want:
            raise TypeError(
                f"{layer}: the weight is {want} but the bias is {np.dtype(p.dtype)}; "
                "give them the same dtype"
            )
    have = np.dtype(x.dtype)
    if have == want:
        return
    kind = "a NumPy array" if isinstance(x, np.ndarray) else "a tensor"
    fix = f"cast the input with x.astype(cr.{want.name})"
    if have.kind == "f" and want.kind == "f":
        fix += f", or make the model {have.name} with model.to(cr.{have.name})"
    raise TypeError(
        f"{layer}: the input is {kind} of dtype {have} but the layer's parameters are "
        f"{want}; chainrule does not promote dtypes silently (as PyTorch): {fix}"
    )
