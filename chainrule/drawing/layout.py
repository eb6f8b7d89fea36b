"""Inline SVG of a small graph: Graphviz when installed, else a plain layered drawing.

The step-through page must show its graph even where Graphviz is not installed, so this
module has a fallback: nodes placed in columns by their distance from the inputs (left to
right, as ``rankdir=LR``), edges drawn as curves with their labels. Both drawings give
each node a ``<g class="node" id=PREFIX+id>`` that the page's script highlights.
"""

from __future__ import annotations

import html
import re

from chainrule.drawing.dot import GraphvizNotFoundError, run_dot
from chainrule.drawing.style import GRAPH_HEADER, ROLES, node_attrs, quote

__all__ = ["graph_svg", "to_dot", "fallback_svg"]


def to_dot(nodes, edges, prefix: str = "", *, graph_id: bool = True) -> str:
    """DOT text of ``nodes`` ``(id, role, lines)`` and ``edges`` ``(src, dst, label)``;
    ``graph_id``: the SVG's id the step-through page finds the graph by."""
    out = ["digraph chainrule {", GRAPH_HEADER.rstrip("\n")]
    if graph_id:
        out.append(f"  id={quote(prefix + 'graph')};")
    out.append("  node [fontsize=14]; edge [fontsize=12];")  # read on a page, not printed
    for nid, role, lines in nodes:
        out.append(f"  {nid} [{node_attrs(role, chr(10).join(lines), {'id': prefix + nid})}];")
    for i, (src, dst, label) in enumerate(edges):
        attrs = f"id={quote(f'{prefix}e{i}')}" + (f", label={quote(label)}" if label else "")
        out.append(f"  {src} -> {dst} [{attrs}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _strip_prolog(svg: str) -> str:
    # Inline SVG needs no XML declaration or DOCTYPE (whose URL a reader might fetch).
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    # Graphviz sizes in points (4/3 px each); in pixels the page fits a typical chain.
    svg = re.sub(r'(<svg[^>]*?\b(?:width|height)=")([\d.]+)pt"', r'\1\2"', svg, count=1)
    svg = re.sub(r'(<svg[^>]*?\b(?:width|height)=")([\d.]+)pt"', r'\1\2"', svg, count=1)
    return svg.strip()


def graph_svg(nodes, edges, prefix: str = "", *, use_dot: bool | None = None) -> str:
    """Inline SVG of the graph: laid out by Graphviz when available, else by
    :func:`fallback_svg`. ``use_dot=False`` forces the fallback, ``True`` requires dot."""
    if use_dot is not False:
        try:
            return _strip_prolog(run_dot(to_dot(nodes, edges, prefix), "svg").decode("utf-8"))
        except GraphvizNotFoundError:
            if use_dot:
                raise
    return fallback_svg(nodes, edges, prefix)


_CHAR_W = 7.0  # average glyph width at 12px, for sizing boxes without a font engine
_LINE_H = 16.0


def fallback_svg(nodes, edges, prefix: str = "") -> str:
    """A layered left-to-right drawing of the graph, without Graphviz."""
    ids = [n[0] for n in nodes]
    size = {}
    for nid, _, lines in nodes:
        w = max(len(s) for s in lines) * _CHAR_W + 24
        size[nid] = (w, len(lines) * _LINE_H + 14)
    pos, total_w, total_h = _place(ids, edges, size)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="Helvetica,Arial,sans-serif" '
        f'font-size="12"><defs><marker id="{prefix}arrow" viewBox="0 0 10 10" refX="10" '
        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>'
    ]
    for i, (src, dst, label) in enumerate(edges):
        out.append(_edge_svg(f"{prefix}e{i}", prefix, pos[src], size[src], pos[dst], size[dst],
                             label))
    for nid, role, lines in nodes:
        out.append(_node_svg(f"{prefix}{nid}", role, lines, pos[nid], size[nid]))
    out.append("</svg>")
    return "".join(out)


def _ranks(ids, edges) -> dict:
    """Each node's column: the longest path to it from a source (a fixed point in at most
    n rounds; ranks stop growing at n - 1, so a cycle cannot loop forever)."""
    rank = {nid: 0 for nid in ids}
    for _ in range(len(ids)):
        changed = False
        for src, dst, _ in edges:
            if rank[dst] < rank[src] + 1 and rank[src] + 1 < len(ids):
                rank[dst] = rank[src] + 1
                changed = True
        if not changed:
            break
    return rank


def _place(ids, edges, size) -> tuple:
    """The top-left corner of every box, columns by rank, and the drawing's width and
    height. Columns are far enough apart for the edge labels (10px text, about 6px a
    character)."""
    rank = _ranks(ids, edges)
    columns: dict[int, list[str]] = {}
    for nid in ids:
        columns.setdefault(rank[nid], []).append(nid)
    longest = max((len(line) for *_, lab in edges for line in lab.split("\n")), default=0)
    gap_x, gap_y, margin = min(max(90.0, 6.0 * longest + 24), 340.0), 26.0, 16.0
    pos: dict[str, tuple[float, float]] = {}
    x = margin
    height = 0.0
    for r in sorted(columns):
        col = columns[r]
        width = max(size[n][0] for n in col)
        y = margin
        for nid in col:
            w, h = size[nid]
            pos[nid] = (x + (width - w) / 2, y)
            y += h + gap_y
        height = max(height, y)
        x += width + gap_x
    return pos, x - gap_x + margin, height - gap_y + margin + 20


def _edge_svg(eid: str, prefix: str, src_pos, src_size, dst_pos, dst_size, label) -> str:
    """An edge: a curve from the right side of its source to the left of its target, its
    label's lines stacked above the curve, not across it."""
    (sx, sy), (sw, sh) = src_pos, src_size
    (tx, ty), (_, th) = dst_pos, dst_size
    x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
    mx = (x1 + x2) / 2
    out = [
        f'<g class="edge" id="{eid}"><path d="M{x1:.1f},{y1:.1f} C{mx:.1f},{y1:.1f} '
        f'{mx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" fill="none" stroke="#6b7280" '
        f'marker-end="url(#{prefix}arrow)"/>'
    ]
    label_lines = label.split("\n") if label else []
    for k, line in enumerate(label_lines):
        ly = (y1 + y2) / 2 - 5 - 12 * (len(label_lines) - 1 - k)
        out.append(
            f'<text x="{mx:.1f}" y="{ly:.1f}" text-anchor="middle" '
            f'font-size="10" fill="#374151">{html.escape(line)}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _node_svg(nid: str, role: str, lines, corner, box) -> str:
    """A node: a box in its role's style with its lines centred."""
    style = ROLES[role]
    (x0, y0), (w, h) = corner, box
    rx = h / 2 if style["shape"] == "ellipse" else (8 if "rounded" in style["style"] else 0)
    out = [
        f'<g class="node" id="{nid}"><rect x="{x0:.1f}" y="{y0:.1f}" '
        f'width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}" fill="{style["fillcolor"]}" '
        f'stroke="{style["color"]}" stroke-width="{2 if role == "output" else 1}"/>'
    ]
    for k, line in enumerate(lines):
        out.append(
            f'<text x="{x0 + w / 2:.1f}" y="{y0 + 7 + _LINE_H * (k + 0.75):.1f}" '
            f'text-anchor="middle">{html.escape(line)}</text>'
        )
    out.append("</g>")
    return "".join(out)
