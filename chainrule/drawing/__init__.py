"""Drawing small graphs (nodes with roles, labelled edges) from plain data: their DOT text,
the look of each role, inline SVG laid out by Graphviz or, without it, by a plain layered
drawing. Nothing here knows chainrule's objects: the explainer's step-through page
(:mod:`chainrule.explain.page`) and the pictures of :mod:`chainrule.viz` both draw with it.
"""
