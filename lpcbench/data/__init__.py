"""Datasets with images in [0, 1]; normalisation happens inside each model."""

from lpcbench.data.datasets import (
    DATASETS,
    DatasetNotFoundError,
    DatasetSplits,
    Split,
    load_dataset,
)

__all__ = ["DATASETS", "DatasetNotFoundError", "DatasetSplits", "Split", "load_dataset"]
