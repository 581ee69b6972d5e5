"""Measure one model: its latents through the metrics, for the metrics command and, later, bench."""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn

from lpcbench.data import DatasetSplits, Split
from lpcbench.metrics import (
    binarity,
    class_centroids,
    kl_entropy,
    neural_collapse,
    norm_variation,
    separation_ratio,
    within_class_covariance,
)

FEATURE_BATCH = 1024


@torch.no_grad()
def latents(model: nn.Module, split: Split, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Return (z, predictions) of ``model`` on a split, in eval mode: z (N, P) float64 and (N,) labels."""
    was_training = model.training
    model.eval()
    z_parts, predictions = [], []
    for start in range(0, len(split), FEATURE_BATCH):
        x = split.x[start : start + FEATURE_BATCH].to(device)
        z = model.features(x)
        z_parts.append(z.double().cpu())
        predictions.append(model.logits_from_features(z).argmax(dim=1).cpu())
    model.train(was_training)
    return torch.cat(z_parts), torch.cat(predictions)


def latent_metrics(model: nn.Module, data: DatasetSplits, *, splits=("train", "test"), labels: str = "true", device="cpu") -> dict:
    """Compute every latent metric on the requested splits.

    On the test split, R uses the training split's class centroids (the geometry the model learned);
    the other metrics use the split's own points. ``labels`` is ``true`` or ``predicted``.
    """
    if labels not in ("true", "predicted"):
        raise ValueError(f"labels must be 'true' or 'predicted', got {labels!r}")
    weight = getattr(model, "classifier_weight", None)
    results = {"labels": labels}
    train_centroids = None
    for name in ("train", "test"):
        split = getattr(data, name)
        z, predicted = latents(model, split, device)
        used = split.y if labels == "true" else predicted
        if name == "train":
            train_centroids = class_centroids(z, used, data.num_classes)
        if name not in splits:
            continue
        centroids = train_centroids if name == "test" else None
        k = min(20, z.shape[0] - 1)
        results[name] = {
            "n": int(z.shape[0]),
            "width": int(z.shape[1]),
            "accuracy": float((predicted == split.y).double().mean()),
            "separation_ratio": asdict(separation_ratio(z, used, centroids)),
            "within_class_covariance": asdict(within_class_covariance(z, used)),
            "norm_variation": asdict(norm_variation(z, used)),
            "kl_entropy": asdict(kl_entropy(z, k=k)),
            "neural_collapse": asdict(neural_collapse(z, used, None if weight is None else weight.detach())),
            "binarity": asdict(binarity(z)),
        }
        if weight is None:
            results[name]["neural_collapse"]["note"] = "NC3 and NC4 need logits linear in z; this model's head is not"
    return results
