"""Feeding data to training: ``TensorDataset``, ``DataLoader``, ``DistributedSampler`` and
``train_test_split``."""

from chainrule.data.loader import DataLoader, Dataset, TensorDataset
from chainrule.data.sampler import DistributedSampler
from chainrule.data.split import train_test_split

__all__ = ["Dataset", "TensorDataset", "DataLoader", "DistributedSampler", "train_test_split"]
