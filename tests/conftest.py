"""Shared fixtures: a tiny, seeded subset of the digits data so that training tests take seconds."""

from __future__ import annotations

import pytest
import torch

from lpcbench.data import DatasetSplits, Split, load_dataset


@pytest.fixture(scope="session")
def digits() -> DatasetSplits:
    return load_dataset("digits")


@pytest.fixture(scope="session")
def tiny_digits(digits: DatasetSplits) -> DatasetSplits:
    """120 training, 60 validation and 60 test images of the real digits data."""
    return DatasetSplits(
        name="digits",
        train=Split(digits.train.x[:120], digits.train.y[:120]),
        val=Split(digits.val.x[:60], digits.val.y[:60]),
        test=Split(digits.test.x[:60], digits.test.y[:60]),
        num_classes=10,
        mean=digits.mean,
        std=digits.std,
        source=digits.source,
        split_rule=digits.split_rule + "; first 120/60/60 only",
    )


# Overrides that make a digits run small enough for unit tests.
TINY = {"backbone_width": 8, "batch_size": 32}


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
