"""Within- and between-class covariance of latents (the LPC paper's Eq. 7; Papyan, Han and Donoho, 2020).

Sigma_W = 1/N sum_i (z_i - mu_{y_i})(z_i - mu_{y_i})^T, the pooled within-class covariance: Eq. 7
writes 1/(NP) with P the number of classes, which with N the per-class count is the same pooling.
Sigma_B = 1/K sum_k (mu_k - mu_G)(mu_k - mu_G)^T, with mu_G the mean of the class means.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lpcbench.metrics.separation import class_centroids, check_latents


@dataclass(frozen=True)
class WithinClassCovariance:
    """Sigma_W and Sigma_B summarised as numbers."""

    value: float  # trace(Sigma_W) / P: the mean within-class variance per latent dimension
    mean_entry: float  # the mean of all P x P entries of Sigma_W, the figure the authors' code reported
    between_trace: float  # trace(Sigma_B) / P
    width: int  # P
    classes: int  # K
    singleton_classes: list  # classes with one sample: they add zero within-class spread


def class_covariances(z: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (Sigma_W, Sigma_B, class means) in float64 for ``z: (N, P)``, ``labels: (N,)``."""
    z, labels = check_latents(z, labels)
    means = class_centroids(z, labels)
    centred = z - means[labels]
    sigma_w = centred.T @ centred / z.shape[0]
    between = means - means.mean(dim=0)
    sigma_b = between.T @ between / means.shape[0]
    return sigma_w, sigma_b, means


def within_class_covariance(z: torch.Tensor, labels: torch.Tensor) -> WithinClassCovariance:
    """Compute Sigma_W (Eq. 7) for ``z: (N, P)`` and integer ``labels: (N,)`` in float64."""
    sigma_w, sigma_b, means = class_covariances(z, labels)
    width = sigma_w.shape[0]
    counts = torch.bincount(labels.long().cpu(), minlength=means.shape[0])
    return WithinClassCovariance(
        value=float(torch.trace(sigma_w)) / width,
        mean_entry=float(sigma_w.mean()),
        between_trace=float(torch.trace(sigma_b)) / width,
        width=width,
        classes=means.shape[0],
        singleton_classes=torch.nonzero(counts == 1).flatten().tolist(),
    )
