"""Measure one model: attacks, latent metrics and certificate, into one leaderboard entry."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

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
        if hasattr(model, "features_and_logits"):  # a wrapped user model, whose z may come from a hook
            z, logits = model.features_and_logits(x)
        else:
            z = model.features(x)
            logits = model.logits_from_features(z)
        z_parts.append(z.double().cpu())
        predictions.append(logits.argmax(dim=1).cpu())
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


def suite_attacks(suite: str) -> list[dict]:
    """Resolve the attacks of a suite spec (``default`` or a path to a TOML file with ``attacks = [...]``)."""
    import sys

    from lpcbench.attacks.suite import resolve_attack
    from lpcbench.paths import spec_dir

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    path = spec_dir("attacks") / "default-suite.toml" if suite == "default" else Path(suite)
    if not path.is_file():
        raise ValueError(f"attack suite {path} not found: expected 'default' or a TOML file with attacks = [...]")
    with open(path, "rb") as handle:
        names = tomllib.load(handle).get("attacks")
    if not names or not isinstance(names, list):
        raise ValueError(f"attack suite {path} names no attacks: expected attacks = [\"deepfool\", \"fmn\"]")
    return [resolve_attack(name) for name in names]


def same_attacks(recorded: list[dict], attacks: list[dict]) -> bool:
    """True when recorded run settings match resolved suite settings on every field the suite sets.

    A run adds resolved fields to its settings, so only the suite's own fields are compared.
    """
    if len(recorded) != len(attacks):
        return False
    return all({key: done.get(key) for key in wanted} == wanted for done, wanted in zip(recorded, attacks))


def bench_entry(model, card: dict, data: DatasetSplits, *, attacks: list[dict], indices: torch.Tensor, device="cpu", batch_size: int = 500):
    """Run the attack suite, the latent metrics and the certificate on one zoo model; return its entry."""
    from lpcbench.leaderboard import LeaderboardEntry

    entry = LeaderboardEntry(
        dataset=data.name,
        model_id=card["model_id"],
        name=card.get("display_name", card["model_id"]),
        architecture=card["config"]["backbone"],
        seeds=[int(card["seed"])],
        aggregate=False,
        source="lpcbench zoo",
    )
    provenance = {"training_config": card["config"], "run_config_hash": card["config_hash"], "weights_sha256": card["weights_sha256"]}
    return measure_entry(model, entry, data, attacks=attacks, indices=indices, device=device, batch_size=batch_size, provenance=provenance, training_time=card.get("wall_time_s"))


def measure_entry(model, entry, data: DatasetSplits, *, attacks: list[dict], indices: torch.Tensor, device="cpu", batch_size: int = 500, provenance: dict | None = None, training_time: float | None = None):
    """Fill ``entry`` (its identity already set) with the attack suite, the latent metrics and the certificate.

    A model with ``latent_source`` None (a user's model without z) gets its attack results only;
    the provenance's ``latent_note`` and the certificate give the reason the rest is empty.
    """
    import platform
    import time

    import lpcbench
    from lpcbench.attacks.evaluation import best_known_minimum
    from lpcbench.attacks.peers import library_versions
    from lpcbench.attacks.suite import run_attack
    from lpcbench.certify import NotCertifiable, certified_radius
    from lpcbench.data.sampling import indices_hash
    from lpcbench.leaderboard import Statistic
    from lpcbench.zoo import store

    started = time.perf_counter()
    x, y = data.test.x[indices], data.test.y[indices]
    runs = {}
    for settings in attacks:
        runs[settings["spec"].removesuffix(".toml")] = run_attack(settings, model, x, y, batch_size=batch_size, mean=data.mean, std=data.std)
    attack_time = time.perf_counter() - started
    minimum_norm = {name: run for name, run in runs.items() if run.kind == "minimum-norm" and run.settings.get("mode") != "paper-compat"}
    deepfool_runs = [run for run in minimum_norm.values() if run.settings["attack"] == "deepfool"]
    if deepfool_runs:
        summary = deepfool_runs[0].summary
        entry.clean_acc = Statistic(summary["clean_acc"])
        entry.deepfool = {
            "relative_norm": asdict(Statistic(summary["relative_norm_mean"])),
            "median": asdict(Statistic(summary["relative_norm_median"])),
            "ci95": summary["relative_norm_mean_ci95"],
            "std_over_inputs": summary["relative_norm_std"],
            "n": summary["n"],
            "success_rate": asdict(Statistic(summary["success_rate"])),
            "failures": summary["failures"],
            "misclassified": summary["misclassified"],
            "measurement_space": deepfool_runs[0].settings.get("measurement_space", "pixel"),
            "mode": deepfool_runs[0].settings.get("mode", "standard"),
        }
    if len(minimum_norm) >= 2:
        best, _ = best_known_minimum(minimum_norm)
        entry.best_known_minimum = {"relative_norm": asdict(Statistic(best["relative_norm_mean"])), "median": best["relative_norm_median"], "attacks": best["attacks"], "found_minimum": best["found_minimum"]}
    for name, run in runs.items():
        if run.kind == "fixed-eps":
            entry.robust_accuracy.append({"attack": run.settings["attack"], "norm": run.settings["norm"], "eps": float(run.settings["eps"]), "robust_acc": asdict(Statistic(run.summary["robust_acc"])), "version": run.settings.get("version")})
        entry.flags.extend({**flag, "attack": name} for flag in run.flags)

    has_latents = getattr(model, "latent_source", "features") is not None
    if has_latents:
        _add_latents(entry, latent_metrics(model, data, device=device))
        try:
            certificate = certified_radius(model, x, y)
        except NotCertifiable as error:
            entry.certificate = {"kind": "certificate", "not_certifiable": str(error)}
        else:
            entry.certificate = _certificate_summary(certificate, minimum_norm)
    else:
        entry.certificate = {"kind": "certificate", "not_certifiable": f"no latents: {model.latent_note}"}

    entry.provenance = {
        **(provenance or {}),
        "attack_configs": [run.settings for run in runs.values()],
        "test_indices_sha256": indices_hash(indices),
        "versions": {"lpcbench": lpcbench.__version__, "torch": torch.__version__, "python": platform.python_version(), **library_versions()},
        "git_commit": store.git_commit(),
        "device": str(device),
        "wall_time_s": {"training": training_time, "attacks": attack_time, "total_bench": time.perf_counter() - started},
    }
    if hasattr(model, "latent_note"):
        entry.provenance["latent_note"] = model.latent_note
    return entry


def _add_latents(entry, metrics: dict) -> None:
    from lpcbench.leaderboard import Statistic

    train, test = metrics["train"], metrics["test"]
    entry.latent = {
        name: asdict(Statistic(value))
        for name, value in {
            "separation_ratio_train": train["separation_ratio"]["value"],
            "separation_ratio_test": test["separation_ratio"]["value"],
            "sigma_w": train["within_class_covariance"]["value"],
            "sigma_w_mean_entry": train["within_class_covariance"]["mean_entry"],
            "norm_cv": train["norm_variation"]["value"],
            "centroid_cv": train["norm_variation"]["centroid_cv"],
            "kl_entropy_per_dim": train["kl_entropy"]["value"],
            "nc1": train["neural_collapse"]["value"],
            "binarity_peak_distance": train["binarity"]["peak_distance"],
        }.items()
    }


def _certificate_summary(certificate, minimum_norm: dict) -> dict:
    """Summarise a certificate: its median radius, and its ratio to the best attack's norm on inputs both cover."""
    correct = ~certificate.misclassified
    summary = {
        "kind": "certificate",
        "lipschitz_bound": certificate.lipschitz_bound,
        "median_radius": float(certificate.radius[correct].quantile(0.5)) if bool(correct.any()) else None,
    }
    if minimum_norm:
        norms = [torch.where(run.success, run.perturbation_norm, torch.full_like(run.perturbation_norm, float("inf"))) for run in minimum_norm.values()]
        best_norm = torch.stack(norms).min(dim=0).values
        both = correct & torch.isfinite(best_norm)
        ratio = certificate.radius[both] / best_norm[both]
        summary["median_radius_over_best_attack"] = float(ratio.quantile(0.5)) if ratio.numel() else None
        summary["violations"] = int((certificate.radius[both] > best_norm[both] * (1 + 1e-9)).sum())
    return summary
