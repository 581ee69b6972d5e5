"""The bench command: attack suite, latent metrics and certificate for every trained zoo model,
written as leaderboard entries."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from lpcbench.cli.common import check_dataset, check_executor_args, open_executor, resolve_zoo_dir, selected_records, worker_threads

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchJob:
    """One zoo model to bench: everything a worker needs to measure it."""

    model_id: str
    seed: int
    run_dir: Path
    data: object  # the loaded DatasetSplits, or a DataSource a worker loads
    attacks: list
    indices: object  # the test sample, a tensor of indices
    device: str
    batch_size: int
    threads: int | None = None


def bench_task(job: BenchJob) -> dict:
    """Load one zoo model and return its leaderboard entry as a dict; raises on failure."""
    import torch

    from lpcbench.bench import bench_entry
    from lpcbench.data import DatasetSplits
    from lpcbench.zoo import store
    from lpcbench.zoo.sweep import load_source
    from lpcbench.zoo.trainer import resolve_device

    if job.threads:
        torch.set_num_threads(job.threads)
    data = job.data if isinstance(job.data, DatasetSplits) else load_source(job.data)
    device = resolve_device(job.device)
    model, card = store.load_model(job.run_dir, device)
    return bench_entry(model, card, data, attacks=job.attacks, indices=job.indices, device=device, batch_size=job.batch_size).to_dict()


def bench_command(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from lpcbench.bench import suite_attacks
    from lpcbench.data import load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.leaderboard import LeaderboardEntry, write_entry
    from lpcbench.paths import results_dir
    from lpcbench.zoo.registry import get_variant, parse_model_ids
    from lpcbench.zoo.sweep import DataSource
    from lpcbench.zoo.trainer import resolve_device

    check_dataset(args.dataset)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    model_ids = parse_model_ids(args.models)
    attacks = suite_attacks(args.suite)
    address = check_executor_args(args)
    device = resolve_device(args.device) if args.executor == "local" else args.device
    zoo_dir = resolve_zoo_dir(args.zoo_dir).resolve()  # absolute, since Ray workers run in another folder
    out_dir = (Path(args.leaderboard_dir) if args.leaderboard_dir else results_dir(args.results_dir) / "leaderboards") / args.dataset

    records = [(model_id, record) for model_id in model_ids for record in selected_records(zoo_dir, args.dataset, model_id, None)]
    if not records:
        raise ValueError(f"no trained models on {args.dataset} in {zoo_dir}: run 'lpcbench train-zoo --dataset {args.dataset}' first")
    data = load_dataset(args.dataset, args.data_dir)
    indices, note = sample_indices(len(data.test), args.n, args.sample_seed)
    if note:
        print(f"note: {note}")
    sample_hash = indices_hash(indices)

    jobs, reused = [], 0
    source = data if args.executor == "local" else DataSource(args.dataset, args.data_dir and str(Path(args.data_dir).resolve()))
    for model_id, record in records:
        run_dir = zoo_dir / args.dataset / model_id / record["selected_run"]
        if _reusable(out_dir / f"{model_id}-seed{record['seed']}.json", run_dir, sample_hash, attacks):
            reused += 1
            continue
        threads = worker_threads(args) if args.executor == "ray" else None
        jobs.append(BenchJob(model_id, int(record["seed"]), run_dir, source, attacks, indices, str(device), args.batch_size, threads))

    written = failed = 0
    progress = tqdm(total=len(jobs), desc="bench", disable=args.no_progress)

    def write(index: int, outcome) -> None:
        # Entries are written as they arrive, so that an interrupted bench keeps the finished ones.
        nonlocal written, failed
        job = jobs[index]
        if outcome.error is None:
            entry = LeaderboardEntry.from_dict(outcome.value)
        else:
            logger.error("bench failed for %s seed %s: %s", job.model_id, job.seed, outcome.error)
            entry = LeaderboardEntry(
                dataset=args.dataset, model_id=job.model_id, name=get_variant(job.model_id).display_name, architecture="unknown",
                seeds=[job.seed], aggregate=False, source="lpcbench zoo", error=outcome.error,
                provenance={"run": job.run_dir.name, "test_indices_sha256": sample_hash},
            )
            failed += 1
        write_entry(out_dir / f"{job.model_id}-seed{job.seed}.json", entry)
        written += 1
        progress.update()

    if jobs:
        executor = open_executor(args, "model", address)
        try:
            if executor.address:  # workers on other nodes load the models from the zoo folder
                executor.check_shared_folder(zoo_dir)
            executor.map(bench_task, jobs, on_done=write)
        finally:
            executor.close()
            progress.close()
    print(f"bench on {args.dataset}: {written} entries written ({failed} with an error), {reused} reused, in {out_dir}")
    return 1 if failed else 0


def _reusable(path: Path, run_dir: Path, sample_hash: str, attacks: list[dict]) -> bool:
    """Return True when ``path`` contains an error-free entry for the same code, weights, test sample and attack settings."""
    import lpcbench
    from lpcbench.bench import same_attacks
    from lpcbench.zoo import store

    if not path.is_file():
        return False
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        card = store.read_card(run_dir)
    except (json.JSONDecodeError, store.CheckpointError):
        return False
    provenance = entry.get("provenance", {})
    # Results of another lpcbench version or source commit may differ: recompute them.
    same_code = provenance.get("versions", {}).get("lpcbench") == lpcbench.__version__ and provenance.get("git_commit") == store.git_commit()
    return (
        same_code
        and entry.get("error") is None
        and card is not None
        and provenance.get("weights_sha256") == card.get("weights_sha256")
        and provenance.get("test_indices_sha256") == sample_hash
        and same_attacks(provenance.get("attack_configs", []), attacks)
    )
