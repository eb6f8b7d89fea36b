"""Pytrees: nested tuples, lists and dicts of leaves, flattened to a list and rebuilt.

The transforms take and return such nests (``grad`` of a function of a dict of weights
returns a dict of gradients), so they flatten every argument to its leaves, work on the
flat list, and rebuild the same structure at the end. The conventions are JAX's:

* tuples (named tuples included), lists and dicts are containers; everything else is a leaf;
* dict keys are visited in sorted order (insertion order when the keys cannot be sorted), so
  ``{"b": 1, "a": 2}`` and ``{"a": 2, "b": 1}`` have the same structure;
* ``None`` is an empty container: it has no leaves and comes back as ``None``.

>>> leaves, tree = tree_flatten({"w": [1.0, 2.0], "b": (3.0, None)})
>>> leaves
[3.0, 1.0, 2.0]
>>> tree_unflatten(tree, [x * 10 for x in leaves])
{'b': (30.0, None), 'w': [10.0, 20.0]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "TreeDef",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_paths",
]

_LEAF = "leaf"
_NONE = "none"


class TreeDef:
    """The shape of a nest without its leaves: what ``tree_unflatten`` rebuilds.

    Two TreeDefs are equal when the containers, their lengths and dict keys agree.
    """

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind, meta, children: tuple[TreeDef, ...]):
        self.kind = kind  # _LEAF, _NONE, tuple, list, dict, or a namedtuple class
        self.meta = meta  # the sorted dict keys, else None
        self.children = children
        n = 1 if kind == _LEAF else 0
        for c in children:
            n += c.num_leaves
        self.num_leaves = n

    def __eq__(self, other) -> bool:
        if not isinstance(other, TreeDef):
            return NotImplemented
        return (self.kind == other.kind and self.meta == other.meta
                and self.children == other.children)

    def __hash__(self) -> int:
        return hash((str(self.kind), self.meta, self.children))

    def __repr__(self) -> str:
        return f"TreeDef({self._describe()})"

    def _describe(self) -> str:
        if self.kind == _LEAF:
            return "*"
        if self.kind == _NONE:
            return "None"
        inner = [c._describe() for c in self.children]
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.meta, inner)) + "}"
        if self.kind is list:
            return "[" + ", ".join(inner) + "]"
        if self.kind is tuple:
            return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
        return f"{self.kind.__name__}(" + ", ".join(inner) + ")"


_LEAF_DEF = TreeDef(_LEAF, None, ())
_NONE_DEF = TreeDef(_NONE, None, ())


def _dict_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError:  # keys of mixed types: fall back to insertion order
        return tuple(d)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree) -> tuple[list, TreeDef]:
    """``tree`` as (list of leaves in a fixed order, its structure)."""
    leaves: list = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def _flatten(tree, leaves: list) -> TreeDef:
    # Recursion is fine here: nests are written by hand and are a few levels deep.
    # The common cases (a leaf, a plain tuple or list) are tested first: transforms flatten
    # their arguments on every call.
    kind = type(tree)
    if kind is tuple or kind is list:
        return TreeDef(kind, None, tuple([_flatten(c, leaves) for c in tree]))
    if tree is None:
        return _NONE_DEF
    if isinstance(tree, dict):
        keys = _dict_keys(tree)
        return TreeDef(dict, keys, tuple([_flatten(tree[k], leaves) for k in keys]))
    if isinstance(tree, (tuple, list)):
        # a namedtuple keeps its class; other subclasses are rebuilt as the plain container
        cls = kind if _is_namedtuple(tree) else (tuple if isinstance(tree, tuple) else list)
        return TreeDef(cls, None, tuple([_flatten(c, leaves) for c in tree]))
    leaves.append(tree)
    return _LEAF_DEF


def tree_unflatten(treedef: TreeDef, leaves) -> Any:
    """Rebuild the nest described by ``treedef`` from ``leaves`` (in flatten order)."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: the structure {treedef._describe()} has {treedef.num_leaves} "
            f"leaves but {len(leaves)} were given"
        )
    it = iter(leaves)
    return _build(treedef, it)


def _build(treedef: TreeDef, it) -> Any:
    kind = treedef.kind
    if kind == _LEAF:
        return next(it)
    if kind == _NONE:
        return None
    children = [_build(c, it) for c in treedef.children]
    if kind is dict:
        return dict(zip(treedef.meta, children))
    if kind is list:
        return children
    if kind is tuple:
        return tuple(children)
    return kind(*children)  # a namedtuple class


def tree_leaves(tree) -> list:
    """The leaves of ``tree``, in flatten order."""
    return tree_flatten(tree)[0]


def tree_structure(tree) -> TreeDef:
    """The structure of ``tree`` (its TreeDef)."""
    return tree_flatten(tree)[1]


def tree_map(fn: Callable, tree, *rest) -> Any:
    """Apply ``fn`` leafwise: ``fn(leaf, *corresponding leaves of rest)``, same structure.

    Every tree in ``rest`` must have the structure of ``tree`` (``ValueError`` otherwise).
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError(
                f"tree_map: structures differ: {treedef._describe()} vs {r_def._describe()}"
            )
        others.append(r_leaves)
    return tree_unflatten(treedef, [fn(*xs) for xs in zip(leaves, *others)])


def tree_paths(treedef: TreeDef, prefix: str = "") -> list[str]:
    """A readable path per leaf, in flatten order: ``["['w']", "['b'][0]"]``."""
    out: list[str] = []
    _paths(treedef, prefix, out)
    return out


def _paths(treedef: TreeDef, prefix: str, out: list) -> None:
    if treedef.kind == _LEAF:
        out.append(prefix)
        return
    if treedef.kind is dict:
        for k, c in zip(treedef.meta, treedef.children):
            _paths(c, f"{prefix}[{k!r}]", out)
        return
    for i, c in enumerate(treedef.children):
        _paths(c, f"{prefix}[{i}]", out)
