"""Sphinx configuration of chainrule's documentation.

Build:  pip install -e ".[docs]"  then  sphinx-build -W --keep-going -b html docs docs/_build/html

Before Sphinx reads anything, this file writes the pages that are generated from the code
(all ignored by git): ``api/*.rst`` (one page per public module, every public name),
``_generated/commands.md`` (the ``--help`` of every command) and ``tutorials/`` (a copy of the
repository's notebooks, which myst-nb executes unless the tests left a current executed copy:
see ``executed_tutorials.py``). Strict mode (``-W``) then fails the build
on a broken link, a reference to a name that does not exist, or a public name without a
docstring.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import pathlib
import re
import shutil
import sys

from sphinx.util import logging

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import chainrule  # noqa: E402

sys.path.insert(0, str(HERE))
import api_pages  # noqa: E402
import executed_tutorials  # noqa: E402

logger = logging.getLogger("chainrule.docs")

project = "chainrule"
author = "the chainrule authors"
copyright = "the chainrule authors"  # noqa: A001 - Sphinx's name
release = version = getattr(chainrule, "__version__", "0.1.0")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "skydiver.html"]
html_theme = "furo"
html_title = "chainrule"
# MathJax from a local copy (the jupyter-server-mathjax package ships MathJax 2), so that
# the site shows its formulas offline too.
import jupyter_server_mathjax  # noqa: E402

html_static_path = [str(pathlib.Path(jupyter_server_mathjax.__file__).parent / "static")]
mathjax_path = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# myst-nb marks notebook pages "tex2jax_ignore" and names the classes to typeset (for
# MathJax 3); the same for MathJax 2.
# That copy ships only the STIX-Web fonts: without saying so MathJax looks for its TeX fonts,
# shows "File failed to load" and writes [Math Processing Error] for f'(z) (as Jupyter's
# own configuration of it does).
mathjax2_config = {
    "tex2jax": {
        "processClass": "tex2jax_process|mathjax_process|math|output_area",
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
    },
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "webFont": "STIX-Web",
        "imageFont": None,
    },
}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the generated command pages start at level 2

# Tutorials: executed at build time, a failing cell fails the build -- except those that
# tests/test_tutorials.py executed already (see executed_tutorials.py and _copy_tutorials).
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# API reference.
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the signature as written; the docstring says the types
autodoc_inherit_docstrings = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
add_module_names = False

# Every cross-reference must resolve. References into other projects (NumPy, matplotlib,
# Python) are not checked: the build runs offline, without intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|matplotlib|collections|typing|os|pathlib|threading|mpi4py)\..*"),
    ("py:.*", r"(ndarray|array_like|callable|optional|Callable|Any|Sequence)"),
]

# ----- the public API, page by page ------------------------------------------------------------

_module = api_pages.module


_CLASSES = set(api_pages.documented_classes().values())
_DOCUMENTED: dict[int, str] = {}  # id(object) -> where it is documented first
_WRITTEN: set[str] = set()


def _directive(module: str, name: str, obj) -> str:
    """The reST that documents ``module.name``; "" for a submodule (it has its own page)."""
    if inspect.ismodule(obj):
        return ""
    own = getattr(obj, "__module__", "") or ""
    if callable(obj) and not own.startswith("chainrule"):
        # A NumPy type or function re-exported as it is (cr.float32 is np.float32).
        return f".. data:: {module}.{name}\n\n   NumPy's ``{own}.{obj.__name__}``, as it is.\n"
    if not callable(obj) and not inspect.isclass(obj):
        text = repr(obj)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f".. data:: {module}.{name}\n\n   ``{text}``\n"
    first = _DOCUMENTED.setdefault(id(obj), f"{module}.{name}")
    if first == f"{module}.{name}" and first in _WRITTEN:
        return ""  # listed twice on one page (cr.Tensor among the NumPy names)
    _WRITTEN.add(first)
    if first != f"{module}.{name}":
        role = "class" if inspect.isclass(obj) else "func"
        return f"``{module}.{name}`` is :py:{role}:`{first}`.\n"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        text = f".. auto{kind}:: {module}.{name}\n"
        hidden = api_pages.inherited_from(obj, _CLASSES)
        if hidden is not None:
            # The members of an internal (undocumented) base class are listed with the
            # class's own; those of a documented base (Module's, on Linear) stay on that
            # base's entry.
            text += f"   :inherited-members: {hidden}\n"
        return text
    return f".. autofunction:: {module}.{name}\n"


def _title(text: str, mark: str = "=") -> str:
    return f"{text}\n{mark * len(text)}\n\n"


def _write_api() -> None:
    out = HERE / "api"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    numpy_api = _module("chainrule.numpy_api")
    page = _title("cr: tensors, functions, transforms")
    page += ".. currentmodule:: chainrule\n\n"
    page += "``import chainrule as cr``. The differentiable functions have NumPy's names and\n"
    page += "arguments; each docstring gives the derivative.\n\n"
    for section, names in api_pages.TOP_LEVEL_EXTRA.items():
        page += _title(section, "-")
        for name in names:
            page += _directive("chainrule", name, getattr(chainrule, name)) + "\n"
    page += _title("Functions (NumPy names)", "-")
    for name in sorted(numpy_api.__all__, key=str.lower):
        page += _directive("chainrule", name, getattr(chainrule, name)) + "\n"
    (out / "chainrule.rst").write_text(page)
    toc = ["chainrule"]
    for slug, title, module, intro in api_pages.API_PAGES:
        mod = _module(module)
        text = _title(title) + f".. currentmodule:: {module}\n\n"
        text += f".. automodule:: {module}\n   :no-members:\n\n"
        if intro:
            text += intro + "\n\n"
        for name in mod.__all__:
            text += _directive(module, name, getattr(mod, name)) + "\n"
        (out / f"{slug}.rst").write_text(text)
        toc.append(slug)
    index = _title("API reference")
    index += "Every public name, with its docstring.\n\n"
    index += ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {t}\n" for t in toc)
    (out / "index.rst").write_text(index)


def _write_cli_help() -> None:
    from chainrule.cli import build_parser

    out = HERE / "_generated"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    parser = build_parser()
    page = "## chainrule\n\n```text\n" + parser.format_help() + "```\n"
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            sub.print_help()
        page += f"\n## chainrule {name}\n\n```text\n{buffer.getvalue()}```\n"
    (out / "commands.md").write_text(page)


def _copy_tutorials() -> list[str]:
    """Copy the notebooks; where the tests left a current executed copy, copy that one and
    return its page, which is then rendered as it is instead of executed a second time."""
    out = HERE / "tutorials"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ROOT / "tutorials", out, ignore=shutil.ignore_patterns(".*", "__*"))
    reused = []
    for notebook in sorted((ROOT / "tutorials").glob("*.ipynb")):
        executed = executed_tutorials.current_copy(notebook)
        if executed is not None:
            shutil.copyfile(executed, out / notebook.name)
            reused.append(f"tutorials/{notebook.name}")
    return reused


_write_api()
_write_cli_help()
# Notebooks the tests already executed (with this chainrule) are not executed again.
nb_execution_excludepatterns = _copy_tutorials()


# ----- a public name without a docstring fails the build ---------------------------------------


_BAR = re.compile(r"(``.*?``|`[^`]*`)|\|")


def _docstring(app, what, name, obj, options, lines):
    """Fail on a public name without a docstring; read ``|x|`` in docstrings as the
    absolute value it means, not as a reST substitution."""
    if what not in ("module", "data", "attribute") and not any(line.strip() for line in lines):
        logger.warning(f"{name} ({what}) has no docstring: every public name needs one")
    for i, line in enumerate(lines):
        lines[i] = _BAR.sub(lambda m: m.group(1) or "\\|", line)


def _resolve(app, env, node, contnode):
    """A reference to a chainrule name that exists but has no page of its own (an internal
    module, a function by its short name) is shown as code; one to a name that does not
    exist is left to fail the build."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    if not re.fullmatch(r"[\w.]+", target):
        # Prose that napoleon took for a property's type ("What was computed, in one
        # line: ..."): no name, so nothing to resolve.
        return contnode
    module = node.get("py:module") or ""
    cls = node.get("py:class") or ""
    for candidate in (target, f"{module}.{target}", f"{module}.{cls}.{target}"):
        if candidate.startswith("chainrule") and _exists(candidate):
            return contnode
    if "." not in target and _defined_near(module or "chainrule", target):
        return contnode
    return None


def _defined_near(package: str, name: str) -> bool:
    """Whether a module under ``package``, or a class in one, defines ``name`` (a function
    named by its short name, a method, an attribute a class declares)."""
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith(package) or mod is None:
            continue
        if hasattr(mod, name):
            return True
        for obj in vars(mod).values():
            if inspect.isclass(obj) and obj.__module__ == modname:
                declared = set(getattr(obj, "__annotations__", {})) | set(
                    getattr(obj, "__slots__", ())
                )
                if hasattr(obj, name) or name in declared:
                    return True
    return False


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def setup(app):
    app.connect("autodoc-process-docstring", _docstring)
    app.connect("missing-reference", _resolve)
