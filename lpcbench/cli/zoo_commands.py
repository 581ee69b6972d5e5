"""The train-zoo and zoo list commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lpcbench.cli.common import check_dataset, check_executor_args, open_executor, resolve_zoo_dir, worker_threads


def train_zoo_command(args: argparse.Namespace) -> int:
    from lpcbench.data import load_dataset
    from lpcbench.zoo.config import load_spec, parse_lrs, parse_seeds, profile_lrs, resolve_config
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.sweep import DataSource, train_zoo
    from lpcbench.zoo.trainer import resolve_device

    # Check every argument before loading data or training anything.

    check_dataset(args.dataset)
    model_ids = parse_model_ids(args.models)
    seeds = parse_seeds(args.seeds)
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be a positive integer, got {args.epochs}")
    spec = load_spec(args.dataset, args.spec)
    lrs = parse_lrs(args.lrs) if args.lrs else profile_lrs(spec, args.profile)
    for model_id in model_ids:
        for lr in lrs:
            resolve_config(spec, model_id, seed=seeds[0], lr=lr, epochs=args.epochs, profile=args.profile)
    address = check_executor_args(args)
    zoo_dir = resolve_zoo_dir(args.zoo_dir).resolve()  # absolute, since Ray workers run in another folder
    executor = open_executor(args, "run", address)
    try:
        if executor.address:
            executor.check_shared_folder(zoo_dir)
        data = load_dataset(args.dataset, args.data_dir, download=args.download)
        device = resolve_device(args.device) if args.executor == "local" else args.device
        where = device if args.executor == "local" else f"device {device} on each Ray worker"
        print(
            f"training {len(model_ids)} model(s) x {len(seeds)} seed(s) x {len(lrs)} learning rate(s) on {args.dataset} "
            f"({where}, executor {args.executor}); zoo folder {zoo_dir}"
        )
        ray_options = {}
        if args.executor == "ray":
            # Workers load the data themselves and train with as many threads as the CPUs reserved per run.
            ray_options = {"threads": worker_threads(args), "on_done": _report_run(len(model_ids) * len(seeds) * len(lrs))}
        results = train_zoo(
            spec,
            data if args.executor == "local" else DataSource(args.dataset, args.data_dir and str(Path(args.data_dir).resolve()), args.download),
            model_ids=model_ids,
            seeds=seeds,
            zoo_dir=zoo_dir,
            lrs=lrs,
            epochs=args.epochs,
            profile=args.profile,
            device=device,
            progress=not args.no_progress and args.executor == "local",
            executor=executor,
            **ray_options,
        )
    finally:
        executor.close()
    # The summary measures R in this process: on CPU when the runs went to Ray workers.
    print_training_summary(results, data, zoo_dir, device if args.executor == "local" else resolve_device("cpu"))
    failed = [message for result in results for message in result.errors]
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    return 1 if failed else 0


def _report_run(total: int):
    """Return an ``on_done`` callback that prints one line per finished Ray run."""
    finished = 0

    def report(task, outcome) -> None:
        nonlocal finished
        finished += 1
        run = f"{task.model_id} seed {task.seed} lr {task.config.lr:g}"
        if outcome.error:
            print(f"[{finished}/{total}] {run} failed: {outcome.error}", flush=True)
        else:
            value = outcome.value
            print(f"[{finished}/{total}] {run} {value['status']}: val {value['accuracy']['val']:.3f}, {value['wall_time_s']:.0f} s", flush=True)

    return report


def print_training_summary(results, data, zoo_dir: Path, device) -> None:
    import torch

    from lpcbench.metrics import separation_ratio
    from lpcbench.zoo import store

    print()
    print(f"{'model':11} {'seed':>4} {'lr':>8} {'train':>6} {'val':>6} {'test':>6} {'R_train':>9} {'spread':>7} {'wall_s':>7}  status")
    for result in results:
        selected = result.selected
        if selected is None:
            print(f"{result.model_id:11} {result.seed:>4} {'-':>8} {'':>6} {'':>6} {'':>6} {'':>9} {'':>7} {'':>7}  failed")
            continue
        accuracy = selected["accuracy"]
        row = (
            f"{result.model_id:11} {result.seed:>4} {selected['lr']:>8.2g} {accuracy['train']:6.3f} "
            f"{accuracy['val']:6.3f} {accuracy['test']:6.3f}"
        )
        try:
            model, _ = store.load_model(Path(zoo_dir) / data.name / result.model_id / selected["run"], device)
        except store.CheckpointError as error:
            print(f"{row} {'':>9} {'':>7} {selected['wall_time_s']:7.0f}  {selected['status']}; latents not measured: {error}")
            continue
        with torch.no_grad():
            z = torch.cat([model.features(batch.to(device)).cpu() for batch in data.train.x.split(1024)])
        ratio = separation_ratio(z, data.train.y)
        r_text = "n/a" if ratio.value is None else f"{ratio.value:.4g}"
        print(f"{row} {r_text:>9} {ratio.spread_over_radius:7.3f} {selected['wall_time_s']:7.0f}  {selected['status']}")
    print("R_train: separation ratio (LPC paper, Eq. 8) on training points; spread: mean distance to the own class centroid over the mean centroid norm.")
    print("wall_s: training time of the run, summed over interruptions.")

def zoo_list_command(args: argparse.Namespace) -> int:
    from lpcbench.zoo import store
    from lpcbench.zoo.config import load_spec
    from lpcbench.zoo.registry import VARIANTS

    check_dataset(args.dataset)
    spec = load_spec(args.dataset)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    trained = store.list_runs(zoo_dir, args.dataset)
    print(f"zoo for {args.dataset} in {zoo_dir}")
    print(f"{'model':11} {'name':11} {'penultimate':12} {'P':>4}  trained seeds (test accuracy of the selected run)")
    for model_id, variant in VARIANTS.items():
        width = "-" if variant.width == "none" else str(spec.widths[variant.width])
        seeds = []
        for record in trained.get(model_id, []):
            if "error" in record:
                seeds.append(f"{record['seed']} (unreadable)")
                continue
            selected = next((c for c in record["candidates"] if c["run"] == record["selected_run"]), {})
            test = selected.get("accuracy", {}).get("test")
            seeds.append(f"{record['seed']} ({test:.3f})" if test is not None else str(record["seed"]))
        print(f"{model_id:11} {variant.display_name:11} {variant.penultimate:12} {width:>4}  {', '.join(seeds) or 'none'}")
    return 0
