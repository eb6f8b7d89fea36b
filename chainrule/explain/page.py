"""One self-contained HTML page that steps through the backward pass of an explanation.

The page holds the graph (inline SVG), the table of quantities and links, and **Step /
Back / Play** controls. Each step visits one node in the order the backward pass does,
highlights it and shows how its gradient is made: ``local × upstream = gradient``, with
the numbers (summed over the links where a node feeds several others). Everything is
inline — CSS, JavaScript, the SVG — so the file opens offline and from an e-mail.

For scalar explanations the walk follows the named quantities (``P``, ``h``, ``g``, ``t``
for the skydiver); for tensors (a network's loss) it follows the engine's own reverse
sweep, op by op, with shapes and norms. All text is computed here in Python; the script
only shows and hides it.
"""

from __future__ import annotations

import hashlib
import html
import json

import numpy as np

from chainrule.drawing.layout import graph_svg

__all__ = ["explanation_html", "walk", "STEP_JS"]


def _num(v) -> str:
    """10 significant digits for numbers; shape and norm for arrays."""
    if v is None:
        return "?"
    arr = np.asarray(v, dtype=np.float64)
    if arr.size == 1:
        return f"{float(arr.reshape(())) + 0.0:.10g}"
    return f"shape {tuple(arr.shape)}, norm {np.linalg.norm(arr.ravel()):.6g}"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _is_scalar(e) -> bool:
    return bool(e.scalar) and bool(e.steps)


# ----- the walk -------------------------------------------------------------------------------


def _chain_walk(e):
    """Graph and steps over the named quantities (scalar explanations)."""
    out = e.output
    shown = [q for q in e.quantities.values() if q.role != "constant"]
    ids = {q.name: f"q{i}" for i, q in enumerate(shown)}
    nodes = []
    for q in shown:
        role = "input" if q.role == "input" else q.role
        lines = [
            q.name if not q.definition else f"{q.name} = {q.definition}",
            f"value {_num(q.value)}",
        ]
        nodes.append((ids[q.name], role, lines))
    edges = []
    for link in e.steps:
        if link.source in ids and link.target in ids:
            label = f"{link.label} = {link.formula}" if link.formula else link.label
            edges.append((ids[link.source], ids[link.target], f"{label}\n= {_num(link.value)}"))
    steps = []
    consumers: dict[str, list] = {}
    for link in e.steps:
        consumers.setdefault(link.source, []).append(link)
    # Output first, then each quantity after everything that reads it (reverse topological).
    for q in reversed(shown):
        d = f"d{out}/d{q.name}"
        if q.name == out:
            steps.append(
                {
                    "node": ids[q.name],
                    "name": q.name,
                    "title": f"Start at the output {out}",
                    "lines": [f"{d} = 1: the output changes one-for-one with itself."],
                    "equation": f"{d} = 1",
                    "grad": _num(1.0),
                }
            )
            continue
        terms, lines = [], []
        for link in consumers.get(q.name, []):
            upstream = e.quantities[link.target].gradient
            product = float(np.reshape(link.value, ())) * float(np.reshape(upstream, ()))
            value = _num(link.value)
            formula = f" = {link.formula}" if link.formula and link.formula != value else ""
            lines.append(f"local {link.label}{formula} = {value}")
            lines.append(
                f"upstream d{out}/d{link.target} = {_num(upstream)} "
                f"(already known: {link.target} is nearer the output)"
            )
            terms.append((f"{_paren(value)} × {_paren(_num(upstream))}", product))
        if len(terms) > 1:
            lines.append(f"{q.name} reaches {out} along {len(terms)} links: their products add up.")
        total = " + ".join(t for t, _ in terms) or "0"
        grad = q.gradient if q.gradient is not None else sum(p for _, p in terms)
        steps.append(
            {
                "node": ids[q.name],
                "name": q.name,
                "title": f"{q.name}: the gradient {d} = local × upstream"
                + (f", summed over {len(terms)} links" if len(terms) > 1 else ""),
                "lines": lines,
                "equation": f"{d} = {total} = {_num(grad)}",
                "grad": _num(grad),
            }
        )
    return nodes, edges, steps


