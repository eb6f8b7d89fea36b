"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule explain "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2" --at t=10
    chainrule diff "x**2*sin(x)" --wrt x --order 2 --at x=1
    chainrule demo
    chainrule train --dataset digits --epochs 5

Expressions are read by the safe expression language (:mod:`chainrule.explain.expr`),
never evaluated as Python.  Bad input gives one error line on stderr (with the source
line and a caret under the position, for syntax errors) and exit status 2.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import sys

__all__ = ["main"]

_EXAMPLE = "P = 101325*exp(-0.0001*h); h = 4000 - g; g = 0.5*9.8*t**2"


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _point(items: list[str] | None) -> dict[str, float]:
    """``["t=10", "x=pi/4,y=2"]`` -> ``{"t": 10.0, "x": 0.785..., "y": 2.0}``.

    Each value is a constant expression of the language (``pi/4``, ``1e-3``, ``-2``).
    """
    from chainrule.explain.expr import parse_constant

    point: dict[str, float] = {}
    for item in items or []:
        # "x = 3" reads as "x=3": blanks around "=" are allowed.
        item = re.sub(r"\s*=\s*", "=", item)
        for part in item.replace(",", " ").split():
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or not name.isidentifier() or not value.strip():
                raise UsageError(f"--at expects name=value (as in --at t=10), got {part!r}")
            if name in point:
                raise UsageError(f"--at gives '{name}' twice")
            try:
                point[name] = parse_constant(value)
            except ValueError as err:
                raise UsageError(f"--at {name}: {err}") from None
    return point


#: ``-o FILE``: the format its extension names, unless ``--format`` says otherwise.
_FORMATS = {
    ".html": "html",
    ".htm": "html",
    ".svg": "svg",
    ".png": "png",
    ".md": "markdown",
    ".tex": "latex",
    ".json": "json",
    ".dot": "dot",
    ".gv": "dot",
    ".txt": "text",
}


def _format(args) -> str:
    """The output format: ``--format``, else the extension of ``-o FILE``, else text."""
    if args.format is not None:
        return args.format
    if args.output:
        ext = os.path.splitext(args.output)[1].lower()
        if ext not in _FORMATS:
            known = " ".join(sorted(set(_FORMATS)))
            raise UsageError(
                f"cannot tell the format of {args.output!r} from its extension (known: "
                f"{known}); say it with --format"
            )
        return _FORMATS[ext]
    return "text"


def _cmd_explain(args) -> int:
    from chainrule.explain.core import explain

    args.format = _format(args)
    if args.format == "code":
        return _expression_code(args)

    split = "auto" if args.split is None else args.split
    descent = _descent_options(args)
    e = _on_the_command_line(explain, args.expression, wrt=args.wrt, split=split,
                             **_point(args.at))
    if descent is not None:
        if args.format not in _DESCENT_FORMATS:
            raise UsageError(
                f"--lr shows gradient descent in {', '.join(_DESCENT_FORMATS)}, not "
                f"{args.format}: leave out --lr, or choose one of those formats"
            )
        text = _DESCENT_FORMATS[args.format](e, e.descend(*descent))
    elif args.format in ("svg", "png"):
        return _picture(e, args)
    else:
        text = {
            "text": e.to_text,
            "markdown": e.to_markdown,
            "latex": e.to_latex,
            "dot": e.to_dot,
            "json": e.to_json,
            "html": e.to_html,
        }[args.format]()
    if args.output:
        _write(args.output, text + ("" if args.format == "html" else "\n"))
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0 if e.agrees else 1


def _descent_json(e, d) -> str:
    from chainrule.explain.render import to_json_text

    return to_json_text({**e.to_dict(), "descent": d.to_dict()})


def _descent_html(e, d) -> str:
    from chainrule.explain.page import explanation_html

    return explanation_html(e, extra=d.to_html())


#: The formats that show gradient descent after the explanation (``--lr``).
_DESCENT_FORMATS = {
    "text": lambda e, d: e.to_text() + "\n\n" + d.to_text(),
    "markdown": lambda e, d: e.to_markdown() + "\n\n" + d.to_markdown(),
    "latex": lambda e, d: e.to_latex() + "\n" + d.to_latex(),
    "json": _descent_json,
    "html": _descent_html,
}


