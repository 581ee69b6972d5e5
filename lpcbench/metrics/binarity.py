"""Binarity of latent nodes (the LPC paper's Appendix D): a two-component Gaussian mixture per node.

Each node's values are standardised (zero mean, unit std) before the fit, as the authors' code did,
so that scores compare across models: Eq. D1's log-likelihood depends on the scale of the values.
Fits use scikit-learn's GaussianMixture in float64 with random_state 0 and a variance floor of 1e-6
(in standardised units) added to each component's variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

VARIANCE_FLOOR = 1e-6


@dataclass(frozen=True)
class Binarity:
    """Eqs. D1-D3 averaged over the non-constant nodes, with minima and the constant nodes listed."""

    value: float | None  # D1: mean log-likelihood per value; None if every node is constant
    mean_std: float | None  # D2: mean over nodes of (sigma_1 + sigma_2) / 2
    peak_distance: float | None  # D3: mean over nodes of |mu_2 - mu_1| / ((sigma_1 + sigma_2) / 2)
    min_log_likelihood: float | None
    min_peak_distance: float | None
    constant_nodes: list  # nodes with zero variance: not bimodal, left out of the means
    nodes: int


def binarity(z: torch.Tensor, seed: int = 0) -> Binarity:
    """Fit a two-component mixture to each column of ``z: (N, P)``; N must be at least 2."""
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"expected z (N, P) with N >= 2, got {tuple(z.shape)}")
    values = z.detach().to(torch.float64).cpu().numpy()
    if not np.isfinite(values).all():
        raise ValueError("latents contain NaN or infinity")

    scores, stds, distances, constant = [], [], [], []
    for node in range(values.shape[1]):
        column = values[:, node]
        spread = column.std()
        if spread == 0.0 or not np.isfinite(spread):
            constant.append(node)
            continue
        standardised = ((column - column.mean()) / spread).reshape(-1, 1)
        mixture = GaussianMixture(n_components=2, covariance_type="full", reg_covar=VARIANCE_FLOOR, random_state=seed).fit(standardised)
        sigma = np.sqrt(mixture.covariances_.reshape(2))
        mu = mixture.means_.reshape(2)
        scores.append(float(mixture.score(standardised)))
        stds.append(float(sigma.mean()))
        distances.append(float(abs(mu[1] - mu[0]) / sigma.mean()))

    def mean(items):
        return float(np.mean(items)) if items else None

    return Binarity(
        value=mean(scores),
        mean_std=mean(stds),
        peak_distance=mean(distances),
        min_log_likelihood=float(min(scores)) if scores else None,
        min_peak_distance=float(min(distances)) if distances else None,
        constant_nodes=constant,
        nodes=values.shape[1],
    )
