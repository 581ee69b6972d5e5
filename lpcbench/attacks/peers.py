"""Adapters to peer libraries, each returning lpcbench's result types.

foolbox 3 (L2DeepFoolAttack, L2FMNAttack), torchattacks (DeepFool) and pyautoattack (AutoAttack) are
optional: each adapter imports its library when called, and a missing library raises an error naming the pip command.
"""

from __future__ import annotations

import importlib
import logging
from typing import Optional

import torch
from torch import nn

from lpcbench.attacks.checks import check_inputs, eval_mode
from lpcbench.attacks.deepfool import DeepFoolResult
from lpcbench.attacks.pgd import FixedEpsResult

logger = logging.getLogger(__name__)


def _require(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is not installed: run 'pip install {package}' to use this backend") from None


def library_versions() -> dict[str, Optional[str]]:
    """Return the installed versions of the peer libraries (None where missing)."""
    versions = {}
    for name, module in (("foolbox", "foolbox"), ("torchattacks", "torchattacks"), ("pyautoattack", "pyautoattack")):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # importlib.metadata raises PackageNotFoundError, a subclass of ImportError
            versions[name] = None
    return versions


def _minimum_norm_result(model, x, y, x_adv, misclassified, steps, overshoot, candidates, bounds) -> DeepFoolResult:
    with torch.no_grad():
        success = (model(x_adv).argmax(dim=1) != y) & ~misclassified
    x_adv = torch.where(misclassified.view(-1, *([1] * (x.ndim - 1))), x, x_adv)
    norms = (x_adv - x).flatten(1).double().norm(dim=1)
    return DeepFoolResult(
        x_adv=x_adv.detach().cpu(),
        perturbation_norm=norms.cpu(),
        relative_norm=(norms / x.flatten(1).double().norm(dim=1).clamp_min(1e-12)).cpu(),
        iterations=torch.full((x.shape[0],), -1, dtype=torch.long),  # the peers do not report it
        success=success.cpu(),
        misclassified=misclassified.cpu(),
        steps=steps,
        overshoot=overshoot,
        bounds=bounds,
        candidates=candidates,
    )


def foolbox_deepfool(model: nn.Module, x, y, *, steps=50, overshoot=0.02, candidates: Optional[int] = None, bounds=(0.0, 1.0)) -> DeepFoolResult:
    """foolbox's L2DeepFoolAttack with every class as a candidate unless ``candidates`` is given."""
    fb = _require("foolbox", "foolbox")
    with eval_mode(model):
        x, y, _ = check_inputs(model, x, y, bounds)
        with torch.no_grad():
            misclassified = model(x).argmax(dim=1) != y
        attack = fb.attacks.L2DeepFoolAttack(steps=steps, candidates=candidates, overshoot=overshoot, loss="logits")
        _, x_adv, _ = attack(fb.PyTorchModel(model, bounds=bounds), x, y, epsilons=None)
        return _minimum_norm_result(model, x, y, x_adv, misclassified, steps, overshoot, candidates, bounds)


def torchattacks_deepfool(model: nn.Module, x, y, *, steps=50, overshoot=0.02, bounds=(0.0, 1.0)) -> DeepFoolResult:
    """torchattacks' DeepFool (all classes; it loops over the images one by one)."""
    torchattacks = _require("torchattacks", "torchattacks")
    with eval_mode(model):
        x, y, num_classes = check_inputs(model, x, y, bounds)
        with torch.no_grad():
            misclassified = model(x).argmax(dim=1) != y
        x_adv = torchattacks.DeepFool(model, steps=steps, overshoot=overshoot)(x, y)
        return _minimum_norm_result(model, x, y, x_adv, misclassified, steps, overshoot, None, bounds)


def foolbox_fmn(model: nn.Module, x, y, *, steps=100, max_stepsize=1.0, bounds=(0.0, 1.0)) -> DeepFoolResult:
    """foolbox's L2 fast minimum-norm attack (Pintor et al., 2021), a stronger minimum-norm attack."""
    fb = _require("foolbox", "foolbox")
    with eval_mode(model):
        x, y, _ = check_inputs(model, x, y, bounds)
        with torch.no_grad():
            misclassified = model(x).argmax(dim=1) != y
        attack = fb.attacks.L2FMNAttack(steps=steps, max_stepsize=max_stepsize)
        _, x_adv, _ = attack(fb.PyTorchModel(model, bounds=bounds), x, y, epsilons=None)
        return _minimum_norm_result(model, x, y, x_adv, misclassified, steps, 0.0, None, bounds)


def autoattack(model: nn.Module, x, y, *, norm: str, eps: float, version: str = "standard", seed: int = 0, batch_size: int = 250) -> FixedEpsResult:
    """AutoAttack through pyautoattack with its official defaults for ``version``.

    Its attacks run in their official order, each on the inputs that survived the ones before, so
    that success is the per-input worst case over the ensemble; the run records which attack
    flipped each input.
    """
    pyautoattack = _require("pyautoattack", "pyautoattack")
    names = {"l2": "L2", "linf": "Linf"}
    if norm not in names:
        raise ValueError(f"unknown norm {norm!r} for AutoAttack: expected one of {', '.join(names)}")
    with eval_mode(model):
        x, y, num_classes = check_inputs(model, x, y, (0.0, 1.0))
        if version == "standard" and num_classes < 10:
            raise ValueError(
                f"AutoAttack's standard version targets the 9 most likely other classes and needs >= 10 classes, "
                f"got {num_classes}; use PGD for this model"
            )
        with torch.no_grad():
            misclassified = model(x).argmax(dim=1) != y
        adversary = pyautoattack.AutoAttack(model, norm=names[norm], eps=eps, version=version, seed=seed, device=x.device)
        attacks = list(adversary.attacks_to_run)
        x_adv = x.clone()
        success = torch.zeros_like(misclassified)
        per_attack = {}
        for name in attacks:
            remaining = torch.nonzero(~misclassified & ~success).flatten()
            flipped = torch.zeros_like(success)
            if remaining.numel() > 0:
                adversary.attacks_to_run = [name]
                candidate, _ = adversary.run_standard_evaluation(x[remaining], y[remaining], batch_size=batch_size)
                with torch.no_grad():
                    hit = model(candidate).argmax(dim=1) != y[remaining]
                x_adv[remaining[hit]] = candidate[hit]
                flipped[remaining[hit]] = True
            per_attack[name] = flipped.cpu()
            success |= flipped
    delta = (x_adv - x).flatten(1).double()
    norms = delta.norm(dim=1) if norm == "l2" else delta.abs().amax(dim=1)
    return FixedEpsResult(
        x_adv=x_adv.detach().cpu(),
        success=success.cpu(),
        misclassified=misclassified.cpu(),
        perturbation_norm=norms.cpu(),
        norm=norm,
        eps=eps,
        settings={"version": version, "attacks": attacks, "seed": seed},
        per_attack_success=per_attack,
    )
