"""Loss terms of the zoo: cross-entropy, the L2 latent penalty, SupCon, ArcFace and CosFace.

Inputs are batches: ``logits``/``cosines: (N, K)``, ``z: (N, P)``, ``labels: (N,)``.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def l2_penalty(z: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Return the batch mean of ||z||^2, the compression term of LPC.

    With ``reduction="sum"`` the squared norm is summed over the P dimensions,
    as in the paper's Eq. 1. The authors' released code averaged over the
    dimensions as well (``reduction="mean"``), which divides gamma by P.
    """
    squared = z.pow(2)
    if reduction == "sum":
        return squared.sum(dim=1).mean()
    if reduction == "mean":
        return squared.mean()
    raise ValueError(f"unknown L2 reduction {reduction!r}: expected 'sum' or 'mean'")


def supcon_loss(h: torch.Tensor, labels: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Return the supervised contrastive loss (Khosla et al., 2020) on ``h: (N, D)``, without a projection head.

    For anchor i with positives P(i) (same label, other index):
    -1/|P(i)| * sum_p log(exp(s_ip / t) / sum_{j != i} exp(s_ij / t)), with s the
    cosine similarity. Anchors without a positive in the batch are left out of
    the mean; a batch with none returns 0 (with a gradient path kept).
    """
    n = h.shape[0]
    normalized = F.normalize(h, dim=1)
    scaled = normalized @ normalized.T / temperature
    not_self = ~torch.eye(n, dtype=torch.bool, device=h.device)
    log_denominator = torch.logsumexp(scaled.masked_fill(~not_self, float("-inf")), dim=1, keepdim=True)
    log_prob = scaled - log_denominator

    positives = (labels[:, None] == labels[None, :]) & not_self
    positive_counts = positives.sum(dim=1)
    has_positive = positive_counts > 0
    if not bool(has_positive.any()):
        return h.sum() * 0.0
    mean_log_prob = (log_prob * positives).sum(dim=1)[has_positive] / positive_counts[has_positive]
    return -mean_log_prob.mean()


def arcface_logits(cosines: torch.Tensor, labels: torch.Tensor, margin: float, scale: float) -> torch.Tensor:
    """Return s * cos(theta + m) for the target class and s * cos(theta) for the others.

    Where theta + m would pass pi, cos(theta + m) stops decreasing in theta; there
    the target logit uses cos(theta) - m * sin(m), a linear continuation that
    keeps the loss monotonic (the usual ArcFace practice).
    """
    cosines = cosines.clamp(-1.0 + 1e-7, 1.0 - 1e-7)
    target = cosines.gather(1, labels[:, None])
    sine = torch.sqrt(1.0 - target.pow(2))
    with_margin = target * math.cos(margin) - sine * math.sin(margin)
    with_margin = torch.where(target > math.cos(math.pi - margin), with_margin, target - margin * math.sin(margin))
    return scale * cosines.scatter(1, labels[:, None], with_margin)


def cosface_logits(cosines: torch.Tensor, labels: torch.Tensor, margin: float, scale: float) -> torch.Tensor:
    """Return s * (cos(theta) - m) for the target class and s * cos(theta) for the others."""
    target_margin = torch.zeros_like(cosines).scatter(1, labels[:, None], margin)
    return scale * (cosines - target_margin)
