"""Small datasets for examples and tests.

* ``load_digits load_iris load_breast_cancer load_wine load_diabetes`` -- scikit-learn's
  bundled copies (no download), returned as ``(X, y)`` NumPy arrays; they need the optional
  extra ``pip install -e ".[datasets]"`` in a clone of chainrule.
* ``make_moons make_circles make_spirals`` -- 2-D toy problems generated with NumPy.
"""

from chainrule.datasets.real import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from chainrule.datasets.synthetic import make_circles, make_moons, make_spirals

__all__ = [
    "load_digits",
    "load_iris",
    "load_breast_cancer",
    "load_wine",
    "load_diabetes",
    "make_moons",
    "make_circles",
    "make_spirals",
]