def _on_the_command_line(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, its errors saying how to give a value here: with ``--at``
    (the library's message says ``as in x=1``, its keyword argument)."""
    from chainrule.explain.errors import ExprError

    try:
        return fn(*args, **kwargs)
    except ExprError as err:
        message = re.sub(r"give one, as in (\w+)=", r"give one with --at \1=", err.message)
        if message == err.message:
            raise
        raise type(err)(message, source=err.source, line=err.line, col=err.col) from None


def _descent_options(args) -> tuple[float, int] | None:
    """``(lr, steps)`` from ``--lr``/``--steps``, checked; None without ``--lr``."""
    from chainrule.explain.descend import MAX_STEPS, check_descent

    if args.lr is None:
        if args.steps is not None:
            raise UsageError("--steps needs --lr (the learning rate η), as in --lr 0.5 --steps 3")
        return None
    from chainrule.explain.expr import parse_constant

    try:
        lr = parse_constant(args.lr)
    except ValueError:
        raise UsageError(f"--lr must be a positive finite number, got {args.lr!r}") from None
    try:
        steps = 1 if args.steps is None else int(args.steps)
    except ValueError:
        raise UsageError(
            f"--steps must be a whole number from 1 to {MAX_STEPS}, got {args.steps!r}"
        ) from None
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive finite number, got {args.lr!r}")
    if not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps must be a whole number from 1 to {MAX_STEPS}, got {steps}")
    return check_descent(lr, steps)


def _expression_code(args) -> int:
    """``--format code``: ``cr.compile(cr.value_and_grad(f)).source`` for the expression."""
    from chainrule.autodiff.transforms import value_and_grad
    from chainrule.compile import compile as compile_
    from chainrule.explain.evaluate import chainrule_functions, evaluate_program
    from chainrule.explain.expr import parse
    from chainrule.numpy_api import named
    from chainrule.tensor import Tensor

    program = parse(args.expression)
    point = _point(args.at)
    inputs = list(program.inputs)
    wrt = [w.strip() for w in (args.wrt or ",".join(inputs)).split(",") if w.strip()]
    unknown = [w for w in wrt if w not in inputs]
    if unknown or not wrt:
        raise UsageError(f"--wrt {','.join(unknown) or '(none)'}: not an input of the "
                         f"expression (its inputs: {', '.join(inputs) or 'none'})")

    def f(*values):
        def bind(name, value, known):
            implicit = program.definitions[name].implicit
            return value if implicit or not isinstance(value, Tensor) else named(value, name)

        out = evaluate_program(program, dict(zip(inputs, values)), chainrule_functions(),
                               bind=bind)
        return out[program.output]

    f.__name__ = program.output if program.output.isidentifier() else "f"
    # The generated code calls the inputs by their names in the expression.
    f.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in inputs])
    argnums = tuple(inputs.index(w) for w in wrt)
    compiled = compile_(value_and_grad(f, argnums=argnums if len(argnums) > 1 else argnums[0]))
    compiled(*[float(point.get(name, 1.0)) for name in inputs])
    text = compiled.source.rstrip("\n")
    if args.output:
        _write(args.output, text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def _picture(e, args) -> int:
    """``--format svg|png -o FILE``: the explanation's graph, drawn by Graphviz."""
    from chainrule.viz import GraphvizNotFoundError, explanation_graph

    if not args.output:
        raise UsageError(f"--format {args.format} writes a picture: give the file with -o FILE")
    try:
        explanation_graph(e).render(args.output, format=args.format)
    except OSError as err:
        raise UsageError(err.strerror or str(err)) from None
    except GraphvizNotFoundError as err:
        raise UsageError(str(err)) from None
    print(f"wrote {args.output}")
    return 0 if e.agrees else 1


def _write(path: str, text: str) -> None:
    from chainrule.viz._files import write_atomic

    try:
        write_atomic(path, text, what="--output")
    except OSError as err:
        raise UsageError(err.strerror or str(err)) from None


def _range(text: str) -> tuple[float, float]:
    """``"-3,3"`` -> ``(-3.0, 3.0)``; each end a constant expression (``-pi,pi``)."""
    from chainrule.explain.expr import parse_constant

    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"--range expects two numbers a,b (as in --range -3,3), got {text!r}")
    try:
        a, b = (parse_constant(p) for p in parts)
    except ValueError as err:
        raise UsageError(f"--range: {err}") from None
    if not a < b:
        raise UsageError(f"--range needs a < b, got {text!r}")
    return a, b


