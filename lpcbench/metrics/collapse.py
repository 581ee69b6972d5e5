"""Neural-collapse measures NC1-NC4 of Papyan, Han and Donoho (2020), "Prevalence of neural collapse
during the terminal phase of deep learning training", PNAS 117(40).

NC1: Tr(Sigma_W Sigma_B^+) / K, within-class variability relative to the class means.
NC2: equinorm (CV of the centred class-mean norms), equiangularity (std of their pairwise cosines)
and max-angle (mean |cos + 1/(K-1)|, 0 for a simplex equiangular tight frame).
NC3: ||W / ||W||_F - M / ||M||_F||_F^2, the self-duality of the classifier rows and centred means.
NC4: agreement of the nearest-class-centre rule with the network's prediction argmax(W z).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lpcbench.metrics.covariance import class_covariances
from lpcbench.metrics.separation import check_latents, class_centroids

EIGENVALUE_TOLERANCE = 1e-12  # relative to the largest eigenvalue of Sigma_B, for its pseudo-inverse


@dataclass(frozen=True)
class NeuralCollapse:
    """NC1 to NC4; NC3 and NC4 are None where no linear classifier weight is given."""

    value: float  # NC1, never negative
    nc1_per_width: float  # NC1 / P
    equinorm: float | None
    equiangularity: float | None
    max_angle: float | None
    nc3: float | None
    nc4_agreement: float | None
    sigma_b_rank: int  # rank of Sigma_B used by the pseudo-inverse (at most K - 1)


def neural_collapse(z: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None) -> NeuralCollapse:
    """Compute NC1-NC4 for ``z: (N, P)``, ``labels: (N,)`` and the classifier ``weight: (K, P)`` of logits = W z."""
    z, labels = check_latents(z, labels)
    sigma_w, sigma_b, means = class_covariances(z, labels)
    num_classes, width = means.shape
    if num_classes < 2:
        raise ValueError(f"neural collapse needs at least two classes, got {num_classes}")

    # NC1 as ||C B||_F^2 / (N K) with C the centred latents and B = Sigma_B^{+1/2}: a sum of squares, so >= 0.
    eigenvalues, eigenvectors = torch.linalg.eigh(sigma_b)
    keep = eigenvalues > EIGENVALUE_TOLERANCE * float(eigenvalues.max().clamp_min(1e-300))
    inverse_root = eigenvectors[:, keep] / eigenvalues[keep].sqrt()
    centred = z - means[labels]
    nc1 = float((centred @ inverse_root).pow(2).sum()) / (z.shape[0] * num_classes)

    centred_means = means - means.mean(dim=0)
    mean_norms = centred_means.norm(dim=1)
    equinorm = float(mean_norms.std(correction=0) / mean_norms.mean()) if float(mean_norms.mean()) > 0 else None
    equiangularity = max_angle = None
    if bool((mean_norms > 0).all()):
        unit = centred_means / mean_norms[:, None]
        cosines = (unit @ unit.T)[torch.triu_indices(num_classes, num_classes, offset=1).unbind()]
        equiangularity = float(cosines.std(correction=0))
        max_angle = float((cosines + 1.0 / (num_classes - 1)).abs().mean())

    nc3 = nc4 = None
    if weight is not None:
        weight = weight.detach().to(torch.float64).cpu()
        if weight.shape != (num_classes, width):
            raise ValueError(f"expected a classifier weight of shape ({num_classes}, {width}), got {tuple(weight.shape)}")
        nc3 = float((weight / weight.norm() - centred_means / centred_means.norm()).pow(2).sum())
        network = (z @ weight.T).argmax(dim=1)
        nearest_centre = torch.cdist(z, class_centroids(z, labels)).argmin(dim=1)
        nc4 = float((network == nearest_centre).double().mean())

    return NeuralCollapse(
        value=nc1,
        nc1_per_width=nc1 / width,
        equinorm=equinorm,
        equiangularity=equiangularity,
        max_angle=max_angle,
        nc3=nc3,
        nc4_agreement=nc4,
        sigma_b_rank=int(keep.sum()),
    )
