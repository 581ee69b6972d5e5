"""Train a set of zoo runs (models x seeds x learning rates) and select one learning rate per
(model, seed) on the validation split.

The paper selected the best of four learning rates on the test set; lpcbench
selects on the held-out validation split so that test numbers stay unbiased.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lpcbench.data import DatasetSplits
from lpcbench.io import write_json
from lpcbench.zoo import store
from lpcbench.zoo.config import ZooSpec, resolve_config
from lpcbench.zoo.trainer import train_run

logger = logging.getLogger(__name__)


@dataclass
class SeedResult:
    """The outcome for one (model, seed): every learning rate tried and the one selected."""

    model_id: str
    seed: int
    candidates: list[dict] = field(default_factory=list)  # one per learning rate: lr, status, accuracy, run_dir, error
    selected: dict | None = None  # the candidate with the best validation accuracy

    @property
    def errors(self) -> list[str]:
        return [candidate["error"] for candidate in self.candidates if candidate.get("error")]


def train_zoo(
    spec: ZooSpec,
    data: DatasetSplits,
    *,
    model_ids: list[str],
    seeds: list[int],
    zoo_dir: Path,
    lrs: list[float] | None = None,
    epochs: int | None = None,
    profile: str | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    overrides: dict | None = None,
) -> list[SeedResult]:
    """Train every (model, seed, learning rate), skipping finished runs, and write the selections.

    All configs are resolved before any training starts, so an invalid number
    fails at once. A run that raises is recorded with its error and the others go on.
    """
    grid = lrs or [None]
    plans = [
        (model_id, seed, [resolve_config(spec, model_id, seed=seed, lr=lr, epochs=epochs, profile=profile, overrides=overrides) for lr in grid])
        for model_id in model_ids
        for seed in seeds
    ]

    results = []
    for model_id, seed, configs in plans:
        result = SeedResult(model_id, seed)
        for config in configs:
            run_dir = store.run_dir_for(zoo_dir, config)
            candidate = {"lr": config.lr, "run": run_dir.name, "config_hash": config.config_hash()}
            try:
                card = train_run(config, data, run_dir, device=device, progress=progress)
            except store.CheckpointError as error:
                logger.error("run %s failed: %s", run_dir, error)
                candidate.update(status="failed", error=str(error))
            else:
                candidate.update(status=card["status"], accuracy=card["accuracy"], wall_time_s=card["wall_time_s"])
            result.candidates.append(candidate)

        finished = [candidate for candidate in result.candidates if "accuracy" in candidate]
        if finished:
            # Highest validation accuracy; ties go to the earlier learning rate of the grid.
            result.selected = max(finished, key=lambda candidate: candidate["accuracy"]["val"])
            write_json(
                store.selection_path(zoo_dir, spec.dataset, model_id, seed),
                {
                    "dataset": spec.dataset,
                    "model_id": model_id,
                    "seed": seed,
                    "selected_run": result.selected["run"],
                    "selected_lr": result.selected["lr"],
                    "selected_on": "validation accuracy",
                    "candidates": result.candidates,
                },
            )
        results.append(result)
    return results
