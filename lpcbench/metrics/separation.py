"""Class separation ratio R of the LPC paper (Sbailo and Ghiringhelli, 2025, Eq. 8) and its parts.

For sample i of class p: R_i = min_{q != p} ||z_i - mu_q|| / ||z_i - mu_p||,
with mu the class centroids; R is the mean over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SeparationRatio:
    """R and the counts that explain it."""

    value: float | None  # mean R over samples off their own centroid; None if there are none
    median: float | None
    n: int  # samples averaged
    n_on_centroid: int  # samples exactly on their own centroid (R undefined), left out and counted here
    spread_over_radius: float  # mean ||z_i - mu_p|| over the mean centroid norm ||mu_p||
    centroids_from: str  # "same points" or "given" (e.g. training-split centroids applied to test points)


def check_latents(z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate latents and labels; return them as float64 and int64 CPU tensors.

    Raises ``ValueError`` for wrong shapes, NaN or infinite latents, and non-integer or negative labels.
    """
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or not isinstance(labels, torch.Tensor) or labels.ndim != 1 or z.shape[0] != labels.shape[0]:
        shapes = (tuple(getattr(z, "shape", ())), tuple(getattr(labels, "shape", ())))
        raise ValueError(f"expected z (N, P) and labels (N,), got {shapes[0]} and {shapes[1]}")
    if z.shape[0] == 0:
        raise ValueError("expected at least one latent, got N = 0")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"expected integer labels, got dtype {labels.dtype}")
    z = z.detach().to(torch.float64).cpu()
    if not bool(torch.isfinite(z).all()):
        rows = int((~torch.isfinite(z)).any(dim=1).sum())
        raise ValueError(f"latents contain NaN or infinity in {rows} of {z.shape[0]} rows")
    labels = labels.detach().cpu().long()
    if int(labels.min()) < 0:
        raise ValueError(f"labels must be >= 0, got {int(labels.min())}")
    return z, labels


def class_centroids(z: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Return the (K, P) float64 matrix of class means. A class with no sample raises ``ValueError``."""
    z = z.detach().to(torch.float64)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    counts = torch.bincount(labels, minlength=num_classes)
    if bool((counts == 0).any()):
        empty = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"classes {empty} have no samples: every class needs at least one to have a centroid")
    sums = torch.zeros(num_classes, z.shape[1], dtype=torch.float64).index_add_(0, labels, z)
    return sums / counts[:, None]


def separation_ratio(z: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor | None = None) -> SeparationRatio:
    """Compute R (Eq. 8) in float64 for ``z: (N, P)`` and ``labels: (N,)``.

    ``centroids: (K, P)`` defaults to the class means of ``z``; pass the
    training split's centroids to measure test points in the learned geometry.
    A sample that sits exactly on its own centroid has an undefined ratio: it
    is counted in ``n_on_centroid``, never turned into 0 or infinity.
    """
    z, labels = check_latents(z, labels)
    centroids_from = "given"
    if centroids is None:
        centroids = class_centroids(z, labels)
        centroids_from = "same points"
    centroids = centroids.detach().to(torch.float64).cpu()
    if centroids.shape[0] < 2:
        raise ValueError(f"R needs at least two classes, got {centroids.shape[0]} centroids")

    distances = torch.cdist(z, centroids)  # (N, K)
    own = distances.gather(1, labels[:, None]).squeeze(1)
    others = distances.scatter(1, labels[:, None], float("inf")).min(dim=1).values
    on_centroid = own == 0
    ratios = others[~on_centroid] / own[~on_centroid]

    radius = centroids.norm(dim=1).mean()
    spread = float(own.mean() / radius) if radius > 0 else float("inf")
    return SeparationRatio(
        value=float(ratios.mean()) if len(ratios) else None,
        median=float(ratios.median()) if len(ratios) else None,
        n=int(len(ratios)),
        n_on_centroid=int(on_centroid.sum()),
        spread_over_radius=spread,
        centroids_from=centroids_from,
    )
