"""Pictures: computation graphs with the chain rule on their edges, a step-through page of
the backward pass, and plots of functions, derivatives and decision regions.

- :func:`graph` draws the graph of any tensor result (:class:`Graph`: DOT text, SVG, PNG).
- :func:`explanation_html` turns a :class:`~chainrule.explain.explanation.Explanation` into
  one self-contained HTML page that steps through the backward pass (the page is built by
  :mod:`chainrule.explain.page`, so that ``Explanation.to_html()`` needs nothing from here);
  :func:`explanation_graph` draws its graph as a :class:`Graph`.
- :mod:`chainrule.viz.plots` (matplotlib): :func:`plot_function`,
  :func:`plot_decision_regions`, :func:`activations` (activation functions and their
  derivatives), :func:`gradient_flow` (each layer's gradient norm).
"""

from chainrule.drawing.dot import GraphvizNotFoundError
from chainrule.viz.graph import MAX_NODES, graph
from chainrule.viz.render import Graph


def explanation_html(explanation, **kwargs) -> str:
    """The step-through HTML page of an explanation (see :mod:`chainrule.explain.page`);
    the same as ``explanation.to_html()``."""
    from chainrule.explain.page import explanation_html as build

    return build(explanation, **kwargs)


def explanation_graph(explanation) -> Graph:
    """The graph of an explanation with gradients and links (see
    :mod:`chainrule.viz.explanation_picture`)."""
    from chainrule.viz.explanation_picture import explanation_graph as build

    return build(explanation)


def plot_function(*args, **kwargs):
    """Plot a function and its derivatives (see :func:`chainrule.viz.plots.plot_function`)."""
    from chainrule.viz.plots import plot_function as plot

    return plot(*args, **kwargs)


def activations(names=None, path=None):
    """Activation functions beside their derivatives (see
    :func:`chainrule.viz.activation.activations`)."""
    from chainrule.viz.activation import activations as plot

    return plot(names, path)


def gradient_flow(model, path=None):
    """Each layer's weight-gradient norm (see
    :func:`chainrule.viz.gradient_norms.gradient_flow`)."""
    from chainrule.viz.gradient_norms import gradient_flow as plot

    return plot(model, path)


def plot_decision_regions(*args, **kwargs):
    """Decision regions of a 2-D classifier (:func:`chainrule.viz.plots.plot_decision_regions`)."""
    from chainrule.viz.plots import plot_decision_regions as plot

    return plot(*args, **kwargs)


__all__ = [
    "graph",
    "Graph",
    "GraphvizNotFoundError",
    "MAX_NODES",
    "explanation_html",
    "explanation_graph",
    "plot_function",
    "plot_decision_regions",
    "activations",
    "gradient_flow",
]
