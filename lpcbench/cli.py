"""The ``lpcbench`` command line: one thin command per pipeline stage."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lpcbench import __version__
from lpcbench.paths import zoo_dir as resolve_zoo_dir

logger = logging.getLogger("lpcbench")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished epochs are checkpointed; run the same command again to resume", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lpcbench", description="Benchmark and certify robustness under latent point collapse.")
    parser.add_argument("--version", action="version", version=f"lpcbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    commands = parser.add_subparsers(title="commands")

    train = commands.add_parser("train-zoo", help="train the model zoo on one dataset")
    train.add_argument("--dataset", default="digits", help="dataset name (default: digits, which needs no download)")
    train.add_argument("--models", default="all", help="'all' or comma-separated model ids, e.g. lpc,nopen")
    train.add_argument("--seeds", default="0", help="seeds, e.g. '0,1,2' or '0-4' (default: 0)")
    train.add_argument("--epochs", type=int, default=None, help="epochs per run; epoch-based schedules rescale with it")
    train.add_argument("--lrs", default=None, help="learning-rate grid, e.g. 1e-4,2e-4,4e-4,8e-4; one run per rate, selected on validation")
    train.add_argument("--profile", default=None, help="zoo spec profile (default: the spec's default; 'paper' is the full recipe)")
    train.add_argument("--spec", default=None, help="zoo spec file (default: the shipped zoo/<dataset>.toml)")
    _add_common(train)
    train.add_argument("--download", action="store_true", help="let torchvision download Fashion-MNIST or CIFAR when not found locally")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    train.set_defaults(handler=_train_zoo)

    zoo = commands.add_parser("zoo", help="inspect the model zoo")
    zoo_commands = zoo.add_subparsers(title="zoo commands")
    listing = zoo_commands.add_parser("list", help="list model ids, widths and trained seeds")
    listing.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    listing.add_argument("--zoo-dir", default=None, help="folder of trained models (default: $LPCBENCH_ZOO_DIR or the user cache)")
    listing.set_defaults(handler=_zoo_list)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zoo-dir", default=None, help="folder of trained models (default: $LPCBENCH_ZOO_DIR or the user cache)")
    parser.add_argument("--data-dir", default=None, help="folder to look for dataset files in")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def _train_zoo(args: argparse.Namespace) -> int:
    from lpcbench.data import load_dataset
    from lpcbench.zoo.config import load_spec, parse_lrs, parse_seeds, profile_lrs, resolve_config
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.sweep import train_zoo
    from lpcbench.zoo.trainer import resolve_device

    # Check every argument before loading data or training anything.
    from lpcbench.data import DATASETS

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
    model_ids = parse_model_ids(args.models)
    seeds = parse_seeds(args.seeds)
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be a positive integer, got {args.epochs}")
    spec = load_spec(args.dataset, args.spec)
    lrs = parse_lrs(args.lrs) if args.lrs else profile_lrs(spec, args.profile)
    for model_id in model_ids:
        for lr in lrs:
            resolve_config(spec, model_id, seed=seeds[0], lr=lr, epochs=args.epochs, profile=args.profile)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)

    data = load_dataset(args.dataset, args.data_dir, download=args.download)
    print(f"training {len(model_ids)} model(s) x {len(seeds)} seed(s) x {len(lrs)} learning rate(s) on {args.dataset} ({device}); zoo folder {zoo_dir}")
    results = train_zoo(
        spec,
        data,
        model_ids=model_ids,
        seeds=seeds,
        zoo_dir=zoo_dir,
        lrs=lrs,
        epochs=args.epochs,
        profile=args.profile,
        device=device,
        progress=not args.no_progress,
    )
    _print_summary(results, data, zoo_dir, device)
    failed = [message for result in results for message in result.errors]
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    return 1 if failed else 0


def _print_summary(results, data, zoo_dir: Path, device) -> None:
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


def _zoo_list(args: argparse.Namespace) -> int:
    from lpcbench.data import DATASETS
    from lpcbench.zoo import store
    from lpcbench.zoo.config import load_spec
    from lpcbench.zoo.registry import VARIANTS

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
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


if __name__ == "__main__":
    sys.exit(main())
