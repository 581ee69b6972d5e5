"""Attacks chosen by name or spec file, run in batches, with their checks and summary.

A spec (``attacks/<name>.toml``) names the attack, its backend and settings; command-line values
override it, and the resolved settings go into every result.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lpcbench.attacks import evaluation, peers
from lpcbench.attacks.checks import eval_mode, model_device
from lpcbench.attacks.deepfool import deepfool, deepfool_paper_compat
from lpcbench.attacks.pgd import pgd
from lpcbench.paths import spec_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# attack -> (kind, backends, the first being the default)
ATTACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deepfool": ("minimum-norm", ("lpcbench", "foolbox", "torchattacks")),
    "fmn": ("minimum-norm", ("foolbox",)),
    "pgd": ("fixed-eps", ("lpcbench",)),
    "autoattack": ("fixed-eps", ("pyautoattack",)),
}
NORMS = {"deepfool": ("l2",), "fmn": ("l2",), "pgd": ("l2", "linf"), "autoattack": ("l2", "linf")}
CHECK_INPUTS = 32  # inputs used by the model checks and the large-eps PGD check


@dataclass
class AttackRun:
    """One attack over N inputs: per-input tensors (CPU), the summary, the flags and the settings."""

    settings: dict
    kind: str
    success: torch.Tensor
    misclassified: torch.Tensor
    perturbation_norm: torch.Tensor
    relative_norm: torch.Tensor | None = None
    iterations: torch.Tensor | None = None
    per_attack_success: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    wall_time_s: float = 0.0


def parse_eps(text: str) -> float:
    """Parse an eps such as ``0.5`` or ``8/255``."""
    try:
        if "/" in text:
            numerator, denominator = text.split("/", 1)
            value = float(numerator) / float(denominator)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"invalid eps {text!r}: expected a number such as 0.5 or a fraction such as 8/255") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"eps must be a positive number, got {text!r}")
    return value


def resolve_attack(name: str, overrides: dict | None = None) -> dict:
    """Return the resolved settings of attack ``name`` (a spec name, an attack name, or a spec path).

    ``deepfool`` reads ``attacks/deepfool.toml``; ``pgd`` and ``autoattack`` read the spec for the
    requested norm (``pgd-linf.toml`` and so on). Values in ``overrides`` that are not None win.
    """
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    path = Path(name)
    if path.suffix != ".toml":
        stem = name
        if name in ("pgd", "autoattack"):
            stem = f"{name}-{overrides.get('norm', 'linf')}"
        path = spec_dir("attacks") / f"{stem}.toml"
        if not path.is_file():
            shipped = sorted(p.stem for p in spec_dir("attacks").glob("*.toml") if p.stem != "default-suite")
            raise ValueError(f"unknown attack {name!r}: expected one of {', '.join(ATTACKS)} or a spec ({', '.join(shipped)})")
    elif not path.is_file():
        raise ValueError(f"attack spec {path} not found")
    with open(path, "rb") as handle:
        settings = tomllib.load(handle)
    settings.update(overrides)
    settings["spec"] = path.name

    attack = settings.get("attack")
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r} in {path.name}: expected one of {', '.join(ATTACKS)}")
    kind, backends = ATTACKS[attack]
    settings.setdefault("backend", backends[0])
    if settings["backend"] not in backends:
        raise ValueError(f"unknown backend {settings['backend']!r} for {attack}: expected one of {', '.join(backends)}")
    if settings.get("norm") not in NORMS[attack]:
        raise ValueError(f"unknown norm {settings.get('norm')!r} for {attack}: expected one of {', '.join(NORMS[attack])}")
    if kind == "fixed-eps" and not settings.get("eps", 0) > 0:
        raise ValueError(f"{attack} needs a positive eps, got {settings.get('eps')!r}")
    if settings.get("paper_compat") and (attack != "deepfool" or settings["backend"] != "lpcbench"):
        raise ValueError("paper-compat mode exists only for lpcbench's DeepFool")
    settings["kind"] = kind
    return settings


def run_attack(
    settings: dict,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 500,
    mean: tuple[float, ...] = (0.0,),
    std: tuple[float, ...] = (1.0,),
) -> AttackRun:
    """Run one resolved attack on ``x: (N, C, H, W)`` in [0, 1] with labels ``y: (N,)``.

    ``mean`` and ``std`` (the training split's, per channel) are used only by the paper-compat mode.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    started = time.perf_counter()
    attack = settings["attack"]

    if attack == "autoattack":
        result = peers.autoattack(model, x, y, norm=settings["norm"], eps=float(settings["eps"]), version=settings.get("version", "standard"), seed=int(settings.get("seed", 0)), batch_size=batch_size)
        parts = [result]
    else:
        parts = [_run_batch(settings, model, x[start : start + batch_size], y[start : start + batch_size], mean, std) for start in range(0, x.shape[0], batch_size)]

    run = _merge(settings, parts)
    run.wall_time_s = time.perf_counter() - started
    if run.kind == "minimum-norm":
        run.summary = evaluation.summarize_minimum_norm(run.relative_norm, run.success, run.misclassified, include_failures=bool(settings.get("paper_compat")))
    else:
        run.summary = evaluation.summarize_fixed_eps(run.success, run.misclassified)
    run.flags = _checks(settings, model, x, y, run, was_training)
    return run


def _run_batch(settings, model, x, y, mean, std):
    attack, backend = settings["attack"], settings["backend"]
    steps = int(settings.get("steps", 50))
    if attack == "deepfool":
        overshoot = float(settings.get("overshoot", 0.02))
        candidates = settings.get("candidates")
        if settings.get("paper_compat"):
            return deepfool_paper_compat(model, x, y, mean=mean, std=std, steps=steps, overshoot=overshoot, candidates=int(candidates or 10))
        if backend == "foolbox":
            return peers.foolbox_deepfool(model, x, y, steps=steps, overshoot=overshoot, candidates=candidates)
        if backend == "torchattacks":
            return peers.torchattacks_deepfool(model, x, y, steps=steps, overshoot=overshoot)
        return deepfool(model, x, y, steps=steps, overshoot=overshoot, candidates=candidates)
    if attack == "fmn":
        return peers.foolbox_fmn(model, x, y, steps=int(settings.get("steps", 100)), max_stepsize=float(settings.get("max_stepsize", 1.0)))
    return pgd(model, x, y, norm=settings["norm"], eps=float(settings["eps"]), steps=steps, step_size=settings.get("step_size"), restarts=int(settings.get("restarts", 1)), seed=int(settings.get("seed", 0)))


def _merge(settings: dict, parts: list) -> AttackRun:
    def cat(name):
        return torch.cat([getattr(part, name) for part in parts])

    run = AttackRun(
        settings=dict(settings),
        kind=settings["kind"],
        success=cat("success"),
        misclassified=cat("misclassified"),
        perturbation_norm=cat("perturbation_norm"),
    )
    if run.kind == "minimum-norm":
        run.relative_norm = cat("relative_norm")
        run.iterations = cat("iterations")
        first = parts[0]
        run.settings.update(candidates=first.candidates, measurement_space=first.space, mode=first.mode, bounds=list(first.bounds) if first.bounds else None)
    else:
        run.settings.update(parts[0].settings)
        run.per_attack_success = parts[0].per_attack_success
    return run


def _checks(settings, model, x, y, run: AttackRun, was_training: bool) -> list[dict]:
    device = model_device(model)
    sample_x, sample_y = x[:CHECK_INPUTS].to(device), y[:CHECK_INPUTS].to(device)
    with eval_mode(model):
        flags = evaluation.model_checks(model, sample_x, sample_y, was_training=was_training)
    if run.kind == "fixed-eps":
        # Far outside any meaningful ball, PGD must flip every correctly classified input.
        huge = 1.0 if settings["norm"] == "linf" else float(sample_x[0].numel()) ** 0.5
        sanity = pgd(model, sample_x, sample_y, norm=settings["norm"], eps=huge, steps=50)
        attacked = ~sanity.misclassified
        if bool((attacked & ~sanity.success).any()):
            rate = float(sanity.success[attacked].float().mean())
            flags.append(evaluation.Flag("pgd_large_eps", f"PGD at eps={huge:.3g} ({settings['norm']}) flipped only {rate:.1%} of {int(attacked.sum())} inputs; the gradients are not usable, so robust accuracy is overstated"))
    square = run.per_attack_success.get("square")
    if square is not None and bool(square.any()):
        flags.append(evaluation.Flag("black_box_beats_gradient", f"Square (black-box) flipped {int(square.sum())} inputs that the gradient attacks could not: a sign of gradient masking"))
    failures = run.summary.get("failures", 0) if run.kind == "minimum-norm" else 0
    if failures:
        treatment = "averaged in (paper-compat)" if settings.get("paper_compat") else "reported apart"
        flags.append(evaluation.Flag("unfinished", f"{failures} correctly classified inputs were not flipped within {settings.get('steps')} steps; they are failures, {treatment}"))
    return [flag.to_dict() for flag in flags]
