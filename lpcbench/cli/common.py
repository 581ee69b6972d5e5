"""Helpers shared by the command handlers: common options, the trained-seed lookup, number formatting."""

from __future__ import annotations

import argparse
from pathlib import Path

from lpcbench.paths import zoo_dir as resolve_zoo_dir

__all__ = ["add_common", "check_dataset", "number", "percent", "resolve_zoo_dir", "trained_records", "selected_records"]


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zoo-dir", default=None, help="folder of trained models (default: $LPCBENCH_ZOO_DIR or the user cache)")
    parser.add_argument("--data-dir", default=None, help="folder to look for dataset files in")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def check_dataset(name: str) -> None:
    """Raise ``ValueError`` listing the known datasets when ``name`` is not one of them."""
    from lpcbench.data import DATASETS

    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


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