def _sweep_walk(e):
    """Graph and steps over the engine's reverse sweep (tensor explanations).

    Leaves that are not inputs of the explanation (a model's weights, read from a closure)
    are drawn as parameters; their gradient is what the sweep sent them.
    """
    names, roles, shapes, named_edges = _sweep_quantities(e)
    ids = {name: f"q{i}" for i, name in enumerate(names)}
    ops = {s.output: s for s in e.backward}
    nodes = []
    for name in names:
        if name in ops:
            s = ops[name]
            lines = [
                f"{name} = {s.op}({', '.join(s.arguments)})",
                f"shape {tuple(s.upstream_shape)}",
            ]
        else:
            q = e.quantities.get(name)
            value = f"value {_num(q.value)}" if q is not None else f"shape {shapes[name]}"
            lines = [name, value]
        nodes.append((ids[name], roles[name], lines))
    edges = [(ids[a], ids[b], label) for a, b, label in named_edges]
    steps, received = _sweep_steps(e, ids)
    for name in names:
        if name not in ops:
            steps.append(_leaf_step(e, name, ids[name], roles[name], shapes.get(name),
                                    received.get(name, [])))
    return nodes, edges, steps


def _sweep_quantities(e):
    """The quantities of a reverse sweep in forward order (so the drawing reads left to
    right): names, their roles, the shapes sent to them, and the edges (argument, output,
    the rule's right-hand side)."""
    outputs = {s.output for s in e.backward}
    names: list[str] = []
    roles: dict[str, str] = {}
    shapes: dict[str, tuple] = {}
    edges = []
    for s in reversed(e.backward):
        for arg, sent, rule in zip(s.arguments, s.sent, s.rules):
            if sent is None:
                continue
            if arg not in roles:
                names.append(arg)
                q = e.quantities.get(arg)
                roles[arg] = (
                    "parameter" if q is None else ("input" if q.role == "input" else q.role)
                )
                if arg in outputs:
                    roles[arg] = "intermediate"
            shapes[arg] = tuple(sent[1])
            edges.append((arg, s.output, rule.split(" = ", 1)[-1]))
        if s.output not in roles:
            names.append(s.output)
            roles[s.output] = "intermediate"
    if e.backward:
        roles[e.backward[0].output] = "output"
    return names, roles, shapes, edges


def _sweep_steps(e, ids):
    """One step per node of the sweep (upstream gradient in, each rule's result out), and
    what each quantity received: name -> [(shape, norm)]."""
    out = e.output
    steps = []
    received: dict[str, list[tuple]] = {}
    for k, s in enumerate(e.backward):
        d_out = f"∂{out}/∂{s.output}"
        upstream = f"{d_out}: shape {tuple(s.upstream_shape)}, norm {s.upstream_norm:.6g}"
        lines = [f"upstream {upstream}" if k else f"start: {d_out} = 1"]
        sent_to = []
        for rule, sent in zip(s.rules, s.sent):
            if sent is None:
                continue
            to, shape, norm = sent
            lines.append(f"{rule}  →  shape {tuple(shape)}, norm {norm:.6g}")
            received.setdefault(to, []).append((tuple(shape), norm))
            sent_to.append(f"∂{out}/∂{to}")
        steps.append(
            {
                "node": ids[s.output],
                "name": s.output,
                "title": f"step {k + 1}: {s.output} = {s.op}({', '.join(s.arguments)})",
                "lines": lines,
                "equation": f"{', '.join(sent_to) or 'nothing'} = local rule × upstream {d_out}",
                "grad": f"norm {s.upstream_norm:.6g}" if k else "1",
            }
        )
    return steps, received


