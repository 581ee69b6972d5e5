"""Train a set of zoo runs (models x seeds x learning rates) and select one learning rate per
(model, seed) on the validation split.

The paper selected the best of four learning rates on the test set; lpcbench
selects on the held-out validation split so that test numbers stay unbiased.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lpcbench.data import DatasetSplits
from lpcbench.io import write_json
from lpcbench.zoo import store
from lpcbench.zoo.config import TrainConfig, ZooSpec, resolve_config
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


@dataclass(frozen=True)
class RunTask:
    """One training run: its resolved config and folder. Training it is a pure function of these."""

    model_id: str
    seed: int
    config: TrainConfig
    run_dir: Path


@dataclass(frozen=True)
class DataSource:
    """The dataset a worker process loads itself, when the data is not passed in memory."""

    name: str
    data_dir: str | None = None
    download: bool = False


@dataclass(frozen=True)
class RunJob:
    """Everything one worker needs to train one run."""

    task: RunTask
    data: DatasetSplits | DataSource
    device: str
    progress: bool = False
    threads: int | None = None  # torch threads in a worker process; None leaves the default


def plan_runs(spec: ZooSpec, *, model_ids: list[str], seeds: list[int], zoo_dir: Path, lrs: list[float] | None = None, epochs=None, profile=None, overrides=None) -> list[RunTask]:
    """Resolve every (model, seed, learning rate) config up front, so that an invalid value fails at once."""
    return [
        RunTask(model_id, seed, config, store.run_dir_for(zoo_dir, config))
        for model_id in model_ids
        for seed in seeds
        for config in [resolve_config(spec, model_id, seed=seed, lr=lr, epochs=epochs, profile=profile, overrides=overrides) for lr in (lrs or [None])]
    ]


def train_task(job: RunJob) -> dict:
    """Train (or resume, or skip) one run and return its candidate record; raises on failure."""
    from lpcbench.zoo.trainer import resolve_device

    if job.threads:
        torch.set_num_threads(job.threads)
    data = job.data if isinstance(job.data, DatasetSplits) else load_source(job.data)
    card = train_run(job.task.config, data, job.task.run_dir, device=resolve_device(job.device), progress=job.progress)
    return {"status": card["status"], "accuracy": card["accuracy"], "wall_time_s": card["wall_time_s"]}


def train_zoo(
    spec: ZooSpec,
    data: DatasetSplits | DataSource,
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
    executor=None,
    threads: int | None = None,
    on_done=None,
) -> list[SeedResult]:
    """Train every (model, seed, learning rate), skipping finished runs, and write the selections.

    ``executor`` (default: in this process, one run after another) runs the jobs; ``data`` is the
    loaded dataset, or a ``DataSource`` that each worker loads. A run that raises is recorded
    with its error and the others go on. ``on_done(task, outcome)`` is called as each run ends.
    """
    from lpcbench.executor import LocalExecutor

    tasks = plan_runs(spec, model_ids=model_ids, seeds=seeds, zoo_dir=zoo_dir, lrs=lrs, epochs=epochs, profile=profile, overrides=overrides)
    executor = executor or LocalExecutor()
    jobs = [RunJob(task, data, str(device), progress, threads) for task in tasks]
    outcomes = executor.map(train_task, jobs, on_done=None if on_done is None else lambda index, outcome: on_done(tasks[index], outcome))

    results: dict[tuple[str, int], SeedResult] = {}
    for task, outcome in zip(tasks, outcomes):
        result = results.setdefault((task.model_id, task.seed), SeedResult(task.model_id, task.seed))
        candidate = {"lr": task.config.lr, "run": task.run_dir.name, "config_hash": task.config.config_hash()}
        if outcome.error is not None:
            candidate.update(status="failed", error=f"{task.model_id} seed {task.seed} lr {task.config.lr:g} ({task.run_dir.name}): {outcome.error}")
        else:
            candidate.update(outcome.value)
        result.candidates.append(candidate)
    for result in results.values():
        select(result, spec.dataset, zoo_dir)
    return list(results.values())


def select(result: SeedResult, dataset: str, zoo_dir: Path) -> None:
    """Select the finished candidate with the best validation accuracy and write the selection file."""
    finished = [candidate for candidate in result.candidates if "accuracy" in candidate]
    if not finished:
        return
    # Highest validation accuracy; ties go to the earlier learning rate of the grid.
    result.selected = max(finished, key=lambda candidate: candidate["accuracy"]["val"])
    write_json(
        store.selection_path(zoo_dir, dataset, result.model_id, result.seed),
        {
            "dataset": dataset,
            "model_id": result.model_id,
            "seed": result.seed,
            "selected_run": result.selected["run"],
            "selected_lr": result.selected["lr"],
            "selected_on": "validation accuracy",
            "candidates": result.candidates,
        },
    )


@functools.lru_cache(maxsize=2)
def load_source(source: DataSource) -> DatasetSplits:
    """Load a dataset once per worker process: a worker runs many jobs on the same data."""
    from lpcbench.data import load_dataset

    return load_dataset(source.name, source.data_dir, download=source.download)
