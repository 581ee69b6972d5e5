"""The bench command: attack suite, latent metrics and certificate for every trained zoo model,
written as leaderboard entries."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lpcbench.cli.common import check_dataset, resolve_zoo_dir, selected_records

logger = logging.getLogger(__name__)


def bench_command(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from lpcbench.bench import bench_entry, suite_attacks
    from lpcbench.data import load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.leaderboard import LeaderboardEntry, write_entry
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import get_variant, parse_model_ids
    from lpcbench.zoo.trainer import resolve_device

    check_dataset(args.dataset)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    model_ids = parse_model_ids(args.models)
    attacks = suite_attacks(args.suite)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    out_dir = (Path(args.leaderboard_dir) if args.leaderboard_dir else results_dir(args.results_dir) / "leaderboards") / args.dataset

    jobs = [(model_id, record) for model_id in model_ids for record in selected_records(zoo_dir, args.dataset, model_id, None)]
    if not jobs:
        raise ValueError(f"no trained models on {args.dataset} in {zoo_dir}: run 'lpcbench train-zoo --dataset {args.dataset}' first")
    data = load_dataset(args.dataset, args.data_dir)
    indices, note = sample_indices(len(data.test), args.n, args.sample_seed)
    if note:
        print(f"note: {note}")
    sample_hash = indices_hash(indices)

    written = reused = failed = 0
    for model_id, record in tqdm(jobs, desc="bench", disable=args.no_progress):
        path = out_dir / f"{model_id}-seed{record['seed']}.json"
        run_dir = Path(zoo_dir) / args.dataset / model_id / record["selected_run"]
        if _reusable(path, run_dir, sample_hash, attacks):
            reused += 1
            continue
        try:
            model, card = store.load_model(run_dir, device)
            entry = bench_entry(model, card, data, attacks=attacks, indices=indices, device=device, batch_size=args.batch_size)
        except Exception as error:  # A failing model must not stop the others, so its entry records the error.
            logger.error("bench failed for %s seed %s: %s", model_id, record["seed"], error)
            variant = get_variant(model_id)
            entry = LeaderboardEntry(
                dataset=args.dataset, model_id=model_id, name=variant.display_name, architecture="unknown",
                seeds=[int(record["seed"])], aggregate=False, source="lpcbench zoo", error=f"{type(error).__name__}: {error}",
                provenance={"run": record["selected_run"], "test_indices_sha256": sample_hash},
            )
            failed += 1
        write_entry(path, entry)
        written += 1
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
