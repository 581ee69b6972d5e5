"""Per-epoch schedules: the gamma ramp, the learning-rate halving, and the ArcFace/CosFace margin ramp."""

from __future__ import annotations

from lpcbench.zoo.config import TrainConfig


def gamma_at(config: TrainConfig, epoch: int) -> float:
    """Return gamma for 0-based ``epoch``: gamma_start * gamma_step**epoch, capped at gamma_max."""
    return min(config.gamma_start * config.gamma_step**epoch, config.gamma_max)


def lr_factor_at(config: TrainConfig, epoch: int) -> float:
    """Return the learning-rate multiplier for 0-based ``epoch``.

    1 before ``lr_decay_start``; from that epoch on, one halving (by default)
    plus one more every ``lr_decay_every`` epochs. The paper's 800-epoch recipe
    halves at epochs 250, 300, ..., 750.
    """
    if epoch < config.lr_decay_start:
        return 1.0
    halvings = 1 + (epoch - config.lr_decay_start) // config.lr_decay_every
    return config.lr_decay_factor**halvings


def margin_at(config: TrainConfig, epoch: int) -> tuple[float, float]:
    """Return (margin, scale) of the ArcFace or CosFace loss for 0-based ``epoch``.

    Both rise linearly from their start to their end value over the first
    ``margin_ramp_fraction`` of training, then stay at the end value.
    """
    ramp_epochs = max(1.0, config.margin_ramp_fraction * config.epochs)
    progress = min(1.0, epoch / ramp_epochs)
    bounds = config.arcface_margin if config.model_id == "arcface" else config.cosface_margin
    margin = bounds[0] + (bounds[1] - bounds[0]) * progress
    scale = config.margin_scale[0] + (config.margin_scale[1] - config.margin_scale[0]) * progress
    return margin, scale
