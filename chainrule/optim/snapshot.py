"""Copies of weights and optimizer state, taken before every step, for undoing it.

``cr.train.fit`` undoes a step whose loss is not finite: the weights and the optimizer's
state (step counts, moments, momentum buffers, the groups' hyper-parameters) go back to
what they were before it, together. That needs a copy before every batch.
``optimizer.state_dict()`` gives one, but numbers the parameters, builds dicts and
allocates every array anew each time; for a small network the Python work of that, more
than the bytes copied, is a large part of a compiled step.

A :class:`Checkpoint` reads the layout (which arrays, which numbers) once and keeps it
while it holds; a copy is then one ``np.concatenate`` of the weights' and the state's flat
views per dtype into buffers it keeps (:class:`FlatCopy`), plus the step counts. Restoring
gives back the weights, and exactly what ``load_state_dict`` of a ``state_dict()`` taken at
the same moment would: each parameter's entries (arrays as fresh copies, numbers as they
were), no state for a parameter that had none (a first step's moments are removed), and
the groups' hyper-parameters.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, _copy, _ParamState

__all__ = ["Checkpoint", "FlatCopy"]


class FlatCopy:
    """Copies of a fixed list of arrays, taken all at once into buffers kept between copies.

    The C-contiguous arrays of each dtype are copied by one ``np.concatenate`` of their
    flat views (``reshape(-1)`` of a C-contiguous array is a view) into one flat buffer;
    any other array by its own ``np.copyto`` into a buffer of its own. One call for many
    small arrays is the point: a ``np.copyto`` or ``.copy()`` per array costs about 0.5 µs
    of call overhead each, as much as copying a 64 x 64 array; and a kept buffer, unlike a
    new one, costs no allocation (nor, for large arrays, the first touch of fresh pages).
    """

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = list(arrays)
        self._copies: list[np.ndarray] = [None] * len(self.arrays)  # type: ignore[list-item]
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []
        by_dtype: dict[np.dtype, list[int]] = {}
        for i, a in enumerate(self.arrays):
            if a.flags.c_contiguous:
                by_dtype.setdefault(a.dtype, []).append(i)
            else:
                self._copies[i] = np.empty_like(a)
                self._pairs.append((a, self._copies[i]))
        self._batches: list[tuple[list[np.ndarray], np.ndarray]] = []
        for dtype, indices in by_dtype.items():
            flat = np.empty(sum(self.arrays[i].size for i in indices), dtype)
            offset = 0
            for i in indices:
                a = self.arrays[i]
                self._copies[i] = flat[offset:offset + a.size].reshape(a.shape)
                offset += a.size
            self._batches.append(([self.arrays[i].reshape(-1) for i in indices], flat))
        self.take()

    def take(self) -> None:
        """Copy the arrays now."""
        for views, flat in self._batches:
            np.concatenate(views, out=flat)
        for src, dst in self._pairs:
            np.copyto(dst, src)

    def copies(self) -> list[np.ndarray]:
        """The last copies, in the order of ``arrays`` (views of the buffers: copy them to
        keep them past the next :meth:`take`)."""
        return self._copies


class _Layout:
    """Where the weights and a chainrule optimizer's state live now: the parameters'
    arrays, each parameter's state dict, its array entries (all copied through one
    :class:`FlatCopy`, weights first) and its other entries (numbers: read at every copy).

    ``matches`` says whether it still holds: the same array behind each parameter, the
    same state object, the same dict for each parameter with the same number of entries,
    the same array objects under the same keys (chainrule's optimizers update them in
    place). It runs before every copy, so its loops are ``map``s over C functions."""

    def __init__(self, params: list, optimizer: Optimizer | None) -> None:
        self.weights = [p.data for p in params]
        self.state = state = None if optimizer is None else optimizer.state
        self.size = 0 if state is None else len(state)
        self.params: list[tuple[Any, dict, tuple[str, ...]]] = []  # (p, its dict, its keys)
        self.array_keys: list[tuple[dict, str]] = []
        self.value_keys: list[tuple[dict, str]] = []
        arrays = list(self.weights)
        for group in [] if optimizer is None else optimizer.param_groups:
            for p in group["params"]:
                st = dict.get(state, id(p))
                if st is None:
                    continue
                self.params.append((p, st, tuple(st)))
                for k, v in st.items():
                    if type(v) is np.ndarray:
                        self.array_keys.append((st, k))
                        arrays.append(v)
                    else:
                        self.value_keys.append((st, k))
        self.arrays = FlatCopy(arrays)
        # The same, unzipped for matches().
        self._ids = [id(p) for p, _, _ in self.params]
        self._dicts = [st for _, st, _ in self.params]
        self._lengths = [len(keys) for _, _, keys in self.params]
        self._array_dicts = [st for st, _ in self.array_keys]
        self._array_names = [k for _, k in self.array_keys]
        self._state_arrays = arrays[len(self.weights):]
        self._value_dicts = [st for st, _ in self.value_keys]
        self._value_names = [k for _, k in self.value_keys]

    def matches(self, params: list, optimizer: Optimizer | None) -> bool:
        if not all(map(operator.is_, map(_data, params), self.weights)):
            return False  # a parameter's array was replaced (p.data = ...)
        if optimizer is None:
            return True
        state = optimizer.state
        if state is not self.state or len(state) != self.size:
            return False
        # With the same number of entries, all the recorded keys present means the same keys.
        return (
            all(map(operator.is_, map(functools.partial(dict.get, state), self._ids),
                    self._dicts))
            and list(map(len, self._dicts)) == self._lengths
            and all(map(operator.is_, map(dict.get, self._array_dicts, self._array_names),
                        self._state_arrays))
            and all(map(dict.__contains__, self._value_dicts, self._value_names))
        )


_data = operator.attrgetter("data")
_IMMUTABLE = (int, float, bool, str, type(None))


class Checkpoint:
    """The weights of ``params`` and the state of ``optimizer``, copied together, to be put
    back together (so that a restore never pairs one step's weights with another's
    moments).

    ``take()`` copies them now; ``restore()`` puts the last copy back. For a chainrule
    optimizer (one that keeps :class:`Optimizer`'s state dicts) the state is every
    parameter's entries (step counts, moments, momentum buffers) and every group's
    hyper-parameters; while the layout holds (the usual case: every step updates the same
    arrays in place) a copy is one ``np.concatenate`` and a read of the step counts, and
    when it changes (a parameter's first step, amsgrad switched on, a ``load_state_dict``)
    the layout is read again. An optimizer whose class defines its own ``state_dict`` and
    ``load_state_dict`` (a user's, or a subclass that saves more) is copied through them;
    one without them keeps its state (only the weights are put back).
    """

    def __init__(self, params: list, optimizer: Any = None) -> None:
        self.params = list(params)
        self.optimizer = optimizer
        cls = type(optimizer)
        own = (
            isinstance(optimizer, Optimizer)
            and cls.state_dict is Optimizer.state_dict
            and cls.load_state_dict is Optimizer.load_state_dict
        )
        self._own = optimizer if own else None
        dicts = hasattr(optimizer, "state_dict") and hasattr(optimizer, "load_state_dict")
        self._dicts = optimizer if dicts and not own else None
        self._layout: _Layout | None = None
        self.take()

    def take(self) -> None:
        """Copy the weights and the optimizer's state now."""
        opt = self._own
        layout = self._layout
        if layout is not None and layout.matches(self.params, opt):
            layout.arrays.take()
        else:
            layout = self._layout = _Layout(self.params, opt)  # its FlatCopy takes a copy
        if opt is not None:
            values = map(dict.__getitem__, layout._value_dicts, layout._value_names)
            # A step count is immutable: kept as it is (_copy would test and return it).
            self._values = [v if type(v) in _IMMUTABLE else _copy(v) for v in values]
            self._groups = [dict(g) for g in opt.param_groups]
        elif self._dicts is not None:
            self._state_dict = self._dicts.state_dict()

    def restore(self, why: str = "restoring a checkpoint") -> None:
        """Put the last copy back: each parameter's array gets its copied values in place
        (its version is bumped, with ``why``, so graphs built on the undone values refuse
        a backward), and the optimizer's ``state`` holds exactly the copied entries (fresh
        arrays: the copy stays this checkpoint's) and each group its hyper-parameters."""
        layout = self._layout
        copies = layout.arrays.copies()
        n = len(layout.weights)
        for p, c in zip(self.params, copies[:n], strict=True):
            np.copyto(p.data, c)
            if hasattr(p, "mark_modified"):
                p.mark_modified(why)
        if self._dicts is not None:
            self._dicts.load_state_dict(self._state_dict)
        opt = self._own
        if opt is None:
            return
        saved: dict[tuple[int, str], Any] = {}
        for (st, k), a in zip(layout.array_keys, copies[n:], strict=True):
            saved[id(st), k] = a.copy()
        for (st, k), v in zip(layout.value_keys, self._values, strict=True):
            saved[id(st), k] = _copy(v)
        state = _ParamState()
        for p, st, keys in layout.params:
            if keys:  # as load_state_dict: a parameter with no state gets no entry
                state[p] = {k: saved[id(st), k] for k in keys}
        opt.state = state
        for group, copied in zip(opt.param_groups, self._groups, strict=True):
            group.update((k, v) for k, v in copied.items() if k != "params")
