"""The package's layers, bottom to top, and the imports between them (DESIGN.md).

Every import of a chainrule module, at the top of a file or inside a function (they run
all the same, only later), is read from the source with ``ast``. A module may import
from its own layer or from layers below it, never from a layer above, and the imports
must not form a cycle. There are no exceptions.

A module that writes into another at run time (``other._private = ...``,
``other._table.update(...)``) makes that other depend on it: such a link counts as an
import of the writer by the written module. Where a lower layer needs something built
above it, it says so in its own terms and offers one function to receive it; the upper
layer calls that function (an ordinary downward import), once, where it is built:
``chainrule.numpy_api`` hands itself to Tensor's operators
(``tensor_operators.use_surface``) and to the engine's recorded rules
(``autodiff.namespace.use_recorded``). Tensor itself is one class built bottom-up: its
data core is the engine's (``autodiff/tensor_core.py``), ``chainrule.tensor`` completes it.

``python tests/test_layers.py`` prints the figures: the tangles of import cycles and how
many imports sit inside functions (``PYTHONPATH=.`` to read this checkout's package).
"""

import ast
import pathlib

import chainrule

PACKAGE = pathlib.Path(chainrule.__file__).parent

# Bottom to top; a module belongs to the layer of its longest matching prefix.
LAYERS = [
    # dtypes.py (chainrule's dtype rules) and habits.py (answers to other libraries'
    # spellings, dim= for axis=) import nothing of chainrule; Tensor and nn use them.
    ("base", ["chainrule.dtypes", "chainrule.habits"]),
    # The engine: graph, nodes and modes, version counters, Tensor's data core (the values
    # it makes and reads), Primitive and its recording, the sweeps, forward mode,
    # transforms, pytrees.
    ("engine", ["chainrule.autodiff"]),
    # Tensor as users know it: the engine's class completed with construction, conversions,
    # backward(), in-place changes and the operators.
    ("tensor", ["chainrule.tensor", "chainrule.tensor_operators"]),
    ("ops", ["chainrule.ops"]),
    ("NumPy surface", ["chainrule.numpy_api", "chainrule.linalg_api",
                       "chainrule.random", "chainrule.linalg"]),
    ("compile", ["chainrule.compile"]),
    ("testing", ["chainrule.testing"]),
    # Drawing small graphs from plain data (DOT text, role styles, inline SVG with or
    # without Graphviz): the explainer's step-through page and viz's pictures draw with it.
    ("drawing", ["chainrule.drawing"]),
    # testing/expressions.py draws random expressions of explain's language (and parses
    # them), for explain's own tests: it belongs with explain, not under it.
    ("explain", ["chainrule.explain", "chainrule.testing.expressions"]),
    ("learning", ["chainrule.nn", "chainrule.optim", "chainrule.data", "chainrule.datasets",
                  "chainrule.train", "chainrule.history", "chainrule.io", "chainrule._archive",
                  "chainrule.distributed", "chainrule._figure"]),
    ("viz", ["chainrule.viz"]),
    ("package", ["chainrule"]),  # chainrule/__init__.py only: the public names
    # The web app and the commands use the public package (the playground runs user code
    # with `cr` in scope).
    ("serve", ["chainrule.serve"]),
    ("commands", ["chainrule.cli", "chainrule.train_cli", "chainrule.__main__",
                  "chainrule.ops.__main__"]),  # python -m chainrule.ops writes the docs page
]

