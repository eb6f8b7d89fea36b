"""Real datasets, from the copies that scikit-learn ships inside its package.

Nothing is downloaded: these five datasets are files inside scikit-learn's wheel. scikit-learn
is an optional dependency (``pip install -e ".[datasets]"`` in a clone of chainrule); without
it each loader raises an ``ImportError`` that says so.

Every loader returns ``(X, y)``: ``X`` a float64 array of shape ``(n_samples, n_features)``,
``y`` int64 class labels ``0..k-1`` (classification) or float64 targets (regression).

=================  =======  ========  =======  ========================================
loader             samples  features  classes  what
=================  =======  ========  =======  ========================================
load_digits        1797     64        10       8x8 images of handwritten digits, 0..16
load_iris          150      4         3        iris flower measurements
load_breast_cancer 569      30        2        tumour features (0 malignant, 1 benign)
load_wine          178      13        3        chemical analysis of wines
load_diabetes      442      10        --       disease progression after one year
=================  =======  ========  =======  ========================================
"""

from __future__ import annotations

import importlib

import numpy as np

__all__ = ["load_digits", "load_iris", "load_breast_cancer", "load_wine", "load_diabetes"]


def _sklearn_datasets():
    try:
        return importlib.import_module("sklearn.datasets")
    except ImportError as e:
        raise ImportError(
            "chainrule.datasets' real datasets come from scikit-learn's bundled copies, and "
            'scikit-learn is not installed: pip install -e ".[datasets]" in chainrule\'s clone'
        ) from e


def _load(name: str, regression: bool = False) -> tuple[np.ndarray, np.ndarray]:
    bunch = getattr(_sklearn_datasets(), name)()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.float64 if regression else np.int64)
    return X, y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits: ``X`` (1797, 64) pixel intensities 0..16, ``y`` labels 0..9.

    Reshape a row to ``(8, 8)`` (or ``X.reshape(-1, 1, 8, 8)`` for ``nn.Conv2d``) to get the image.

    Example::

        >>> X, y = load_digits()          # doctest: +SKIP
        >>> X.shape, y.max()              # doctest: +SKIP
        ((1797, 64), 9)
    """
    return _load("load_digits")


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Iris: ``X`` (150, 4) sepal and petal length and width in cm, ``y`` species 0..2."""
    return _load("load_iris")


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin breast cancer: ``X`` (569, 30), ``y`` 0 = malignant, 1 = benign."""
    return _load("load_breast_cancer")


def load_wine() -> tuple[np.ndarray, np.ndarray]:
    """Wine recognition: ``X`` (178, 13) chemical measurements, ``y`` cultivar 0..2."""
    return _load("load_wine")


def load_diabetes() -> tuple[np.ndarray, np.ndarray]:
    """Diabetes regression: ``X`` (442, 10) mean-centred, scaled features, ``y`` float64
    disease progression one year after baseline (25..346)."""
    return _load("load_diabetes", regression=True)