def _cmd_diff(args) -> int:
    from chainrule.explain.diff import differentiate
    from chainrule.explain.render import number

    point = _point(args.at) if args.at else None
    r = differentiate(args.expression, args.wrt, args.order, point)
    if r.formula is None:
        print(f"{r.label}: no formula")
    elif args.format == "latex":
        print(
            rf"\frac{{d^{{{r.order}}}{r.function}}}{{d{r.wrt}^{{{r.order}}}}} = {r.latex}"
            if r.order > 1
            else rf"\frac{{d{r.function}}}{{d{r.wrt}}} = {r.latex}"
        )
    else:
        print(f"{r.label} = {r.pretty or r.formula}")
    if point is not None:
        at = ", ".join(f"{k} = {number(v)}" for k, v in point.items())
        print(f"at {at}: {r.label} = {number(r.value)}")
        if r.unchecked:
            print(
                f"note: not finite at this point (the chain rule gives {number(r.value)}, the "
                f"simplified formula {number(r.symbolic_value)}): the function is not "
                "differentiable here, or only in a limit; this value is not checked"
            )
        if not r.agrees:
            print(
                f"CHECK FAILED: the formula gives {r.symbolic_value!r} but the engine "
                f"{r.value!r} (a bug; please report it)",
                file=sys.stderr,
            )
            return 1
    for note in r.notes:
        print(f"note: {note}")
    if args.plot:
        from chainrule.viz.plots import plot_function

        span = _range(args.range) if args.range else (-5.0, 5.0)
        try:
            plot_function(args.expression, r.wrt, args.plot, order=r.order, range=span, point=point)
        except OSError as err:
            raise UsageError(err.strerror or str(err)) from None
        except ImportError as err:
            raise UsageError(str(err)) from None
        print(f"saved the plot to {args.plot}")
    return 0


def _cmd_activations(args) -> int:
    from chainrule.viz.activation import activations, describe

    table = describe(args.names)  # a bad name fails here, before anything is printed
    if args.plot:
        activations(args.names, args.plot)
    print(table)
    print()
    print("Backpropagation multiplies by f'(z) at every layer: sigmoid's is at most 0.25, so")
    print("a stack of sigmoid layers shrinks the gradient at least 4x per layer toward the input.")
    if args.plot:
        print(f"saved the functions and their derivatives to {args.plot}")
    return 0


def _cmd_demo(args) -> int:
    from chainrule.explain.core import explain

    print("A skydiver falls from 4000 m. After t seconds she has fallen g = 0.5*9.8*t^2 m,")
    print("her height is h = 4000 - g, and the air pressure there is P = 101325*exp(-0.0001*h) Pa.")
    print("How fast does the pressure change at t = 10 s?  By the chain rule:")
    print()
    print(f'$ chainrule explain "{_EXAMPLE}" --wrt t --at t=10')
    print()
    print(explain(_EXAMPLE, wrt="t", t=10).to_text())
    print()
    print("(Watch the signs: the fall rate is dg/dt = +9.8*t while the height changes at")
    print(" dh/dt = -9.8*t; the pressure rises as she falls.)")
    print()
    train = _train_module()
    if train is None or args.no_train:
        print("Next: train a small network, with the same engine:  chainrule train --epochs 5")
        return 0
    print("Next, the same engine trains a small network (chainrule train --epochs 5):")
    print()
    sub = _Parser(prog="chainrule").add_subparsers(dest="command")
    train.add_parser(sub)
    status = _run_train(train, sub.choices["train"].parse_args(["--epochs", "5"]))
    print()
    print("More: chainrule train --help  (datasets, a CNN, optimizers, checkpoints, plots)")
    return status


def _cmd_serve(args) -> int:
    from chainrule.serve import run

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    try:
        run(args.host, args.port, open_browser=args.open)
    except KeyboardInterrupt:
        pass
    return 0


def _train_module():
    try:
        from chainrule import train_cli
    except ImportError:
        return None
    return train_cli


def _run_train(train, args) -> int:
    status = train.run(args)
    return 0 if status is None else int(status)


