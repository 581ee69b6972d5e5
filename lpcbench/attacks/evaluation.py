"""Evaluation checks that flag a questionable measurement, and the summary statistics of a run.

Each check returns a flag (a short code and a message) rather than passing silently; the flags go
into every result file. docs/protocol.md explains each one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class Flag:
    """One finding of an evaluation check."""

    code: str  # e.g. "train_mode", "probabilities", "zero_gradients"
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def model_checks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, was_training: bool) -> list[Flag]:
    """Run the checks that need only the model and a few inputs ``x: (n, C, H, W)``, ``y: (n,)``.

    The model must already be in eval mode. ``was_training`` tells whether the caller found it in
    train mode.
    """
    flags = []
    if was_training:
        flags.append(Flag("train_mode", "the model was in train mode; it was switched to eval for the attack and restored afterwards"))

    with torch.no_grad():
        first = model(x)
        second = model(x)
    if not torch.equal(first, second):
        difference = float((first - second).abs().max())
        flags.append(Flag("nondeterministic", f"two forward passes on the same inputs differ by up to {difference:.3g}; gradient attacks may be unreliable"))

    rows_sum_to_one = torch.allclose(first.sum(dim=1), torch.ones(first.shape[0], device=first.device), atol=1e-3)
    if bool((first >= 0).all()) and bool((first <= 1).all()) and rows_sum_to_one:
        flags.append(Flag("probabilities", "the outputs are non-negative and sum to 1, like probabilities; attacks need logits, since softmax saturates their gradients"))

    x_grad = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x_grad), y, reduction="sum"), x_grad)
    per_input = grad.flatten(1)
    if bool(torch.isnan(per_input).any()):
        count = int(torch.isnan(per_input).any(dim=1).sum())
        flags.append(Flag("nan_gradients", f"the input gradient of the cross-entropy is NaN for {count} of {x.shape[0]} inputs"))
    zero = (per_input.abs().amax(dim=1) == 0)
    if bool(zero.any()):
        flags.append(Flag("zero_gradients", f"the input gradient of the cross-entropy is exactly zero for {int(zero.sum())} of {x.shape[0]} inputs (saturated or masked gradients)"))
    return flags


def bootstrap_mean_interval(values: torch.Tensor, *, resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """Return the percentile bootstrap interval of the mean of ``values: (n,)``, or None for n < 2."""
    values = values.double().flatten()
    if values.numel() < 2:
        return None
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, values.numel(), (resamples, values.numel()), generator=generator)
    means = values[picks].mean(dim=1)
    tail = (1.0 - level) / 2.0
    return float(means.quantile(tail)), float(means.quantile(1.0 - tail))


def summarize_minimum_norm(relative_norm, success, misclassified, *, include_failures: bool = False) -> dict:
    """Summarise a minimum-norm attack: robustness over the flipped inputs, failures counted apart.

    With ``include_failures`` (the paper-compatibility mode) the unfinished attacks' last
    perturbations are averaged in too, as the LPC authors' code did.
    """
    attacked = ~misclassified
    n = int(misclassified.numel())
    used = attacked if include_failures else (attacked & success)
    values = relative_norm[used].double()
    interval = bootstrap_mean_interval(values)
    return {
        "n": n,
        "clean_acc": _fraction(int(attacked.sum()), n),
        "misclassified": int(misclassified.sum()),
        "attacked": int(attacked.sum()),
        "success_rate": _fraction(int((attacked & success).sum()), int(attacked.sum())),
        "failures": int((attacked & ~success).sum()),
        "averaged": int(used.sum()),
        "averaged_over": "attacked inputs, failures included (paper-compat)" if include_failures else "flipped inputs",
        "relative_norm_mean": _stat(values, "mean"),
        "relative_norm_median": _stat(values, "median"),
        "relative_norm_std": _stat(values, "std"),
        "relative_norm_mean_ci95": list(interval) if interval else None,
    }


def summarize_fixed_eps(success, misclassified) -> dict:
    """Summarise a fixed-eps attack: robust accuracy is correct and not flipped, over all inputs."""
    n = int(misclassified.numel())
    attacked = ~misclassified
    return {
        "n": n,
        "clean_acc": _fraction(int(attacked.sum()), n),
        "misclassified": int(misclassified.sum()),
        "attacked": int(attacked.sum()),
        "success_rate": _fraction(int((attacked & success).sum()), int(attacked.sum())),
        "robust_acc": _fraction(int((attacked & ~success).sum()), n),
    }


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _stat(values: torch.Tensor, name: str) -> float | None:
    if values.numel() == 0 or (name == "std" and values.numel() < 2):
        return None
    # quantile(0.5) averages the two middle values; Tensor.median would return the lower one.
    value = float(values.quantile(0.5)) if name == "median" else float(getattr(values, name)())
    return value if math.isfinite(value) else None


def best_known_minimum(runs: dict) -> tuple[dict, dict]:
    """Combine minimum-norm runs on the same inputs: per input, the smallest successful perturbation.

    ``runs`` maps an attack name to an object with ``relative_norm``, ``success`` and
    ``misclassified`` (N,) tensors. Returns (summary, per-input dict). Still an attack's upper
    bound on the minimal perturbation, only a tighter one.
    """
    names = list(runs)
    if len(names) < 2:
        raise ValueError(f"the best-known minimum needs at least two minimum-norm attacks, got {names}")
    misclassified = runs[names[0]].misclassified
    norms = torch.stack([
        torch.where(runs[name].success, runs[name].relative_norm.double(), torch.full_like(runs[name].relative_norm.double(), float("inf")))
        for name in names
    ])  # (attacks, N)
    best, winner = norms.min(dim=0)
    found = torch.isfinite(best) & ~misclassified
    summary = summarize_minimum_norm(torch.where(found, best, torch.zeros_like(best)), found, misclassified)
    summary["attacks"] = names
    summary["found_minimum"] = {name: int((found & (winner == index)).sum()) for index, name in enumerate(names)}
    per_input = {
        "relative_norm": [float(value) if bool(ok) else None for value, ok in zip(best, found)],
        "attack": [names[int(index)] if bool(ok) else None for index, ok in zip(winner, found)],
    }
    return summary, per_input
