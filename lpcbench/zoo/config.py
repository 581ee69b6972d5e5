"""Training configuration: zoo specs (``zoo/<dataset>.toml``) resolved into one frozen config per run.

A spec has per-dataset penultimate widths and named profiles; ``paper`` is the
paper's full recipe, the other profile the default for small data. A resolved
``TrainConfig`` fixes every number a run depends on, and its hash names the run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from lpcbench.paths import spec_dir
from lpcbench.zoo.registry import get_variant


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run. Epoch counts are in epochs of this run."""

    dataset: str
    model_id: str
    seed: int
    profile: str

    # model
    backbone: str  # resnet18, resnet50 or small_cnn
    backbone_width: int  # channels of the first small_cnn stage; unused by the ResNets
    backbone_norm: str  # small_cnn normalisation: batch, group or none; the ResNets use BatchNorm
    penultimate_width: int | None  # P; None for variants without a penultimate layer

    # optimisation
    epochs: int
    batch_size: int
    lr: float  # AdamW learning rate of every layer but the last classifier
    classifier_lr: float  # the last classifier's; kept off the halving schedule
    weight_decay: float
    lr_decay_start: int  # first epoch (0-based) at which the learning rate is halved
    lr_decay_every: int  # epochs between halvings after that
    lr_decay_factor: float
    augment: str  # "flip-crop" (random horizontal flip, 4-pixel zero-padded crop) or "none"

    # L2 penalty gamma * ||z||^2, ramped per epoch: gamma_start * gamma_step**epoch, capped at gamma_max
    gamma_start: float
    gamma_step: float
    gamma_max: float
    l2_reduction: str  # "sum" over dimensions (Eq. 1) or "mean" (the authors' code)

    # supervised contrastive loss on h
    supcon_temperature: float
    supcon_weight: float

    # ArcFace / CosFace: margin and scale ramped linearly over the first margin_ramp_fraction of training
    arcface_margin: tuple[float, float]
    cosface_margin: tuple[float, float]
    margin_scale: tuple[float, float]
    margin_ramp_fraction: float

    def config_hash(self) -> str:
        """Return a sha256 over the canonical JSON of every field: two runs with equal hashes train identically."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {field.name for field in fields(cls)}
        missing = names - set(data)
        if missing:
            raise ValueError(f"training config is missing fields: {', '.join(sorted(missing))}")
        values = {name: data[name] for name in names}
        for name in ("arcface_margin", "cosface_margin", "margin_scale"):
            values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True)
class ZooSpec:
    """A parsed ``zoo/<dataset>.toml``."""

    dataset: str
    widths: dict[str, int]  # intermediate, wide, narrow
    profiles: dict[str, dict]
    default_profile: str
    path: Path


def load_spec(dataset: str, spec_path: str | Path | None = None) -> ZooSpec:
    """Load the zoo spec of ``dataset`` from the shipped specs, or from ``spec_path``."""
    path = Path(spec_path) if spec_path else spec_dir("zoo") / f"{dataset}.toml"
    if not path.is_file():
        shipped = sorted(p.stem for p in spec_dir("zoo").glob("*.toml"))
        raise ValueError(f"no zoo spec for dataset {dataset!r} at {path}: shipped specs are {', '.join(shipped)}")
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    if raw.get("dataset") != dataset:
        raise ValueError(f"zoo spec {path} is for dataset {raw.get('dataset')!r}, expected {dataset!r}")
    widths = raw.get("widths", {})
    for key in ("intermediate", "wide", "narrow"):
        if not isinstance(widths.get(key), int) or widths[key] < 1:
            raise ValueError(f"zoo spec {path}: [widths] {key} must be a positive integer, got {widths.get(key)!r}")
    profiles = raw.get("profiles", {})
    default_profile = raw.get("default_profile", "")
    if default_profile not in profiles:
        raise ValueError(f"zoo spec {path}: default_profile {default_profile!r} is not one of {sorted(profiles)}")
    return ZooSpec(dataset, dict(widths), profiles, default_profile, path)


def resolve_config(
    spec: ZooSpec,
    model_id: str,
    *,
    seed: int,
    lr: float | None = None,
    epochs: int | None = None,
    profile: str | None = None,
    overrides: dict | None = None,
) -> TrainConfig:
    """Resolve one run's config from a spec profile.

    ``epochs`` rescales the epoch-based schedules proportionally: the halving
    start and interval scale by epochs / profile epochs, and gamma_step becomes
    gamma_step ** (profile epochs / epochs), so gamma reaches gamma_max at the
    same fraction of training. ``overrides`` replaces resolved fields by name.
    """
    variant = get_variant(model_id)
    profile_name = profile or spec.default_profile
    base = _profile(spec, profile_name)
    base.pop("lrs", None)

    base_epochs = int(base["epochs"])
    target_epochs = base_epochs if epochs is None else epochs
    if target_epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {target_epochs}")
    ratio = target_epochs / base_epochs

    config = TrainConfig(
        dataset=spec.dataset,
        model_id=model_id,
        seed=int(seed),
        profile=profile_name,
        backbone=str(base["backbone"]),
        backbone_width=int(base.get("backbone_width", 32)),
        backbone_norm=str(base.get("backbone_norm", "batch")),
        penultimate_width=None if variant.width == "none" else spec.widths[variant.width],
        epochs=target_epochs,
        batch_size=int(base["batch_size"]),
        lr=float(lr if lr is not None else base["lr"]),
        classifier_lr=float(base["classifier_lr"]),
        weight_decay=float(base["weight_decay"]),
        lr_decay_start=max(0, round(int(base["lr_decay_start"]) * ratio)),
        lr_decay_every=max(1, round(int(base["lr_decay_every"]) * ratio)),
        lr_decay_factor=float(base.get("lr_decay_factor", 0.5)),
        augment=str(base.get("augment", "none")),
        gamma_start=float(base["gamma_start"]),
        gamma_step=float(base["gamma_step"]) ** (1.0 / ratio),
        gamma_max=float(base["gamma_max"]),
        l2_reduction=str(base.get("l2_reduction", "sum")),
        supcon_temperature=float(base.get("supcon_temperature", 0.05)),
        supcon_weight=float(base.get("supcon_weight", 1.0)),
        arcface_margin=tuple(float(v) for v in base.get("arcface_margin", (0.1, 0.5))),
        cosface_margin=tuple(float(v) for v in base.get("cosface_margin", (0.05, 0.25))),
        margin_scale=tuple(float(v) for v in base.get("margin_scale", (16.0, 64.0))),
        margin_ramp_fraction=float(base.get("margin_ramp_fraction", 0.5)),
    )
    if overrides:
        config = replace(config, **overrides)
    validate_config(config)
    return config


def profile_lrs(spec: ZooSpec, profile: str | None = None) -> list[float]:
    """Return the profile's default learning-rate grid (a single rate when it names none)."""
    base = _profile(spec, profile or spec.default_profile)
    return [float(value) for value in base.get("lrs", [base["lr"]])]


