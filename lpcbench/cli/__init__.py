"""The ``lpcbench`` command line: one thin command per pipeline stage, each in its own module."""

from __future__ import annotations

import argparse
import logging
import sys

from lpcbench import __version__
from lpcbench.cli.common import add_common


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    from lpcbench.data import DatasetNotFoundError
    from lpcbench.zoo.store import CheckpointError

    try:
        return args.handler(args)
    except (ValueError, DatasetNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
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
    add_common(train)
    train.add_argument("--download", action="store_true", help="let torchvision download Fashion-MNIST or CIFAR when not found locally")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_executor_options(train, "run")
    train.set_defaults(handler=_lazy("zoo_commands", "train_zoo_command"))

    attack = commands.add_parser("attack", help="attack trained zoo models and report their robustness")
    attack.add_argument("--model", required=True, help="zoo model id, e.g. lpc_narrow")
    attack.add_argument("--attack", required=True, help="deepfool, fmn, pgd, autoattack or a spec file (.toml); comma-separate several")
    attack.add_argument("--backend", default=None, help="implementation: lpcbench (default), foolbox or torchattacks for deepfool")
    attack.add_argument("--norm", default=None, choices=["l2", "linf"], help="threat model of pgd and autoattack (default: the spec's)")
    attack.add_argument("--eps", default=None, help="radius of pgd and autoattack, e.g. 0.5 or 8/255 (default: the spec's)")
    attack.add_argument("--paper-compat", action="store_true", help="DeepFool as the LPC authors measured it (normalised space, no clipping, top-10, failures averaged in)")
    attack.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    attack.add_argument("--n", type=int, default=1000, help="test inputs, a seeded sample shared by all models (default: 1000)")
    attack.add_argument("--sample-seed", type=int, default=0, help="seed of the test sample (default: 0)")
    attack.add_argument("--train-seed", type=int, default=None, help="trained seed to attack (default: every trained seed)")
    attack.add_argument("--batch-size", type=int, default=500, help="inputs per attack batch (default: 500)")
    attack.add_argument("--out", default=None, help="summary JSON path (default: under the results folder)")
    attack.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    add_common(attack)
    attack.set_defaults(handler=_lazy("attack_command", "attack_command"))

    metrics = commands.add_parser("metrics", help="measure the latent geometry of trained zoo models")
    metrics.add_argument("--model", required=True, help="zoo model id, or 'all'")
    metrics.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    metrics.add_argument("--split", default="both", choices=["train", "test", "both"], help="split(s) to measure (default: both)")
    metrics.add_argument("--labels", default="true", choices=["true", "predicted"], help="class labels used to group latents (default: true)")
    metrics.add_argument("--train-seed", type=int, default=None, help="trained seed (default: every trained seed)")
    metrics.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    add_common(metrics)
    metrics.set_defaults(handler=_lazy("measure_commands", "metrics_command"))

    certify = commands.add_parser("certify", help="certified L2 radii of trained zoo models, beside DeepFool's")
    certify.add_argument("--model", required=True, help="zoo model id, or 'all'")
    certify.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    certify.add_argument("--n", type=int, default=1000, help="test inputs, the same seeded sample as the attack command (default: 1000)")
    certify.add_argument("--sample-seed", type=int, default=0, help="seed of the test sample (default: 0)")
    certify.add_argument("--train-seed", type=int, default=None, help="trained seed (default: every trained seed)")
    certify.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    add_common(certify)
    certify.set_defaults(handler=_lazy("measure_commands", "certify_command"))

    bench = commands.add_parser("bench", help="attack, measure and certify every trained model into leaderboard entries")
    bench.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    bench.add_argument("--models", default="all", help="'all' or comma-separated model ids")
    bench.add_argument("--suite", default="default", help="attack suite: 'default' (attacks/default-suite.toml) or a TOML file")
    bench.add_argument("--n", type=int, default=1000, help="test inputs, the seeded sample shared by all models (default: 1000)")
    bench.add_argument("--sample-seed", type=int, default=0, help="seed of the test sample (default: 0)")
    bench.add_argument("--batch-size", type=int, default=500, help="inputs per attack batch (default: 500)")
    bench.add_argument("--leaderboard-dir", default=None, help="where entries go (default: <results folder>/leaderboards)")
    bench.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    bench.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_executor_options(bench, "model")
    add_common(bench)
    bench.set_defaults(handler=_lazy("bench_command", "bench_command"))

    report = commands.add_parser("report", help="leaderboard table, robustness-vs-R correlation and plots")
    report.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    report.add_argument("--leaderboard-dir", default=None, help="folder of user entries (default: <results folder>/leaderboards)")
    report.add_argument("--out", default=None, help="output folder (default: <results folder>/reports/<dataset>)")
    report.add_argument("--include-reported", action="store_true", help="add the paper's rows to the correlation (another protocol)")
    report.add_argument("--latent-model", default="lpc_narrow", help="zoo model whose latents are plotted (default: lpc_narrow)")
    report.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    add_common(report)
    report.set_defaults(handler=_lazy("report_command", "report_command"))

    evaluate = commands.add_parser("evaluate", help="put your own model on the leaderboard and see where it ranks")
    evaluate.add_argument("--model-file", required=True, help="FILE.py:FUNCTION or MODULE:FUNCTION returning an nn.Module, or a TorchScript archive")
    evaluate.add_argument("--weights", default=None, help="weights: .safetensors, or a state dict saved with torch.save (read with weights_only=True)")
    evaluate.add_argument("--penultimate-layer", default=None, help="name of the layer whose output is z, from model.named_modules(): e.g. '3' in an nn.Sequential, 'fc1'")
    evaluate.add_argument("--name", default=None, help="name on the leaderboard (default: the model file's name)")
    evaluate.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    evaluate.add_argument("--suite", default="default", help="attack suite: 'default' (attacks/default-suite.toml) or a TOML file")
    evaluate.add_argument("--n", type=int, default=1000, help="test inputs, the zoo's seeded sample (default: 1000)")
    evaluate.add_argument("--sample-seed", type=int, default=0, help="seed of the test sample (default: 0)")
    evaluate.add_argument("--batch-size", type=int, default=500, help="inputs per attack batch (default: 500)")
    evaluate.add_argument("--leaderboard-dir", default=None, help="where the entry goes and the ranking reads (default: <results folder>/leaderboards)")
    evaluate.add_argument("--out", default=None, help="folder of the plot (default: <results folder>/reports/<dataset>/submitted-<name>)")
    evaluate.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    evaluate.add_argument("--data-dir", default=None, help="folder to look for dataset files in")
    evaluate.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    evaluate.set_defaults(handler=_lazy("evaluate_command", "evaluate_command"))

    zoo = commands.add_parser("zoo", help="inspect the model zoo")
    zoo_commands = zoo.add_subparsers(title="zoo commands")
    listing = zoo_commands.add_parser("list", help="list model ids, widths and trained seeds")
    listing.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    listing.add_argument("--zoo-dir", default=None, help="folder of trained models (default: $LPCBENCH_ZOO_DIR or the user cache)")
    listing.set_defaults(handler=_lazy("zoo_commands", "zoo_list_command"))
    return parser


def add_executor_options(parser: argparse.ArgumentParser, unit: str) -> None:
    parser.add_argument("--executor", default="local", choices=["local", "ray"], help=f"local: one {unit} after another in this process (default); ray: every {unit} as a Ray task")
    parser.add_argument("--ray-address", default=None, help="HOST:PORT, ray://HOST:PORT or auto: join that Ray cluster (default: start Ray on this machine)")
    parser.add_argument("--gpus-per-run", type=float, default=None, help=f"GPUs reserved per {unit} with --executor ray (default: 1 with --device cuda, else 0)")
    parser.add_argument("--cpus-per-run", type=float, default=None, help=f"CPUs reserved per {unit} with --executor ray; also its torch threads (default: 1)")
    parser.add_argument("--ray-num-cpus", type=int, default=None, help="CPUs of the local Ray instance started without --ray-address (default: all)")
    parser.add_argument("--max-retries", type=int, default=None, help=f"Ray retries of a {unit} whose worker died (default: 3)")


def _lazy(module: str, function: str):
    """Return a handler that imports its command module on first use, so that --help stays fast."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(f"lpcbench.cli.{module}"), function)(args)

    return handler


if __name__ == "__main__":
    sys.exit(main())
