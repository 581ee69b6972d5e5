"""Helpers shared by the command handlers: common options, the trained-seed lookup, number formatting."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lpcbench.paths import zoo_dir as resolve_zoo_dir

__all__ = [
    "add_common", "check_dataset", "check_executor_args", "number", "open_executor", "percent", "resolve_zoo_dir",
    "selected_records", "trained_records", "worker_threads",
]


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zoo-dir", default=None, help="folder of trained models (default: $LPCBENCH_ZOO_DIR or the user cache)")
    parser.add_argument("--data-dir", default=None, help="folder to look for dataset files in")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def check_dataset(name: str) -> None:
    """Raise ``ValueError`` listing the known datasets when ``name`` is not one of them."""
    from lpcbench.data import DATASETS

    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def check_executor_args(args: argparse.Namespace) -> str | None:
    """Check the executor options before any work, starting nothing; return the Ray address to join or None.

    Ray joins the cluster in RAY_ADDRESS when given no address, so RAY_ADDRESS counts as one here:
    that cluster is then checked like one named with --ray-address.
    """
    from lpcbench.executor import DEFAULT_MAX_RETRIES, check_ray_options, check_reachable, default_gpus

    ray_only = {
        "--ray-address": args.ray_address, "--gpus-per-run": args.gpus_per_run, "--cpus-per-run": args.cpus_per_run,
        "--ray-num-cpus": args.ray_num_cpus, "--max-retries": args.max_retries,
    }
    if args.executor == "local":
        ray_options_given = [flag for flag, value in ray_only.items() if value is not None]
        if ray_options_given:
            verb = "applies" if len(ray_options_given) == 1 else "apply"
            raise ValueError(f"{', '.join(ray_options_given)} {verb} only with --executor ray")
        return None
    if args.device not in ("auto", "cpu") and not args.device.startswith("cuda"):
        raise ValueError(f"unknown device {args.device!r}: expected auto, cpu or cuda")
    if args.ray_address == "":
        raise ValueError("--ray-address is empty: expected HOST:PORT, ray://HOST:PORT or auto; leave it out to start Ray on this machine")
    gpus = args.gpus_per_run if args.gpus_per_run is not None else default_gpus(args.device)
    retries = args.max_retries if args.max_retries is not None else DEFAULT_MAX_RETRIES
    check_ray_options(cpus_per_run(args), gpus, retries)
    address = args.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
    return address


def open_executor(args: argparse.Namespace, unit: str, address: str | None):
    """Return the executor of arguments that passed ``check_executor_args``, which gave ``address``.

    ``unit`` names one job in messages ("run", "model").
    """
    from lpcbench.executor import DEFAULT_MAX_RETRIES, make_executor

    if args.executor == "local":
        return make_executor("local")
    return make_executor(
        "ray", address=address, gpus_per_task=args.gpus_per_run, device=args.device, cpus_per_task=cpus_per_run(args),
        num_cpus=args.ray_num_cpus, max_retries=args.max_retries if args.max_retries is not None else DEFAULT_MAX_RETRIES, unit=unit,
    )


def worker_threads(args: argparse.Namespace) -> int:
    """Return the torch threads of one Ray task: the CPUs it reserves, at least 1."""
    return max(1, int(cpus_per_run(args)))


def cpus_per_run(args: argparse.Namespace) -> float:
    return 1.0 if args.cpus_per_run is None else args.cpus_per_run


def selected_records(zoo_dir: Path, dataset: str, model_id: str, train_seed: int | None) -> list[dict]:
    """Return the readable selection records of a model's trained seeds (only ``train_seed`` if given)."""
    from lpcbench.zoo import store

    records = [r for r in store.list_runs(zoo_dir, dataset).get(model_id, []) if "error" not in r]
    if train_seed is not None:
        records = [r for r in records if int(r["seed"]) == train_seed]
    return records


def trained_records(zoo_dir: Path, dataset: str, model_id: str, train_seed: int | None) -> list[dict]:
    """Like ``selected_records``, but raise ``ValueError`` saying how to train the model when there is none."""
    records = selected_records(zoo_dir, dataset, model_id, train_seed)
    if not records:
        seed_text = f" seed {train_seed}" if train_seed is not None else ""
        raise ValueError(
            f"no trained {model_id}{seed_text} on {dataset} in {zoo_dir}: "
            f"run 'lpcbench train-zoo --dataset {dataset} --models {model_id}' first"
        )
    return records


def percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def number(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"