def _profile(spec: ZooSpec, name: str) -> dict:
    if name not in spec.profiles:
        raise ValueError(f"unknown profile {name!r} for {spec.dataset}: expected one of {sorted(spec.profiles)}")
    return dict(spec.profiles[name])


def validate_config(config: TrainConfig) -> None:
    """Raise ``ValueError`` naming the first invalid number, before any work starts."""
    positive = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "classifier_lr": config.classifier_lr,
        "gamma_start": config.gamma_start,
        "gamma_max": config.gamma_max,
        "gamma_step": config.gamma_step,
        "supcon_temperature": config.supcon_temperature,
        "lr_decay_factor": config.lr_decay_factor,
    }
    for name, value in positive.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    if config.weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {config.weight_decay}")
    if config.seed < 0:
        raise ValueError(f"seed must be >= 0, got {config.seed}")
    if config.augment not in ("flip-crop", "none"):
        raise ValueError(f"augment must be 'flip-crop' or 'none', got {config.augment!r}")
    if config.l2_reduction not in ("sum", "mean"):
        raise ValueError(f"l2_reduction must be 'sum' or 'mean', got {config.l2_reduction!r}")
    if not 0 < config.margin_ramp_fraction <= 1:
        raise ValueError(f"margin_ramp_fraction must be in (0, 1], got {config.margin_ramp_fraction}")


def parse_seeds(text: str) -> list[int]:
    """Parse ``0,1,2`` or ``0-4`` (inclusive) or a mix, e.g. ``0-2,7``."""
    seeds: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                start_text, end_text = part.split("-", 1)
                start, end = int(start_text), int(end_text)
                if end < start:
                    raise ValueError
                seeds.extend(range(start, end + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(f"invalid seed list {text!r}: expected e.g. '0,1,2' or '0-4'") from None
    if not seeds:
        raise ValueError(f"empty seed list {text!r}: expected e.g. '0,1,2' or '0-4'")
    if min(seeds) < 0:
        raise ValueError(f"invalid seed list {text!r}: seeds must be >= 0")
    return list(dict.fromkeys(seeds))


def parse_lrs(text: str) -> list[float]:
    """Parse a comma-separated list of positive learning rates, e.g. ``1e-4,2e-4``."""
    try:
        lrs = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"invalid learning-rate list {text!r}: expected e.g. '1e-4,2e-4,4e-4,8e-4'") from None
    if not lrs:
        raise ValueError(f"empty learning-rate list {text!r}: expected e.g. '1e-4,2e-4,4e-4,8e-4'")
    for lr in lrs:
        if not lr > 0:
            raise ValueError(f"learning rates must be > 0, got {lr} in {text!r}")
    return list(dict.fromkeys(lrs))