def _version() -> str:
    """The installed package's version (from its metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="Derivatives by the chain rule, shown: every link as a formula and a number.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "explain",
        help="explain a derivative by the chain rule, link by link",
        description="Explain the derivative of an expression at a point.",
    )
    p.add_argument("expression", help=f'assignments or an expression, e.g. "{_EXAMPLE}"')
    p.add_argument("--wrt", help="input(s) to differentiate by, comma-separated (default: all)")
    p.add_argument(
        "--at",
        action="append",
        metavar="NAME=VALUE",
        help="the point, e.g. --at t=10 (repeat, or separate by commas)",
    )
    p.add_argument(
        "--split",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="split composites into their chain (sin(x^2): u = x², f = sin(u)); default: "
        "split when no quantity is named, --split also inside named ones, --no-split never",
    )
    p.add_argument(
        "--lr",
        metavar="η",
        help="then take gradient-descent steps w ← w − η·dL/dw (η a positive number)",
    )
    p.add_argument(
        "--steps", metavar="N", help="how many gradient-descent steps (1 to 1000; default 1)"
    )
    p.add_argument(
        "--format",
        default=None,
        choices=["text", "markdown", "latex", "dot", "json", "html", "svg", "png", "code"],
        help="output format (default: from the extension of -o FILE, else text); code: the "
        "value and the derivative as the straight-line Python that cr.compile generates, "
        "each backward line under its chain-rule link",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of printing (html: a step-through page; "
        "svg/png: the graph, drawn by Graphviz)",
    )
    p.set_defaults(run=_cmd_explain)

    p = sub.add_parser(
        "diff",
        help="derivative formula of any order, and its value at a point",
        description="The simplified derivative of an expression.",
    )
    p.add_argument("expression")
    p.add_argument("--wrt", help="the input to differentiate by (needed if there are several)")
    p.add_argument("--order", type=int, default=1, help="order of the derivative (default 1)")
    p.add_argument("--at", action="append", metavar="NAME=VALUE", help="a point, e.g. --at x=1")
    p.add_argument("--format", default="text", choices=["text", "latex"])
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="plot the function and its derivative(s) to FILE (.png/.svg/.pdf)",
    )
    p.add_argument(
        "--range",
        metavar="A,B",
        help="interval of the plot (default -5,5; --range=-pi,pi for names)",
    )
    # Let "--range -3,3" read as a value: argparse takes a leading "-" for an option unless
    # the text looks like a negative number, and "-3,3" does not by its default pattern.
    p._negative_number_matcher = re.compile(r"^-\d*\.?\d+(e-?\d+)?(,[-+]?[\d.e-]+)?$")
    p.set_defaults(run=_cmd_diff)

    p = sub.add_parser("demo", help="the skydiver example explained, then a short training run")
    p.add_argument("--no-train", action="store_true", help="skip the training run")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser(
        "activations",
        help="activation functions and their derivatives, compared",
        description="sigmoid, tanh, ReLU, leaky ReLU, GELU and softplus: each formula, its "
        "derivative and the derivative's maximum (from chainrule's engine).",
    )
    p.add_argument(
        "names",
        nargs="?",
        help="comma-separated subset, e.g. sigmoid,relu (default: all six)",
    )
    p.add_argument("--plot", metavar="FILE", help="draw them side by side to FILE (.png/.svg/.pdf)")
    p.set_defaults(run=_cmd_activations)

    p = sub.add_parser(
        "serve",
        help="the chain-rule explorer and network playground in the browser",
        description="Serve the explorer, the step-through and the network playground "
        '(needs the extra; in chainrule\'s clone: pip install -e ".[serve]").',
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.set_defaults(run=_cmd_serve)

    train = _train_module()
    if train is not None:
        before = set(sub.choices)
        train.add_parser(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(run=lambda a: _run_train(train, a))
    parser.commands = tuple(sub.choices)
    return parser


def _report(prog: str, err: Exception) -> int:
    from chainrule.explain.errors import ExprSyntaxError

    print(f"{prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
    if isinstance(err, ExprSyntaxError) and err.caret():
        print(err.caret(), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    for stream in (sys.stdout, sys.stderr):
        try:  # formulas use "·" and "∂": never fail on a console that cannot show them
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        words = sys.argv[1:] if argv is None else argv
        dashed = [w for w in words[1:] if w[:1] == "-" and w[:2] != "--" and w not in ("-h", "-o")]
        if dashed and "expression" in str(err):
            # argparse reads "-x**2" as an option: a leading space, or "--" after the
            # options, makes it the expression.
            err = UsageError(f"{err}; an expression that starts with '-' needs a leading space "
                             f"(\" {dashed[0]}\") or to come last, after '--'")
        return _report("chainrule", err)
    if getattr(args, "run", None) is None:
        commands = ", ".join(parser.commands)
        return _report(
            "chainrule", UsageError(f"a command is needed: {commands} (see 'chainrule --help')")
        )
    prog = f"chainrule {args.command}"
    try:
        return args.run(args)
    except UsageError as err:
        return _report(prog, err)
    except ValueError as err:
        # ExprError is a ValueError: bad expressions, points and names.  Anything else is
        # a bug and keeps its traceback.
        return _report(prog, err)
    except RecursionError:
        return _report(prog, ValueError("expression too complex"))
    except ImportError as err:
        # An optional dependency (SymPy for formulas): say which, without a traceback.
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (chainrule ... | head): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as err:
        # An output file that cannot be written (a missing directory, no permission).
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