def _leaf_step(e, name, node_id, role, shape, parts):
    """The closing step of a leaf: the contributions it received, summed."""
    q = e.quantities.get(name)
    if q is not None:
        grad = _num(q.gradient)
    elif len(parts) == 1:  # one contribution: it is the whole gradient
        grad = f"shape {parts[0][0]}, norm {parts[0][1]:.6g}"
    else:
        grad = f"sum of {len(parts)} contributions"
    return {
        "node": node_id,
        "name": name,
        "role": role,
        "value": f"shape {shape}" if q is None else None,
        "title": f"{name}: a leaf, its gradient is complete",
        "lines": [
            f"{len(parts)} contribution{'s' if len(parts) != 1 else ''} arrived "
            "and were summed"
        ],
        "equation": f"∂{e.output}/∂{name}: {grad}",
        "grad": grad,
    }


def walk(e):
    """``(nodes, edges, steps)`` of the page: what is drawn and what each step says.

    ``nodes`` are ``(id, role, lines)``, ``edges`` ``(source id, target id, label)``, and
    each step a dict with the node it highlights, the quantity's ``name``, a ``title``,
    explanatory ``lines``, the ``equation`` (``local × upstream = gradient``) and ``grad``.
    """
    nodes, edges, steps = _chain_walk(e) if _is_scalar(e) else _sweep_walk(e)
    # Each node gets a last line the page fills in when the walk reaches it; figure spaces
    # (which SVG does not collapse) reserve the width of the gradient it will show.
    grads = {s["node"]: s["grad"] for s in steps}
    nodes = [
        (nid, role, [*lines, "grad ?" + "\u2007" * max(0, len(grads.get(nid, "")) - 1)])
        for nid, role, lines in nodes
    ]
    return nodes, edges, steps


# ----- the page -------------------------------------------------------------------------------

_CSS = """
.crx{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#111827;
 max-width:1800px;margin:0 auto;padding:12px}
.crx h1{font-size:20px;margin:4px 0}.crx h2{font-size:16px;margin:18px 0 6px}
.crx code,.crx .mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.crx .src{background:#f3f4f6;padding:6px 10px;border-radius:6px;white-space:pre-wrap}
.crx .controls{display:flex;gap:8px;align-items:center;margin:10px 0;flex-wrap:wrap}
.crx .controls .sep{flex:1}
.crx button{font:inherit;padding:4px 14px;border:1px solid #9ca3af;border-radius:6px;
 background:#fff;cursor:pointer}.crx button:disabled{opacity:.4;cursor:default}
.crx .graph{overflow:auto;border:1px solid #e5e7eb;border-radius:8px;padding:6px;background:#fff;
 max-height:calc(100vh - 90px)}
.crx .graph svg{display:block}
.crx .panel{border-left:4px solid #dc2626;background:#fef2f2;padding:8px 12px;margin:10px 0;
 min-height:5em;overflow-wrap:anywhere}
.crx .panel .eq{font-size:17px;font-weight:600;margin-top:4px}
.crx table{border-collapse:collapse;margin:4px 0}.crx td,.crx th{border:1px solid #e5e7eb;
 padding:3px 9px;text-align:left}.crx th{background:#f9fafb}
.crx tr.active td{background:#fee2e2}.crx td.grad{font-family:ui-monospace,Menlo,monospace}
.crx .node.done polygon,.crx .node.done ellipse,.crx .node.done path,.crx .node.done rect{
 fill:#fef9c3}.crx .node.active polygon,.crx .node.active ellipse,.crx .node.active path,
.crx .node.active rect{stroke:#dc2626;
 stroke-width:3px;fill:#fecaca}
"""

