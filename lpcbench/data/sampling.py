"""The seeded sample of test inputs that every model is attacked on."""

from __future__ import annotations

import hashlib

import torch


def sample_indices(total: int, n: int, seed: int = 0) -> tuple[torch.Tensor, str | None]:
    """Return (sorted indices, note): ``n`` indices of a split of ``total`` drawn with ``seed``.

    The same (total, n, seed) gives the same indices for every model. An ``n`` of at least
    ``total`` returns the whole split, with a note stating it.
    """
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if n >= total:
        note = f"--n {n} is not smaller than the test split ({total} inputs): using the whole split" if n > total else None
        return torch.arange(total), note
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=generator)[:n].sort().values, None


def indices_hash(indices: torch.Tensor) -> str:
    """Return the sha256 of the comma-separated indices, to recognise the same sample later."""
    text = ",".join(str(int(index)) for index in indices)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
