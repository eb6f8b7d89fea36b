"""Renderers of an :class:`~chainrule.explain.explanation.Explanation`.

``to_text`` reads like a worked solution: each quantity's definition and value, the chain
(``dP/dt = dP/dh · dh/dg · dg/dt``), each link's formula and value, then the product (or,
with several paths, each path's product and their sum).  ``to_markdown`` and ``to_latex``
say the same with typeset formulas; ``to_dot`` draws the contracted graph.
"""

from __future__ import annotations

import json
import math

import numpy as np

from chainrule.explain.pretty import _minus

__all__ = ["to_text", "to_markdown", "to_latex", "to_dot", "number"]


def _distinct_links(paths) -> list:
    """The links of ``paths`` in the order they are met, each once (a link shared by two
    paths is shown once)."""
    links = []
    for p in paths:
        for link in p.links:
            if link not in links:
                links.append(link)
    return links


def to_json_text(data, indent: int | None = 2) -> str:
    """``data`` as JSON text, made JSON-safe first (see :func:`json_safe`)."""
    return json.dumps(json_safe(data), indent=indent, ensure_ascii=False)


def json_safe(obj):
    """``obj`` with every non-finite float as a string: JSON has no nan or inf (Python's
    ``NaN``/``Infinity`` are refused by JavaScript's ``JSON.parse`` and by jq)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def number(v) -> str:
    """A value for people: 10 significant digits for numbers, shape and norm for arrays."""
    if v is None:
        return "?"
    arr = np.asarray(v, dtype=np.float64)
    if arr.size == 1:
        x = float(arr.reshape(())) + 0.0  # no "-0"
        return f"{x:.10g}"
    return f"array of shape {arr.shape}, norm {np.linalg.norm(arr.ravel()):.6g}"


def _num(v) -> str:
    """A value in text: :func:`number` with a true minus sign (−0.5, as the formulas)."""
    return _minus(number(v))


def _factor(v) -> str:
    """A factor of a product: negative numbers in brackets (2 · (−0.5)), others bare."""
    text = _num(v)
    return f"({text})" if text.startswith("−") else text


def _aligned(rows: list[tuple[str, str]], indent: str = "  ", sep: str = " = ") -> list[str]:
    width = max((len(a) for a, _ in rows), default=0)
    return [f"{indent}{a.ljust(width)}{sep}{b}" for a, b in rows]


def _point(e) -> str:
    parts = [f"{name} = {_num(q.value)}" for name, q in e.quantities.items() if q.role == "input"]
    return ", ".join(parts)


def _total(e, wrt: str) -> str:
    return f"d{e.output}/d{wrt}"


def _chain(paths) -> str:
    return " + ".join(" · ".join(link.label for link in p.links) for p in paths)


def _through(path) -> str:
    middle = list(reversed(path.quantities[1:-1]))
    if not middle:
        return " directly"
    if len(middle) == 1:
        return f" through {middle[0]}"
    return f" through {', '.join(middle[:-1])} and {middle[-1]}"


def _source(e) -> str:
    """The expression on one line: its statements joined by "; "."""
    from chainrule.explain.errors import split_lines

    # "#" can only start a comment: the language has no strings.
    parts = [" ".join(line.split("#")[0].split()) for line in split_lines(e.source)]
    return "; ".join(p.strip("; ") for p in parts if p.strip("; "))


def to_text(e) -> str:
    lines: list[str] = []
    if e.source:
        lines += [_source(e), ""]
    if not e.scalar:
        return "\n".join(lines + [f"Computed {e.headline}", ""] + _tensor_text(e))
    lines.append(f"At {_point(e)}:" if _point(e) else "Values:")
    rows = []
    for q in e.quantities.values():
        if q.role == "input":
            continue
        left = f"{q.name} = {q.definition}" if q.definition else q.name
        rows.append((left, _num(q.value)))
    lines += _aligned(rows)
    for wrt in e.wrt:
        paths = [p for p in e.paths if p.wrt == wrt]
        lines.append("")
        lines += _wrt_text(e, wrt, paths)
    lines += [""] + [f"Note: {note}" for note in e.notes] + [_check_text(e)]
    return "\n".join(lines)


def _wrt_text(e, wrt: str, paths) -> list[str]:
    total = _total(e, wrt)
    value = _num(e.derivatives[wrt])
    if not paths:
        return [f"{e.output} does not depend on {wrt}: {total} = {value}"]
    links = []
    for p in paths:
        for link in p.links:
            if link not in links:
                links.append(link)
    out = []
    if len(paths) == 1:
        out.append(f"Chain rule: {e.output} depends on {wrt}{_through(paths[0])}")
    else:
        out.append(
            f"Chain rule: {wrt} reaches {e.output} along {len(paths)} paths; {total} is the sum "
            "of the products of the links along each"
        )
    chain = _chain(paths)
    if chain != total:  # one direct link: "df/dx = df/dx" would say nothing
        out.append(f"  {total} = {chain}" + (" + ..." if e.paths_truncated else ""))
    out += [
        "",
        "Links"
        + (
            " (∂: the other quantities held fixed):" if any(link.partial for link in links) else ":"
        ),
    ]
    out += _aligned(
        [
            (f"{link.label} = {link.formula}" if link.formula else link.label, _num(link.value))
            for link in links
        ]
    )
    if len(paths) == 1:
        p = paths[0]
        factors = " · ".join(_factor(link.value) for link in p.links)
        out += ["", "Product:"]
        if len(p.links) > 1:
            out += [f"  {total} = {factors}", f"  {' ' * len(total)} = {value}"]
        else:
            out += [f"  {total} = {value}"]
        return out
    out += ["", "Paths:"]
    trails = [" ← ".join(p.quantities) for p in paths]
    width = max(map(len, trails))
    rows = []
    for trail, p in zip(trails, paths):
        labels = " · ".join(link.label for link in p.links)
        if len(p.links) > 1:
            factors = " · ".join(_factor(link.value) for link in p.links)
            rows.append((f"{trail.ljust(width)}   {labels}", f"{factors} = {_num(p.value)}"))
        else:
            rows.append((f"{trail.ljust(width)}   {labels}", _num(p.value)))
    out += _aligned(rows)
    if e.paths_truncated:
        # The listed products do not add up to the derivative: say so, give the engine's.
        return out + [
            f"  ... only the first {len(paths)} paths are listed",
            "",
            f"Sum over all paths (the engine's reverse sweep): {total} = {value}",
        ]
    out += [
        "",
        "Sum:",
        f"  {total} = " + " + ".join(_factor(p.value) for p in paths),
        f"  {' ' * len(total)} = {value}",
    ]
    return out


def _check_text(e) -> str:
    if not e.scalar and e.checks and all(c.ok for c in e.checks):
        n = len(e.checks)
        return (
            f"Check: {'each of the ' + str(n) + ' rules' if n > 1 else 'the rule'} shown, "
            "evaluated over its step's arrays, agrees with the engine's gradient."
        )
    if not e.checks:
        return "Check: no symbolic formula to compare with (the numbers are the engine's)."
    bad = [c for c in e.checks if not c.ok]
    if not bad:
        return (
            "Check: the formulas and the path sums agree with the engine's automatic "
            f"derivatives ({len(e.checks)} comparison{'' if len(e.checks) == 1 else 's'})."
        )
    lines = [f"CHECK FAILED for {len(bad)} of {len(e.checks)} values (a bug; please report it):"]
    lines += [f"  {c.what}: expected {c.expected!r}, engine {c.automatic!r}" for c in bad]
    return "\n".join(lines)


def _tensor_text(e) -> list[str]:
    net = e.network
    out: list[str] = []
    if net is not None and net.aliases:
        out.append(
            "Parameters: " + ", ".join(f"{k} = {v} {_shape_text(e.quantities[k].value)}"
                                       for k, v in net.aliases.items() if k in e.quantities)
        )
    if net is not None and net.forward:
        out += ["", "Forward pass:"]
        out += _aligned([(d, f"shape {s}" if s != "scalar" else _num(e.value))
                         for d, s in net.forward], sep="    ")
    out += [
        "",
        f"Backward pass, step by step ({len(e.backward)} steps, from {e.output} back to "
        "the parameters; each rule is evaluated over the step's arrays and compared with "
        "the engine's gradient):",
    ]
    out += _backward_steps_text(e, net)
    out += ["", "Gradients:"]
    out += _aligned([(f"∂{e.output}/∂{w}", _num(e.derivatives[w])) for w in e.wrt])
    if net is not None and net.layers:
        out += ["", "Gradient norms, layer by layer (input side first):"]
        out += _layer_norms_text(e.output, net.layers)
    if net is not None and net.unchecked:
        out += ["", "Shown but not checked (a rule the evaluator cannot read):"]
        out += [f"  {r}" for r in net.unchecked]
    out += ["", _check_text(e)]
    return out


def _backward_steps_text(e, net) -> list[str]:
    """One line per step of the backward pass (its call, as the network names it where it
    has a name, and the upstream gradient), then one per rule applied."""
    out = []
    for s in e.backward:
        call = f"{s.output} = {s.op}({', '.join(s.arguments)})"
        if net is not None:
            call = next((d for d, _ in net.forward if d.startswith(f"{s.output} = ")), call)
        out.append(
            f"  {s.index:>2}. {call}    ∂{e.output}/∂{s.output}: shape "
            f"{s.upstream_shape}, norm {s.upstream_norm:.6g}"
        )
        for rule, sent in zip(s.rules, s.sent):
            if sent is not None:
                out.append(f"        {rule}   -> shape {sent[1]}, norm {sent[2]:.6g}")
    return out


def _layer_norms_text(output: str, layers) -> list[str]:
    """Each layer's gradient norms and their ratio to the next layer's, flagged where the
    gradients vanish or explode, and what the flags mean."""
    rows = []
    for r in layers:
        left = f"layer {r.layer}: ‖∂{output}/∂{r.weight}‖ = {r.weight_norm:.4g}"
        if r.bias:
            left += f", ‖∂{output}/∂{r.bias}‖ = {r.bias_norm:.4g}"
        if r.ratio is not None:
            left += f"; ratio to layer {r.layer + 1}: {r.ratio:.3g}"
        if r.flag:
            left += f"  <- {r.flag.upper()} gradients"
        rows.append("  " + left)
    if any(r.flag for r in layers):
        rows.append(
            "  (a ratio under 1e-3 between consecutive layers: vanishing gradients, the "
            "earlier layer barely learns; over 1e3 or not finite: exploding)"
        )
    else:
        rows.append("  (no vanishing (< 1e-3) or exploding (> 1e3) ratio between layers)")
    return rows


def _shape_text(v) -> str:
    shape = np.shape(v)
    return "(" + "×".join(map(str, shape)) + ")" if shape else ""


# ----- Markdown and LaTeX --------------------------------------------------------------------


def _sym(name: str) -> str:
    from chainrule.explain.symbolic import have_sympy, require_sympy, symbol

    if not have_sympy():
        return name.replace("_", r"\_")
    return require_sympy().latex(symbol(name))


def _frac(link_or_pair, partial: bool | None = None) -> str:
    if isinstance(link_or_pair, tuple):
        top, bottom = link_or_pair
    else:
        top, bottom, partial = link_or_pair.target, link_or_pair.source, link_or_pair.partial
    d = r"\partial " if partial else "d"
    return rf"\frac{{{d}{_sym(top)}}}{{{d}{_sym(bottom)}}}"


def _latex_number(v) -> str:
    text = number(v)
    if "e" in text and "array" not in text:
        mantissa, exp = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exp)}}}"
    return text if "array" not in text else rf"\text{{{text}}}"


def _latex_lines(e) -> list[str]:
    rows = []
    for q in e.quantities.values():
        if q.role == "input":
            rows.append(rf"{_sym(q.name)} &= {_latex_number(q.value)}")
        else:
            definition = f"{q.latex} = " if q.latex else ""
            rows.append(rf"{_sym(q.name)} &= {definition}{_latex_number(q.value)}")
    for wrt in e.wrt:
        paths = [p for p in e.paths if p.wrt == wrt]
        total = _frac((e.output, wrt), False)
        if not paths:
            rows.append(rf"{total} &= {_latex_number(e.derivatives[wrt])}")
            continue
        chain = " + ".join(r" \, ".join(_frac(link) for link in p.links) for p in paths)
        more = r" + \cdots" if e.paths_truncated else ""
        if chain != total:  # one direct link: d f/d x = d f/d x would say nothing
            rows.append(rf"{total} &= {chain}{more}")
        for link in _distinct_links(paths):
            formula = f"{link.latex} = " if link.latex else ""
            rows.append(rf"{_frac(link)} &= {formula}{_latex_number(link.value)}")
        products = " + ".join(
            "".join(f"({_latex_number(link.value)})" for link in p.links) for p in paths
        )
        rows.append(rf"{total} &= {products}{more} = {_latex_number(e.derivatives[wrt])}")
    return rows


def to_latex(e) -> str:
    return "\\begin{align*}\n" + " \\\\\n".join(_latex_lines(e)) + "\n\\end{align*}"


def to_markdown(e) -> str:
    out = []
    if e.source:
        out += [f"`{_source(e)}`", ""]
    point = ", ".join(
        rf"{_sym(n)} = {_latex_number(q.value)}"
        for n, q in e.quantities.items()
        if q.role == "input"
    )
    out += [
        f"**At** ${point}$" if point else "**Values**",
        "",
        "| quantity | definition | value |",
        "|---|---|---|",
    ]
    for q in e.quantities.values():
        if q.role != "input":
            definition = (
                f"${q.latex}$" if q.latex else (f"`{q.definition}`" if q.definition else "")
            )
            out.append(f"| ${_sym(q.name)}$ | {definition} | {number(q.value)} |")
    if not e.scalar:
        out += [
            "",
            "**Backward pass, step by step**",
            "",
            f"| step | operation | upstream ∂{e.output}/∂out | sent to arguments |",
            "|---|---|---|---|",
        ]
        out += [_markdown_step(s) for s in e.backward]
        return "\n".join(out)
    for wrt in e.wrt:
        out += _markdown_chain(e, wrt)
    out += ["", _check_text(e)]
    return "\n".join(out)


def _markdown_step(s) -> str:
    """A row of the backward pass's table: the operation, its upstream gradient and what
    each rule sent."""
    sent = "; ".join(
        f"{r} (shape {t[1]}, norm {t[2]:.4g})" for r, t in zip(s.rules, s.sent) if t is not None
    )
    return (
        f"| {s.index} | `{s.output} = {s.op}({', '.join(s.arguments)})` | "
        f"shape {s.upstream_shape}, norm {s.upstream_norm:.4g} | {sent} |"
    )


def _markdown_chain(e, wrt: str) -> list[str]:
    """The chain rule for one input: the sum over paths of the products of links, the
    table of links with their formulas and values, and the sum in numbers."""
    paths = [p for p in e.paths if p.wrt == wrt]
    total = _frac((e.output, wrt), False)
    out = ["", f"**Chain rule for ${_sym(wrt)}$**", ""]
    if not paths:
        return out + [f"${total} = {_latex_number(e.derivatives[wrt])}$"]
    chain = " + ".join(r" \cdot ".join(_frac(link) for link in p.links) for p in paths)
    more = r" + \cdots" if e.paths_truncated else ""
    if chain != total:  # one direct link: d f/d x = d f/d x would say nothing
        out += [f"$${total} = {chain}{more}$$", ""]
    out += ["| link | formula | value |", "|---|---|---|"]
    for link in _distinct_links(paths):
        formula = f"${link.latex}$" if link.latex else ""
        out.append(f"| ${_frac(link)}$ | {formula} | {number(link.value)} |")
    products = " + ".join(
        r" \cdot ".join(f"({_latex_number(link.value)})" for link in p.links) for p in paths
    )
    return out + ["", f"$${total} = {products}{more} = {_latex_number(e.derivatives[wrt])}$$"]


# ----- Graphviz ------------------------------------------------------------------------------


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(e) -> str:
    lines = [
        "digraph chainrule {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for q in e.quantities.values():
        label = f"{q.name} = {number(q.value)}"
        if q.definition:
            label = f"{q.name} = {q.definition}\n= {number(q.value)}"
        if q.gradient is not None and q.role != "output":
            label += f"\nd{e.output}/d{q.name} = {number(q.gradient)}"
        shape = ", shape=ellipse" if q.role == "input" else ""
        shape += ", peripheries=2" if q.role == "output" else ""
        lines.append(f'  "{_dot_escape(q.name)}" [label="{_dot_escape(label)}"{shape}];')
    for link in e.steps:
        label = link.label
        if link.formula:
            label += f" = {link.formula}"
        label += f"\n= {number(link.value)}"
        lines.append(
            f'  "{_dot_escape(link.source)}" -> "{_dot_escape(link.target)}" '
            f'[label="{_dot_escape(label)}"];'
        )
    lines.append("}")
    return "\n".join(lines)