def _modules(package: pathlib.Path = PACKAGE) -> dict:
    """``{module name: path}`` for every module of the package in the folder ``package``."""
    mods = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _imports(mods: dict) -> set:
    """(importer, imported module, line) for every import of a chainrule module."""

    def resolve(name):
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    edges = set()
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from chainrule import numpy_api` imports the module chainrule.numpy_api
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in mods else source
                           for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "chainrule" and resolve(target) != mod:
                    edges.add((mod, resolve(target), node.lineno))
    return edges


# Methods that change the container they are called on.
_MUTATING = {"update", "append", "extend", "insert", "setdefault", "pop", "clear", "add",
             "discard", "remove", "__setitem__"}


def _writes(mods: dict) -> set:
    """(written module, writer, line) for every run-time write of one chainrule module into
    another's private names: an assignment ``alias._name = ...``, ``setattr(alias, ...)``,
    or a call ``alias._name.update(...)`` (or another method that changes a container),
    where ``alias`` is an imported chainrule module. Reading (``alias._api.sum(x)``) is not
    a write."""
    links = set()
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods and a.name != mod:
                        aliases[a.asname or a.name] = a.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in mods and full != mod:
                        aliases[a.asname or a.name] = full
        for node in ast.walk(tree):
            target = None
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                        target = t.value.id
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id == "setattr" and node.args and isinstance(
                        node.args[0], ast.Name):
                    target = node.args[0].id
                elif (isinstance(f, ast.Attribute) and f.attr in _MUTATING
                      and isinstance(f.value, ast.Attribute)
                      and f.value.attr.startswith("_") and isinstance(f.value.value, ast.Name)):
                    target = f.value.value.id
            if target in aliases:
                links.add((aliases[target], mod, node.lineno))
    return links


def _layer(mod: str) -> int:
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (mod == prefix or mod.startswith(prefix + ".") and prefix != "chainrule") and (
                    best is None or len(prefix) > best[1]):
                best = (i, len(prefix))
    assert best is not None, (
        f"{mod} belongs to no layer: add it to LAYERS in tests/test_layers.py, in the layer "
        "DESIGN.md gives it (a module may import only from its layer and those below)")
    return best[0]


MODULES = _modules()
EDGES = _imports(MODULES) | _writes(MODULES)


def test_every_module_has_a_layer():
    for mod in MODULES:
        _layer(mod)


def _upward(edges) -> list:
    """The links of ``edges`` that go up a layer, in words."""
    return sorted(f"{a} ({LAYERS[_layer(a)][0]}) imports {b} ({LAYERS[_layer(b)][0]}), line {n}"
                  for a, b, n in edges if _layer(b) > _layer(a))


def test_no_import_goes_up_a_layer():
    up = _upward(EDGES)
    assert not up, "imports that go up a layer:\n" + "\n".join(up)


def test_imports_form_no_cycle():
    graph: dict = {}
    for a, b, _ in EDGES:
        graph.setdefault(a, set()).add(b)
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _find_cycle(graph: dict):
    """One cycle of the directed graph as a list of nodes (first repeated last), or None."""
    state: dict = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        iters = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


# A planted package with the faults the walk must see: an upward import inside a function
# (the engine's primitive.py reaching the NumPy surface), and a run-time write into another
# module (the surface setting the engine's private name), which together form a cycle.
_PLANTED = {
    "__init__.py": "",
    "autodiff/__init__.py": "",
    "autodiff/primitive.py": "def stack(xs):\n    from chainrule import numpy_api\n"
                             "    return numpy_api.stack(xs)\n",
    "autodiff/graph.py": "STATE = None\n",
    "numpy_api.py": "from chainrule.autodiff import graph\n"
                    "import chainrule.autodiff.primitive as primitive\n"
                    "primitive._surface = 1\n",
}


def test_planted_faults_are_found(tmp_path):
    for name, text in _PLANTED.items():
        (tmp_path / "chainrule" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "chainrule" / name).write_text(text)
    mods = _modules(tmp_path / "chainrule")
    # The import inside a function is read...
    assert {(a, b) for a, b, _ in _imports(mods)} == {
        ("chainrule.autodiff.primitive", "chainrule.numpy_api"),
        ("chainrule.numpy_api", "chainrule.autodiff.graph"),
        ("chainrule.numpy_api", "chainrule.autodiff.primitive")}
    # ... and so is the write: primitive depends on numpy_api, though it imports nothing.
    assert {(a, b) for a, b, _ in _writes(mods)} == {
        ("chainrule.autodiff.primitive", "chainrule.numpy_api")}
    edges = _imports(mods) | _writes(mods)
    assert _upward(edges) == [
        "chainrule.autodiff.primitive (engine) imports chainrule.numpy_api (NumPy surface), "
        "line 2",
        "chainrule.autodiff.primitive (engine) imports chainrule.numpy_api (NumPy surface), "
        "line 3"]
    graph: dict = {}
    for a, b, _ in edges:
        graph.setdefault(a, set()).add(b)
    assert _find_cycle(graph) == ["chainrule.autodiff.primitive", "chainrule.numpy_api",
                                  "chainrule.autodiff.primitive"]


# Where a lower layer receives what is built above it: (module, function) -> the one module
# that calls it, from a layer above (see the docstring at the top).
HANDOVERS = {
    ("chainrule.tensor_operators", "use_surface"): "chainrule.numpy_api",
    ("chainrule.autodiff.namespace", "use_recorded"): "chainrule.numpy_api",
}


def test_each_hand_over_is_made_once_from_above():
    calls: dict = {}
    for mod, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name in {fn for _, fn in HANDOVERS}:
                    calls.setdefault(name, []).append(mod)
    for (lower, fn), upper in HANDOVERS.items():
        assert fn in vars(__import__(lower, fromlist=["_"])), f"{lower} has no {fn}"
        assert calls.get(fn) == [upper], f"{fn} is called from {calls.get(fn)}, not {upper}"
        assert _layer(upper) > _layer(lower), f"{upper} is not above {lower}"


def test_tensor_is_one_class_built_bottom_up():
    # The engine's Tensor (its data core) is the Tensor users get, completed from above: a
    # value the engine makes has the public methods and operators.
    import numpy as np

    from chainrule.autodiff.tensor_core import Tensor, make

    assert Tensor is chainrule.Tensor and Tensor.__module__ == "chainrule.tensor"
    t = make(np.array([1.0, 2.0]))
    assert type(t) is chainrule.Tensor and (t * 2.0 + t).tolist() == [3.0, 6.0]


def test_the_explainer_never_imports_viz():
    # An Explanation is plain data that viz reads (DESIGN.md): no import of viz from the
    # explainer, not even inside a function.
    up = sorted(f"{a} imports {b}, line {n}" for a, b, n in EDGES
                if a.startswith("chainrule.explain") and b.startswith("chainrule.viz"))
    assert not up, "\n".join(up)


def _tangles(graph: dict) -> list:
    """The strongly connected sets of two or more modules (each a set of modules that all
    reach one another: one tangle of import cycles), largest first (Tarjan's algorithm)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found, key=lambda group: (-len(group), group))


def test_tangles_are_found():
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a"}}
    assert _tangles(graph) == [["a", "b"], ["c", "d"]]


def _imports_in_functions(mods: dict) -> list:
    """(module, line) of every import of a chainrule module inside a function body."""
    found = []
    for mod, path in mods.items():
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in fn.body:
                for inner in ast.walk(node):
                    names = ([a.name for a in inner.names] if isinstance(inner, ast.Import)
                             else [inner.module or "" if not inner.level else "chainrule"]
                             if isinstance(inner, ast.ImportFrom) else [])
                    if any(n.split(".")[0] == "chainrule" for n in names):
                        found.append((mod, inner.lineno))
    return sorted(set(found))  # a nested function's imports are counted once


if __name__ == "__main__":
    # python tests/test_layers.py: the figures (for the checkout on sys.path).
    everything: dict = {}
    for a, b, _ in EDGES:
        everything.setdefault(a, set()).add(b)
    print(f"{len(MODULES)} modules, {len({(a, b) for a, b, _ in EDGES})} import links")
    tangles = _tangles(everything)
    print(f"tangles of import cycles: {len(tangles)}, sizes {[len(t) for t in tangles]}")
    for t in tangles:
        print("  ", " ".join(m.removeprefix("chainrule.") for m in t))
    print(f"imports going up a layer: {len(_upward(EDGES))}")
    print(f"imports of chainrule modules inside functions: {len(_imports_in_functions(MODULES))}")


_SHADOW_CHECK = """
import importlib, inspect, json, sys
import chainrule
def public(names):
    return {p: [n for n in dir(sys.modules[p]) if not n.startswith("_")
                and not inspect.ismodule(getattr(sys.modules[p], n))] for p in names}
seen = public([m for m in sys.argv[1:] if m in sys.modules])  # as after import chainrule
for m in sys.argv[1:]:
    importlib.import_module(m)
hidden = [f"{p}.{n}" for p, names in seen.items() for n in names
          if inspect.ismodule(getattr(sys.modules[p], n))]
print(json.dumps(hidden))
"""


def test_no_submodule_hides_a_public_name():
    # Importing chainrule.viz.foo sets the attribute foo of chainrule.viz to the module: a
    # submodule named like a function of its package would replace that function once
    # anything imports the submodule. Checked in a fresh interpreter, all modules imported.
    import json
    import subprocess
    import sys

    mods = sorted(m for m in MODULES if not m.endswith("__main__"))
    out = subprocess.run([sys.executable, "-c", _SHADOW_CHECK, *mods], capture_output=True,
                         text=True, timeout=120, cwd=PACKAGE.parent, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
