"""Projected gradient descent on the cross-entropy (Madry et al., 2018), L2 or Linf, at a fixed eps.

A fixed-eps attack: it reports which inputs it flipped within the eps-ball, an upper bound on the
robust accuracy at that eps. Any adversarial iterate found counts, not only the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from lpcbench.attacks.checks import check_inputs, eval_mode

NORMS = ("l2", "linf")


@dataclass(frozen=True)
class FixedEpsResult:
    """Per-input results of a fixed-eps attack over N inputs; tensors live on the CPU."""

    x_adv: torch.Tensor  # (N, C, H, W): an adversarial point where success, else the last iterate
    success: torch.Tensor  # (N,) bool: correctly classified and flipped inside the eps-ball
    misclassified: torch.Tensor  # (N,) bool: wrong before any attack
    perturbation_norm: torch.Tensor  # (N,) float64, in the attack's norm
    norm: str
    eps: float
    settings: dict = field(default_factory=dict)  # the resolved settings, for the result file
    per_attack_success: dict = field(default_factory=dict)  # attack name -> (N,) bool, where an ensemble ran


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str,
    eps: float,
    steps: int = 50,
    step_size: Optional[float] = None,
    restarts: int = 1,
    bounds: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> FixedEpsResult:
    """Run PGD with a random start on ``x: (N, C, H, W)``; the default step size is 2.5 * eps / steps."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}: expected one of {', '.join(NORMS)}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if steps < 1 or restarts < 1:
        raise ValueError(f"steps and restarts must be >= 1, got {steps} and {restarts}")
    step_size = 2.5 * eps / steps if step_size is None else step_size
    generator = torch.Generator().manual_seed(seed)

    with eval_mode(model):
        x, y, _ = check_inputs(model, x, y, bounds)
        with torch.no_grad():
            misclassified = model(x).argmax(dim=1) != y
        success = torch.zeros_like(misclassified)
        best = x.clone()
        for _ in range(restarts):
            x_adv = _random_start(x, norm, eps, bounds, generator)
            for _ in range(steps):
                x_adv.requires_grad_(True)
                logits = model(x_adv)
                flipped = (logits.argmax(dim=1) != y) & ~misclassified & ~success
                best[flipped] = x_adv.detach()[flipped]
                success |= flipped
                (grad,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), x_adv)
                x_adv = _project(x_adv.detach() + step_size * _direction(grad, norm), x, norm, eps, bounds)
            with torch.no_grad():
                flipped = (model(x_adv).argmax(dim=1) != y) & ~misclassified & ~success
            best[flipped] = x_adv[flipped]
            success |= flipped
        best[~success] = x_adv[~success]

    delta = (best - x).flatten(1).double()
    norms = delta.norm(dim=1) if norm == "l2" else delta.abs().amax(dim=1)
    return FixedEpsResult(
        x_adv=best.detach().cpu(),
        success=success.cpu(),
        misclassified=misclassified.cpu(),
        perturbation_norm=norms.cpu(),
        norm=norm,
        eps=eps,
        settings={"steps": steps, "step_size": step_size, "restarts": restarts, "random_start": True, "seed": seed, "loss": "cross-entropy"},
    )


def _direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return grad.sign()
    flat_norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    return grad / flat_norm.view(-1, *([1] * (grad.ndim - 1)))


def _project(x_adv: torch.Tensor, x: torch.Tensor, norm: str, eps: float, bounds: tuple[float, float]) -> torch.Tensor:
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)
    else:
        flat_norm = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
        factor = (eps / flat_norm).clamp(max=1.0)
        delta = delta * factor.view(-1, *([1] * (delta.ndim - 1)))
    return (x + delta).clamp(*bounds)


def _random_start(x: torch.Tensor, norm: str, eps: float, bounds: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    if norm == "linf":
        noise = (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
    else:
        direction = torch.randn(x.shape, generator=generator)
        direction = direction / direction.flatten(1).norm(dim=1).view(-1, *([1] * (x.ndim - 1)))
        radius = torch.rand(x.shape[0], generator=generator) * eps
        noise = direction * radius.view(-1, *([1] * (x.ndim - 1)))
    return (x + noise.to(x.device, x.dtype)).clamp(*bounds)
