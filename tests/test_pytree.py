"""Pytrees: flatten/unflatten round trips, structure equality, paths, tree_map."""

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.autodiff.pytree import (
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_paths,
    tree_structure,
    tree_unflatten,
)

Point = namedtuple("Point", ["x", "y"])


def test_round_trip_nested_containers_with_none():
    tree = {"w": [np.ones(2), (3.0, None)], "b": None, "c": Point(1.0, [2.0])}
    leaves, treedef = tree_flatten(tree)
    assert len(leaves) == 4 and treedef.num_leaves == 4  # None is not a leaf
    rebuilt = tree_unflatten(treedef, leaves)
    assert rebuilt["b"] is None and rebuilt["w"][1][1] is None
    assert isinstance(rebuilt["c"], Point) and rebuilt["c"].y == [2.0]
    assert isinstance(rebuilt["w"], list) and isinstance(rebuilt["w"][1], tuple)
    assert rebuilt["w"][0] is tree["w"][0]


def test_dict_keys_sorted_so_insertion_order_does_not_matter():
    a = {"b": 1.0, "a": 2.0}
    b = {"a": 2.0, "b": 1.0}
    assert tree_leaves(a) == [2.0, 1.0]
    assert tree_structure(a) == tree_structure(b)


def test_unsortable_keys_keep_insertion_order():
    tree = {1: "one", "x": 2.0}
    leaves, treedef = tree_flatten(tree)
    assert leaves == ["one", 2.0]
    assert tree_unflatten(treedef, leaves) == tree


def test_structures_differ():
    assert tree_structure((1.0, 2.0)) != tree_structure([1.0, 2.0])
    assert tree_structure((1.0, (2.0,))) != tree_structure((1.0, 2.0))
    assert tree_structure({"a": 1.0}) != tree_structure({"b": 1.0})
    assert tree_structure((None, 1.0)) != tree_structure((1.0, 1.0))
    assert tree_structure(np.ones(3)) == tree_structure(5.0)  # both leaves


def test_none_is_an_empty_subtree():
    leaves, treedef = tree_flatten(None)
    assert leaves == [] and tree_unflatten(treedef, []) is None


def test_unflatten_wrong_number_of_leaves():
    _, treedef = tree_flatten((1.0, 2.0))
    with pytest.raises(ValueError, match="2 leaves but 3"):
        tree_unflatten(treedef, [1, 2, 3])


def test_tree_map_and_mismatch():
    out = tree_map(lambda a, b: a + b, {"x": 1.0, "y": (2.0,)}, {"x": 10.0, "y": (20.0,)})
    assert out == {"x": 11.0, "y": (22.0,)}
    with pytest.raises(ValueError, match="structures differ"):
        tree_map(lambda a, b: a, (1.0, 2.0), (1.0,))


def test_paths_name_each_leaf():
    _, treedef = tree_flatten({"w": [1.0, 2.0], "b": (3.0,)})
    assert tree_paths(treedef) == ["['b'][0]", "['w'][0]", "['w'][1]"]


def test_repr_describes_structure():
    assert repr(tree_structure({"a": (1.0,), "b": [None, 2.0]})) == \
        "TreeDef({'a': (*,), 'b': [None, *]})"


_leaves = st.one_of(st.floats(allow_nan=False), st.integers(), st.none())
_trees = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(min_size=1, max_size=2), children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(_trees)
def test_round_trip_property(tree):
    leaves, treedef = tree_flatten(tree)
    assert treedef.num_leaves == len(leaves)
    assert tree_unflatten(treedef, leaves) == tree
    assert tree_structure(tree_unflatten(treedef, leaves)) == treedef
    # relabelling the leaves keeps the structure
    assert tree_structure(tree_unflatten(treedef, list(range(len(leaves))))) == treedef
