"""The zoo's model: normalisation, backbone, optional penultimate layer, classifier.

Every zoo model implements one protocol: ``forward(x) -> logits``,
``features(x) -> z`` (the representation the L2 penalty acts on, or h where
there is no penultimate layer) and ``backbone_features(x) -> h``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from lpcbench.zoo.backbones import build_backbone
from lpcbench.zoo.registry import Variant


class Normalize(nn.Module):
    """Subtract the per-channel mean and divide by the std, so that inputs stay in [0, 1] pixel space."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CosineClassifier(nn.Module):
    """Cosine similarity between z and each class weight: (N, P) -> (N, K) in [-1, 1]."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(z, dim=1), F.normalize(self.weight, dim=1))


class TrainingOutputs(NamedTuple):
    """Everything one training step needs from a single forward pass."""

    h: torch.Tensor  # (N, backbone width)
    z: torch.Tensor  # (N, P); equal to h where there is no penultimate layer
    scores: torch.Tensor  # (N, K): logits, or cosines for the margin heads


class ZooModel(nn.Module):
    """One variant of Table III on one backbone.

    Input ``x: (N, C, H, W)`` with values in [0, 1]. ArcFace and CosFace models
    return ``eval_scale * cos(theta)`` as logits, without the margin, so that an
    attack works on the decision function the model was trained to have.
    """

    def __init__(
        self,
        variant: Variant,
        *,
        backbone: str,
        input_shape: tuple[int, int, int],
        num_classes: int,
        penultimate_width: int | None,
        mean: Sequence[float],
        std: Sequence[float],
        backbone_width: int = 32,
        backbone_norm: str = "batch",
        eval_scale: float = 64.0,
    ) -> None:
        super().__init__()
        self.variant = variant
        self.normalize = Normalize(mean, std)
        self.backbone = build_backbone(backbone, input_shape, width=backbone_width, norm=backbone_norm)
        h_width = self.backbone.out_features

        if variant.penultimate == "none":
            self.penultimate: nn.Module = nn.Identity()
            z_width = h_width
        else:
            if not penultimate_width or penultimate_width < 1:
                raise ValueError(
                    f"variant {variant.model_id!r} needs a positive penultimate width, got {penultimate_width!r}"
                )
            layers: list[nn.Module] = [nn.Linear(h_width, penultimate_width)]
            if variant.penultimate == "nonlinear":
                layers.append(nn.SiLU())
            self.penultimate = nn.Sequential(*layers)
            z_width = penultimate_width

        if variant.margin == "none":
            # The last classifier has no bias (Sbailo and Ghiringhelli, 2025, Appendix C).
            self.classifier: nn.Module = nn.Linear(z_width, num_classes, bias=False)
        else:
            self.classifier = CosineClassifier(z_width, num_classes)
        self.eval_scale = float(eval_scale)
        self.num_classes = num_classes
        self.latent_width = z_width

    def backbone_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return h: (N, backbone width)."""
        return self.backbone(self.normalize(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return z: (N, P), the penultimate representation (h for variants without one)."""
        return self.penultimate(self.backbone_features(x))

    def feature_extractor(self) -> nn.Module:
        """Return x -> z as one module (sharing this model's layers), e.g. to bound its Lipschitz constant."""
        return nn.Sequential(self.normalize, self.backbone, self.penultimate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits: (N, K)."""
        return self.logits_from_features(self.features(x))

    def logits_from_features(self, z: torch.Tensor) -> torch.Tensor:
        scores = self.classifier(z)
        if self.variant.margin != "none":
            return self.eval_scale * scores
        return scores

    def forward_train(self, x: torch.Tensor) -> TrainingOutputs:
        h = self.backbone_features(x)
        z = self.penultimate(h)
        return TrainingOutputs(h=h, z=z, scores=self.classifier(z))

    @property
    def classifier_weight(self) -> torch.Tensor | None:
        """The (K, P) matrix W of logits = W z, or None where logits are not linear in z (margin heads)."""
        if self.variant.margin != "none":
            return None
        return self.classifier.weight
