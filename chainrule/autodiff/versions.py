"""Version counters: how the engine notices that a value it saved was changed in place.

Every in-place change of a tensor's memory (``x += 1``, ``x[0] = 2``, an optimizer step)
adds one to the counter of that memory. A recorded node remembers the version of each
value its rule will read; if the version differs when the backward sweep reaches the
node, the rule would read new values with an old meaning, so the sweep raises and names
the op that made the change (PyTorch does the same).

Tensors that show the same memory (``detach()``, ``reshape``, ``.T``, ``broadcast_to``)
share one counter, so a change through any of them is seen by nodes that saved another.
Most tensors are never saved by a rule nor changed in place: their counter is created on
first use (``Tensor._vc``).
"""

from __future__ import annotations

import weakref

from chainrule.autodiff.graph import note_inplace_change

_new = object.__new__


class VersionCounter:
    """The version of one block of memory, shared by every tensor that shows it.

    version: how many in-place changes there have been (0 for a fresh tensor).
    op:      the name of the newest in-place op (for the error message), or None.
    views:   weak references to the tensors known to show this memory (the base and its
             views, filled by :meth:`share`), or None while only one tensor does.
    owned:   True when a leaf that requires grad shows this memory: changing it in place
             while recording would change that leaf, which is refused.
    """

    __slots__ = ("version", "op", "views", "owned")

    def __init__(self) -> None:
        self.version = 0
        self.op = None
        self.views = None
        self.owned = False

    def __repr__(self) -> str:
        return f"<VersionCounter {self.version} (last: {self.op})>"

    def bump(self, op: str) -> None:
        """Record one in-place change made by ``op``; any node that saw an older version
        now makes backward raise."""
        self.version += 1
        self.op = op
        note_inplace_change()

    def check(self, seen: int, opname: str, what: str) -> None:
        """Raise if the memory changed since a node (``opname``) saw version ``seen``;
        ``what`` names the value ("an input", "the output")."""
        if self.version != seen:
            by = f" by {self.op}" if self.op else ""
            raise RuntimeError(
                f"backward through {opname}: {what} of {opname} was changed in place{by} "
                f"after {opname} used it (version {self.version}, {opname} saw version "
                f"{seen}), so its gradient would be wrong. Change a copy instead "
                "(y = x.clone()), or make the in-place change after backward()."
            )

    def share(self, base, view, leaf_owner: bool) -> None:
        """Note that ``view`` shows ``base``'s memory (this counter is ``base``'s, and now
        ``view``'s too); ``leaf_owner``: ``base`` is a leaf that requires grad."""
        alive = [r for r in self.views or () if r() is not None]  # dead ones dropped: W.T
        if not any(r() is base for r in alive):
            alive.append(weakref.ref(base))
        alive.append(weakref.ref(view))
        self.views = alive
        if leaf_owner:
            self.owned = True

    def shown_by_another(self, t) -> bool:
        """Whether a tensor other than ``t`` that shows this memory is still alive."""
        return self.views is not None and any(
            r() is not None and r() is not t for r in self.views)


def new_counter() -> VersionCounter:
    """``VersionCounter()`` without the call of ``__init__``: the recording hot paths create
    one for each tensor first saved by a rule, and a class call costs several times more."""
    vc = _new(VersionCounter)
    vc.version = 0
    vc.op = None
    vc.views = None
    vc.owned = False
    return vc