#: The page's script: ``crxStepThrough(root, steps, prefix)`` wires one page (or one
#: embedded fragment) to its steps. Also served as is by ``chainrule serve``.
STEP_JS = """
function crxStepThrough(root,steps,prefix){
 var pos=0,timer=null,scale=1;
 function q(s){return root.querySelector(s);}
 var step=q('.crx-step'),back=q('.crx-back'),play=q('.crx-play'),panel=q('.panel');
 var box=q('.graph'),svg=box.querySelector('svg');
 var nw=svg?parseFloat(svg.getAttribute('width')):0,nh=svg?parseFloat(svg.getAttribute('height')):0;
 // Zoom changes the drawing's size (its viewBox keeps the picture); the box scrolls.
 function zoom(s){if(!svg||!nw)return;scale=Math.max(0.1,Math.min(4,s));
  svg.setAttribute('width',(nw*scale).toFixed(1));svg.setAttribute('height',(nh*scale).toFixed(1));
  var z=q('.crx-zoom-level');if(z)z.textContent=Math.round(scale*100)+'%';}
 function fitScale(){return nw?(box.clientWidth-14)/nw:1;}
 // Keep the active node in view: centre it in the graph's box, then scroll the page only
 // as far as needed for the whole node to show.
 function reveal(el){
  var b=box.getBoundingClientRect(),r=el.getBoundingClientRect();
  box.scrollLeft+=(r.left+r.width/2)-(b.left+b.width/2);
  box.scrollTop+=(r.top+r.height/2)-(b.top+b.height/2);
  r=el.getBoundingClientRect();
  var vh=window.innerHeight,vw=window.innerWidth,dy=0,dx=0;
  if(r.bottom>vh)dy=r.bottom-vh+8;if(r.top-dy<0)dy=r.top-8;
  if(r.right>vw)dx=r.right-vw+8;if(r.left-dx<0)dx=r.left-8;
  if(dx||dy)window.scrollBy(dx,dy);
 }
 function show(){
  var active=null;
  root.querySelectorAll('.node').forEach(function(n){n.classList.remove('active','done');
   n.removeAttribute('data-testid');
   var t=n.querySelectorAll('text');if(t.length){t[t.length-1].textContent='grad ?';}});
  root.querySelectorAll('tr[data-name]').forEach(function(r){r.classList.remove('active');
   r.querySelector('td.grad').textContent='\u2014';});
  for(var k=0;k<pos;k++){
   var s=steps[k],el=root.querySelector('[id="'+prefix+s.node+'"]');
   if(el){el.classList.add(k===pos-1?'active':'done');var t=el.querySelectorAll('text');
    if(t.length){t[t.length-1].textContent='grad '+s.grad;}
    if(k===pos-1){el.setAttribute('data-testid','active-node');active=el;}}
   var row=root.querySelector('tr[data-name="'+CSS.escape(s.name)+'"]');
   if(row){row.querySelector('td.grad').textContent=s.grad;if(k===pos-1)row.classList.add('active');}
  }
  panel.textContent='';
  var cur=pos?steps[pos-1]:null,h=document.createElement('div');
  h.className='title';h.textContent=cur?cur.title:'Press Step to walk the backward pass, '+
   'from the output back to the inputs ('+steps.length+' steps).';
  panel.appendChild(h);
  if(cur){
   panel.dataset.node=cur.name;
   cur.lines.forEach(function(t){var d=document.createElement('div');d.className='mono';
    d.textContent=t;panel.appendChild(d);});
   var eq=document.createElement('div');eq.className='eq mono';eq.textContent=cur.equation;
   panel.appendChild(eq);
  }else{delete panel.dataset.node;}
  q('.crx-count').textContent=pos+' / '+steps.length;
  step.disabled=pos>=steps.length;back.disabled=pos<=0;
  if(active)reveal(active);
 }
 function stop(){if(timer){clearInterval(timer);timer=null;play.textContent='Play';}}
 step.addEventListener('click',function(){stop();if(pos<steps.length){pos++;show();}});
 back.addEventListener('click',function(){stop();if(pos>0){pos--;show();}});
 play.addEventListener('click',function(){
  if(timer){stop();return;}
  if(pos>=steps.length){pos=0;}
  play.textContent='Pause';
  timer=setInterval(function(){if(pos<steps.length){pos++;show();}else{stop();}},900);
 });
 function rezoom(s){zoom(s);var a=root.querySelector('.node.active');if(a)reveal(a);}
 q('.crx-zoom-in').addEventListener('click',function(){rezoom(scale*1.25);});
 q('.crx-zoom-out').addEventListener('click',function(){rezoom(scale/1.25);});
 q('.crx-fit').addEventListener('click',function(){rezoom(fitScale());});
 root.addEventListener('keydown',function(ev){
  if(ev.key==='ArrowRight'){step.click();}else if(ev.key==='ArrowLeft'){back.click();}
  else if(ev.key==='+'||ev.key==='='){rezoom(scale*1.25);}else if(ev.key==='-'){rezoom(scale/1.25);}
 });
 // Start at the drawing's own size (smaller text is hard to read), enlarged up to 1.5x where
 // the screen is wider than the graph; a wider graph is panned to each step's node, and
 // "Fit width" shows all of it.
 zoom(Math.max(1,Math.min(1.5,fitScale())));
 show();
}
"""


