"""Coefficients of variation of latent norms: do all collapse points sit at one radius?"""

from __future__ import annotations

from dataclasses import dataclass

from lpcbench.metrics.separation import check_latents, class_centroids


@dataclass(frozen=True)
class NormVariation:
    """Spread of ||z|| over samples and of the class-centroid radii ||mu_k||."""

    value: float | None  # std / mean of ||z_i|| over samples (the paper's Table I column); None if every z is 0
    centroid_cv: float | None  # std / mean of ||mu_k|| over classes
    mean_norm: float
    mean_centroid_radius: float


def norm_variation(z, labels) -> NormVariation:
    """Compute the coefficients of variation (population std over mean) in float64."""
    z, labels = check_latents(z, labels)
    norms = z.norm(dim=1)
    radii = class_centroids(z, labels).norm(dim=1)
    return NormVariation(
        value=_cv(norms),
        centroid_cv=_cv(radii),
        mean_norm=float(norms.mean()),
        mean_centroid_radius=float(radii.mean()),
    )


def _cv(values) -> float | None:
    mean = float(values.mean())
    if mean == 0.0:
        return None
    return float(values.std(correction=0)) / mean
