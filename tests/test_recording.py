"""The fast recording paths (one Tensor, two arguments) against the general one.

``Primitive._apply`` defines what recording an op means; ``_apply1`` and ``_apply2`` write
it out for speed. For every registered sample with one or two arguments, and every
choice of which floating arguments are Tensors that require grad, the two must give the
same output, the same recorded node (parents, saved values, guarded version counters),
the same gradients, and the same in-place guards (a changed argument makes backward
raise on one path exactly when it does on the other).
"""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.backward import run
from chainrule.autodiff.primitive import REGISTRY


def _cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        for k, (args, params) in enumerate(prim.samples(np.random.default_rng(3)) or ()):
            if len(args) in (1, 2) and not any(isinstance(a, (list, tuple)) for a in args):
                cases.append(pytest.param(name, args, params, id=f"{name}-{k}"))
    return cases


def _floating(prim, args):
    return [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in prim.nondiff_args]


def _kinds(prim, args):
    """Per argument: 'grad' (a Tensor that requires grad), 'tensor' (one that does not),
    or 'const' (as given); every mix over the floating arguments."""
    floating = _floating(prim, args)
    choices = [("grad", "tensor", "const") if i in floating else
               (("tensor",) if isinstance(args[i], np.ndarray) else ("const",))
               for i in range(len(args))]
    return [k for k in itertools.product(*choices)
            if len(args) == 2 or k[0] != "const"]  # _apply1 takes a Tensor


def _build(args, kinds):
    out = []
    for a, kind in zip(args, kinds):
        if kind == "grad":
            out.append(cr.tensor(np.array(a), requires_grad=True))
        elif kind == "tensor":
            out.append(cr.tensor(np.array(a)))
        else:
            out.append(np.array(a) if isinstance(a, np.ndarray) else a)
    return out


def _apply(prim, path, args, params):
    if path == "general":
        return prim._apply(tuple(args), params)
    if len(args) == 1:
        return prim._apply1(args[0], params)
    return prim._apply2(args[0], args[1], params)


def _owner(vc, args):
    """Which argument a version counter belongs to (its position), for comparison."""
    return [i for i, a in enumerate(args) if isinstance(a, cr.Tensor) and a._vcl is vc]


def _position(parent, ts):
    """A parent as comparable data: None, the position of the leaf it is, or 'node'."""
    if parent is None:
        return None
    for i, t in enumerate(ts):
        if t is parent:
            return i
    return "node"


def _record(prim, path, args, kinds, params):
    ts = _build(args, kinds)
    y = _apply(prim, path, ts, params)
    node = y._node
    graph = None
    if node is not None:
        graph = {
            "prim": node.prim,
            "parents": [_position(p, ts) for p in node.parents],
            "args": node.args,
            "params": node.params,
            "inputs": node.inputs,
            "guarded": None if node.vcs is None else [_owner(vc, ts) for vc in node.vcs],
            "versions": node.versions,
        }
    shares = [i for i, t in enumerate(ts)
              if isinstance(t, cr.Tensor) and y._vcl is not None and y._vcl is t._vcl]
    return ts, y, graph, shares


def _gradients(ts, y, u):
    leaves = [t for t in ts if isinstance(t, cr.Tensor) and t.requires_grad]
    if not leaves:
        return []
    return run([y], [u], inputs=leaves)


@pytest.mark.parametrize("name,args,params", _cases())
def test_fast_paths_record_exactly_what_the_general_path_records(name, args, params):
    prim = REGISTRY[name]
    for kinds in _kinds(prim, args):
        ts_f, y_f, graph_f, shares_f = _record(prim, "fast", args, kinds, params)
        ts_g, y_g, graph_g, shares_g = _record(prim, "general", args, kinds, params)
        where = f"{name} with arguments {kinds}"
        assert type(y_f) is cr.Tensor and type(y_g) is cr.Tensor, where
        assert y_f.dtype == y_g.dtype, where
        np.testing.assert_array_equal(y_f.data, y_g.data, err_msg=where)
        assert y_f.requires_grad == y_g.requires_grad, where
        assert shares_f == shares_g, f"{where}: shared memory (views)"
        if graph_g is None:
            assert graph_f is None, where
            continue
        assert graph_f is not None, where
        for key in ("prim", "parents", "params", "inputs", "guarded", "versions"):
            assert graph_f[key] == graph_g[key], f"{where}: node.{key}"
        for a_f, a_g in zip(graph_f["args"], graph_g["args"]):
            np.testing.assert_array_equal(a_f, a_g, err_msg=f"{where}: node.args")

        u = np.random.default_rng(1).standard_normal(y_g.shape)
        for g_f, g_g in zip(_gradients(ts_f, y_f, u), _gradients(ts_g, y_g, u)):
            np.testing.assert_array_equal(np.asarray(g_f), np.asarray(g_g), err_msg=where)

        # In-place guards: change each Tensor argument after recording; backward must
        # raise on the fast path exactly when it raises on the general one.
        for i, kind in enumerate(kinds):
            if kind == "const":
                continue
            outcomes = []
            for path in ("fast", "general"):
                ts, y, _, _ = _record(prim, path, args, kinds, params)
                ts[i].mark_modified("a test")
                try:
                    _gradients(ts, y, u)
                    outcomes.append("ran")
                except RuntimeError as exc:
                    assert "changed in place by a test" in str(exc), exc
                    outcomes.append("raised")
            assert outcomes[0] == outcomes[1], f"{where}: argument {i} changed in place"


def test_the_common_primitives_are_among_the_cases():
    # The parametrization above would silently shrink if samples stopped being found.
    names = {c.values[0] for c in _cases()}
    assert {"sin", "tanh", "multiply", "add", "power", "matmul", "reshape", "sum"} <= names
    assert len(names) > 30


def _all_cases():
    cases = []
    for name, prim in sorted(REGISTRY.items()):
        for k, (args, params) in enumerate(prim.samples(np.random.default_rng(4)) or ()):
            cases.append(pytest.param(name, args, params, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("name,args,params", _all_cases())
def test_both_sweeps_give_the_same_gradients(name, args, params):
    # backward() runs the lean array sweep (which inlines step() for one-argument
    # elementwise nodes and for nodes of several arguments); grad(..., inputs) the general
    # one. Through a chain of two
    # applications (so a node's cotangent comes from another node, not only the seed),
    # both must give the same gradients, to the bit.
    prim = REGISTRY[name]
    positions = _floating(prim, args)
    if not positions:
        return

    def build():
        ts = [cr.tensor(np.array(a), requires_grad=True) if i in positions
              else (cr.tensor(np.array(a)) if isinstance(a, np.ndarray) else a)
              for i, a in enumerate(args)]
        y = prim(*ts, **params)
        return [ts[i] for i in positions], cr.sin(y) * 1.5

    leaves, y = build()
    u = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(u)
    swept = [t.grad.data for t in leaves]
    leaves, y = build()
    general = run([y], [u], inputs=leaves)
    for a, b in zip(swept, general):
        np.testing.assert_array_equal(a, np.asarray(b), err_msg=name)
