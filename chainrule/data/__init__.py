"""Feeding data to training: ``TensorDataset``, ``DataLoader`` and ``train_test_split``."""

from chainrule.data.loader import DataLoader, Dataset, TensorDataset
from chainrule.data.split import train_test_split

__all__ = ["Dataset", "TensorDataset", "DataLoader", "train_test_split"]