def _table(headers, rows, attrs=None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        extra = attrs[i] if attrs else ""
        cells = "".join(
            c if isinstance(c, _Raw) else f"<td>{html.escape(str(c))}</td>" for c in row
        )
        body.append(f"<tr{extra}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """A table cell already written as HTML."""


def _math_cell(mathml: str | None, text: str | None):
    """A formula typeset by the browser (MathML, no network needed), with the textbook
    text as its accessible label; plain text where there is no MathML."""
    if not mathml:
        return text or ""
    label = html.escape(text or "", quote=True)
    return _Raw(
        f'<td><math xmlns="http://www.w3.org/1998/Math/MathML" aria-label="{label}">'
        f"{mathml}</math></td>"
    )


def _formula_cell(link):
    """A link's formula, typeset (see :func:`_math_cell`)."""
    return _math_cell(link.mathml, link.formula)


def _definition_cell(q):
    """A quantity's definition (``u = x²``), typeset as the user wrote it."""
    return _math_cell(q.mathml if q.definition else None, q.definition)


def _backward_rows(e) -> list:
    """A network's reverse sweep, one row per rule shown: the step, its operation, the rule,
    the shape and norm of what it sends, and whether the rule evaluated over the step's
    arrays agreed with the engine's gradient (``e.checks``)."""
    checked = {c.what: c.ok for c in e.checks}
    rows = []
    for st in e.backward:
        first = True  # the step and its operation on its first rule's row only
        for rule, sent in zip(st.rules, st.sent):
            if not rule or sent is None:
                continue
            ok = checked.get(rule)
            mark = "–" if ok is None else ("✓ agrees" if ok else "✗ DISAGREES")
            operation = f"{st.output} = {st.op}({', '.join(st.arguments)})"
            rows.append([str(st.index) if first else "", operation if first else "", rule,
                         f"shape {tuple(sent[1])}, norm {_num(sent[2])}", mark])
            first = False
    return rows


def _heading(e) -> str:
    if not e.scalar:  # a network: what was computed, as the text's first line
        return f"Computed {e.headline}"
    inputs = [q for q in e.quantities.values() if q.role == "input"]
    at = ", ".join(f"{q.name} = {_num(q.value)}" for q in inputs if np.size(q.value) == 1)
    ds = ", ".join(f"d{e.output}/d{w} = {_num(e.derivatives[w])}" for w in e.wrt)
    return f"{ds}" + (f" at {at}" if at else "")


def explanation_html(e, *, title: str | None = None, fragment: bool = False,
                     extra: str = "") -> str:
    """The step-through page of ``e`` (an :class:`Explanation`) as one HTML string.

    With ``fragment=True`` the result is a ``<div>`` for embedding (Jupyter's
    ``_repr_html_``) rather than a whole document. Deterministic: the same explanation
    gives the same page. ``extra``: HTML placed after the step-through (the gradient-descent
    steps of ``--lr``).
    """
    nodes, edges, steps = walk(e)
    digest = hashlib.sha1(json.dumps([nodes, edges, steps], ensure_ascii=False).encode())
    uid = "crx-" + digest.hexdigest()[:10]
    prefix = uid + "-"
    svg = graph_svg(nodes, edges, prefix)
    heading = _heading(e)
    parts = [f'<div class="crx" id="{uid}" tabindex="0">']
    parts.append(f"<h1>{html.escape(title or heading)}</h1>")
    if e.source:
        parts.append(f'<div class="src mono">{html.escape(e.source.strip())}</div>')
    parts.append(
        '<div class="controls"><button class="crx-back" type="button">Back</button>'
        '<button class="crx-step" type="button" data-testid="step-next">Step</button>'
        '<button class="crx-play" type="button">Play</button>'
        '<span class="crx-count mono"></span><span class="sep"></span>'
        '<button class="crx-zoom-out" type="button" title="Zoom out (-)">\u2212</button>'
        '<span class="crx-zoom-level mono"></span>'
        '<button class="crx-zoom-in" type="button" title="Zoom in (+)">+</button>'
        '<button class="crx-fit" type="button" title="Fit the graph to the width">Fit width'
        "</button></div>"
    )
    parts.append('<div class="panel" aria-live="polite"></div>')
    parts.append(f'<div class="graph">{svg}</div>')
    rows, attrs = [], []
    for q in e.quantities.values():
        if q.role == "constant":
            continue
        rows.append(
            [q.name, q.role, _definition_cell(q), _num(q.value),
             _Raw('<td class="grad">—</td>')]
        )
        attrs.append(f' data-name="{html.escape(q.name, quote=True)}"')
    known = {q.name for q in e.quantities.values()}
    at = next((i for i, r in enumerate(rows) if r[1] == "output"), len(rows))
    for st in steps:  # leaves the explanation does not list (a model's weights)
        if st.get("value") and st["name"] not in known:
            rows.insert(
                at, [st["name"], st["role"], "", st["value"], _Raw('<td class="grad">—</td>')]
            )
            attrs.insert(at, f' data-name="{html.escape(st["name"], quote=True)}"')
            at += 1
    parts.append("<h2>Quantities</h2>")
    parts.append(
        _table(["name", "role", "definition", "value", f"d{e.output}/d(name)"], rows, attrs)
    )
    if e.steps and _is_scalar(e):
        parts.append("<h2>Links of the chain</h2>")
        parts.append(
            _table(
                ["link", "formula", "value"],
                [[lk.label, _formula_cell(lk), _num(lk.value)] for lk in e.steps],
            )
        )
    if e.backward and not e.scalar:
        parts.append("<h2>Backward pass, step by step</h2>")
        parts.append(_table(["step", "operation", "rule", "sends", "checked"],
                            _backward_rows(e)))
    if e.paths:
        parts.append("<h2>Paths</h2>")
        parts.append(
            _table(
                ["input", "path", "product"],
                [[p.wrt, " · ".join(lk.label for lk in p.links), _num(p.value)] for p in e.paths],
            )
        )
    data = json.dumps(steps, ensure_ascii=False).replace("</", "<\\/")
    parts.append(f'<script type="application/json" class="crx-steps">{data}</script>')
    parts.append(
        f"<script>{STEP_JS}crxStepThrough(document.getElementById({json.dumps(uid)}),"
        "JSON.parse(document.getElementById("
        f"{json.dumps(uid)}).querySelector('script.crx-steps').textContent),"
        f"{json.dumps(prefix)});</script>"
    )
    parts.append("</div>")
    if extra:
        parts.append(extra)
    body = "\n".join(parts)
    style = f"<style>{_CSS}</style>"
    if fragment:
        return style + "\n" + body
    page_title = html.escape(title or f"chainrule: {heading}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{page_title}</title>{style}</head>\n<body>\n{body}\n</body></html>\n"
    )
