"""Certified L2 radius of a classifier whose logits are linear in z: logits = W z + b.

For input x with label y, the latent margin m(x) = min_{j != y} (f_y - f_j) / ||W_y - W_j|| is the
exact L2 distance in z-space to the nearest decision boundary, and no input perturbation of L2 norm
below m(x) / L_z can change the prediction, with L_z an upper bound on the Lipschitz constant of
x -> z. The certified radius is a sound lower bound on the minimal perturbation: a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from lpcbench.certify.lipschitz import NotCertifiable, lipschitz_bound


@dataclass(frozen=True)
class Certificate:
    """Per-input certified radii (CPU tensors) and the model-level bound they rest on."""

    radius: torch.Tensor  # (N,) float64; 0 for misclassified inputs
    latent_margin: torch.Tensor  # (N,) float64; 0 for misclassified inputs
    misclassified: torch.Tensor  # (N,) bool
    lipschitz_bound: float  # L_z, an upper bound on the L2 Lipschitz constant of x -> z
    layers: list = field(default_factory=list)  # per-layer bounds and power-iteration estimates
    kind: str = "certificate"


def linear_head(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return (W, b) of logits = W z + b, or raise ``NotCertifiable`` saying why there is none."""
    weight = getattr(model, "classifier_weight", None)
    if weight is None:
        variant = getattr(getattr(model, "variant", None), "margin", None)
        reason = getattr(model, "certify_note", None) or (
            "its logits are s * cos(theta), not linear in z (ArcFace/CosFace head)" if variant not in (None, "none") else "it exposes no classifier_weight"
        )
        raise NotCertifiable(f"the model is not certifiable by the latent-margin rule: {reason}")
    bias = getattr(getattr(model, "classifier", None), "bias", None)
    return weight.detach().double().cpu(), None if bias is None else bias.detach().double().cpu()


def feature_extractor(model: nn.Module) -> nn.Module:
    """Return the module computing x -> z, for its Lipschitz bound."""
    if hasattr(model, "feature_extractor"):
        return model.feature_extractor()
    raise NotCertifiable("the model exposes no feature_extractor() to bound the Lipschitz constant of x -> z")


def latent_margin(z: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Return (N,) float64 margins min_{j != y} (f_y - f_j) / ||W_y - W_j||, clamped at 0 when misclassified."""
    z = z.double()
    logits = z @ weight.T + (0.0 if bias is None else bias)
    differences = logits.gather(1, y[:, None]) - logits  # (N, K): f_y - f_j
    row_gaps = (weight[y][:, None, :] - weight[None, :, :]).norm(dim=2)  # (N, K): ||W_y - W_j||
    distances = differences / row_gaps.clamp_min(1e-300)
    distances.scatter_(1, y[:, None], float("inf"))
    return distances.min(dim=1).values.clamp_min(0.0)


@torch.no_grad()
def certified_radius(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Certificate:
    """Certify ``model`` on ``x: (N, C, H, W)`` with labels ``y: (N,)``; the model must be in eval mode."""
    if model.training:
        raise NotCertifiable("the model is in train mode; call model.eval() first, since BatchNorm then uses batch statistics")
    weight, bias = linear_head(model)
    report = lipschitz_bound(feature_extractor(model), tuple(x.shape[1:]), name="features")
    device = next(model.parameters()).device
    z = model.features(x.to(device)).double().cpu()
    y = y.cpu().long()
    logits = z @ weight.T + (0.0 if bias is None else bias)
    misclassified = logits.argmax(dim=1) != y
    margin = latent_margin(z, y, weight, bias)
    margin[misclassified] = 0.0
    return Certificate(
        radius=margin / report.bound,
        latent_margin=margin,
        misclassified=misclassified,
        lipschitz_bound=report.bound,
        layers=report.layers,
    )


@torch.no_grad()
def collapse_radius_estimate(z_train: torch.Tensor, y_train: torch.Tensor, weight: torch.Tensor, lipschitz: float, bias=None) -> list[dict]:
    """Per class: the collapse point mu_y, its radius and latent margin, and a class-level radius.

    The class-level radius (margin of mu_y minus the largest observed distance of a training point
    to mu_y, over L_z) assumes that unseen inputs of the class stay as close to mu_y as the training
    points did. That rests on observation, so it is an estimate, not a certificate.
    """
    z_train, y_train = z_train.double().cpu(), y_train.cpu().long()
    classes = []
    for label in range(weight.shape[0]):
        members = z_train[y_train == label]
        if members.shape[0] == 0:
            classes.append({"class": label, "count": 0})
            continue
        centre = members.mean(dim=0)
        margin = float(latent_margin(centre[None], torch.tensor([label]), weight, bias)[0])
        spread = float((members - centre).norm(dim=1).max())
        classes.append({
            "class": label,
            "count": int(members.shape[0]),
            "collapse_radius": float(centre.norm()),
            "latent_margin": margin,
            "max_spread": spread,
            "class_radius_estimate": max(0.0, margin - spread) / lipschitz,
            "kind": "estimate",
        })
    return classes


def empirical_local_lipschitz(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, samples: int = 8, radius: float = 0.05, seed: int = 0) -> torch.Tensor:
    """Return (N,) estimates: the largest input-gradient norm of the margin f_y - max_{j != y} f_j
    at ``samples`` points drawn uniformly in directions at L2 distance ``radius`` around each input.

    A lower estimate of the local Lipschitz constant of the margin, never a certificate.
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    best = torch.zeros(x.shape[0], dtype=torch.float64)
    for _ in range(samples):
        noise = torch.randn(x.shape, generator=generator)
        noise = radius * noise / noise.flatten(1).norm(dim=1).view(-1, *([1] * (x.ndim - 1)))
        point = (x + noise).clamp(0.0, 1.0).to(device).requires_grad_(True)
        logits = model(point)
        own = logits.gather(1, y.to(device)[:, None]).squeeze(1)
        others = logits.scatter(1, y.to(device)[:, None], float("-inf")).max(dim=1).values
        (grad,) = torch.autograd.grad((own - others).sum(), point)
        best = torch.maximum(best, grad.flatten(1).norm(dim=1).double().cpu())
    return best
