"""Search the digits training recipe in which the LPC variants are both accurate and collapsed.

Trains each recipe for LPC (and LINPEN as the reference) and prints one row per
(recipe, model): test accuracy, the separation ratio R (Eq. 8 of the LPC paper)
on training and test points, and the within-class spread over the centroid
radius. Test points are measured against the training split's centroids.

    python benchmarks/recipe_search.py --jobs 2 --json recipe_search.json

Each job runs single-threaded; on 2 cores, ``--jobs 2`` runs two trainings at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

from lpcbench.data import load_dataset
from lpcbench.metrics import class_centroids, separation_ratio
from lpcbench.zoo import store
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.registry import get_variant
from lpcbench.zoo.trainer import train_run

# Each recipe: a name, the number of epochs, and overrides of the digits "small" profile.
RECIPES: list[tuple[str, int, dict]] = [
    ("g1e4 clf1e-2 bs32", 200, {"gamma_max": 1e4}),
    ("g1e5 clf1e-2 bs32", 200, {"gamma_max": 1e5}),
    ("g1e6 clf1e-2 bs32", 200, {"gamma_max": 1e6}),
    ("g1e6 clf1e-1 bs32", 200, {"gamma_max": 1e6, "classifier_lr": 1e-1}),
    ("g1e4 clf1e-2 bs128", 200, {"gamma_max": 1e4, "batch_size": 128}),
    ("g1e4 clf1e-2 bs32 groupnorm", 200, {"gamma_max": 1e4, "backbone_norm": "group"}),
    ("g1e4 clf1e-2 bs32 nonorm", 200, {"gamma_max": 1e4, "backbone_norm": "none"}),
    ("g1e6 clf1e-1 bs32 nonorm", 200, {"gamma_max": 1e6, "classifier_lr": 1e-1, "backbone_norm": "none"}),
    ("g1e4 clf1e-2 bs32 400ep", 400, {"gamma_max": 1e4}),
    ("g1e4 clf1e-2 bs32 mean-L2", 200, {"gamma_max": 1e4, "l2_reduction": "mean"}),
    ("g1e4 clf1e-3 bs32", 200, {"gamma_max": 1e4, "classifier_lr": 1e-3}),
    ("g1e4 clf1e-2 bs32 lr3e-3", 200, {"gamma_max": 1e4, "lr": 3e-3}),
    # Round 2: smaller gamma keeps the collapse radius large against AdamW's step size.
    ("g1e1 clf1e-2 bs32", 200, {"gamma_max": 1e1}),
    ("g1e2 clf1e-2 bs32", 200, {"gamma_max": 1e2}),
    ("g1e3 clf1e-2 bs32", 200, {"gamma_max": 1e3}),
    ("g1e3 clf1e-1 bs32", 200, {"gamma_max": 1e3, "classifier_lr": 1e-1}),
    ("g1e2 clf1e-2 bs32 halve/6ep", 200, {"gamma_max": 1e2, "lr_decay_every": 6}),
    ("g1e3 clf1e-2 bs32 halve/6ep", 200, {"gamma_max": 1e3, "lr_decay_every": 6}),
    ("g1e3 clf1e-2 bs32 400ep", 400, {"gamma_max": 1e3}),
    ("g1e2 clf1e-2 bs32 decay@100 halve/6ep", 200, {"gamma_max": 1e2, "lr_decay_start": 100, "lr_decay_every": 6}),
    # Round 3: keep the body learning while gamma is at its maximum (the terminal phase).
    ("g1e2 clf1e-2 bs32 no decay", 200, {"gamma_max": 1e2, "lr_decay_start": 200}),
    ("g1e2 clf1e-2 bs32 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e2 clf1e-2 bs8 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "batch_size": 8, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e2 fast ramp decay@150 halve/6ep", 200, {"gamma_max": 1e2, "gamma_step": 2.0, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e3 clf1e-1 decay@150 halve/6ep", 200, {"gamma_max": 1e3, "classifier_lr": 1e-1, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e2 lr3e-3 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "lr": 3e-3, "lr_decay_start": 150, "lr_decay_every": 6}),
    # Round 4: a larger body learning rate, annealed more slowly, and a wider backbone.
    ("g1e2 lr3e-3 w64 decay@100 halve/10ep", 200, {"gamma_max": 1e2, "lr": 3e-3, "backbone_width": 64, "lr_decay_start": 100, "lr_decay_every": 10}),
    ("g1e2 lr3e-3 decay@100 halve/10ep", 200, {"gamma_max": 1e2, "lr": 3e-3, "lr_decay_start": 100, "lr_decay_every": 10}),
    ("g1e2 lr1e-2 decay@100 halve/10ep", 200, {"gamma_max": 1e2, "lr": 1e-2, "lr_decay_start": 100, "lr_decay_every": 10}),
    ("g1e2 lr3e-3 w64 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "lr": 3e-3, "backbone_width": 64, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e3 lr3e-3 decay@100 halve/10ep", 200, {"gamma_max": 1e3, "lr": 3e-3, "lr_decay_start": 100, "lr_decay_every": 10}),
    ("g1e1 lr3e-3 decay@100 halve/10ep", 200, {"gamma_max": 1e1, "lr": 3e-3, "lr_decay_start": 100, "lr_decay_every": 10}),
    # Round 5: combine the wider backbone, the larger learning rate and the late anneal.
    ("g1e3 lr1e-2 w64 decay@150 halve/6ep", 200, {"gamma_max": 1e3, "lr": 1e-2, "backbone_width": 64, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e2 lr1e-2 w64 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "lr": 1e-2, "backbone_width": 64, "lr_decay_start": 150, "lr_decay_every": 6}),
    ("g1e2 lr3e-3 w64 300ep decay@225 halve/6ep", 300, {"gamma_max": 1e2, "lr": 3e-3, "backbone_width": 64, "lr_decay_start": 225, "lr_decay_every": 6}),
    ("g1e2 lr3e-3 w128 decay@150 halve/6ep", 200, {"gamma_max": 1e2, "lr": 3e-3, "backbone_width": 128, "lr_decay_start": 150, "lr_decay_every": 6}),
]

# Overrides that only matter to variants with the L2 penalty; dropped for the others so that
# recipes differing only in them share one baseline run.
L2_ONLY_FIELDS = {"gamma_max", "gamma_start", "gamma_step", "l2_reduction"}


def run_one(recipe: str, epochs: int, overrides: dict, model_id: str, zoo_dir: str) -> dict:
    torch.set_num_threads(1)
    if not get_variant(model_id).l2_penalty:
        overrides = {key: value for key, value in overrides.items() if key not in L2_ONLY_FIELDS}
    data = load_dataset("digits")
    config = resolve_config(load_spec("digits"), model_id, seed=0, epochs=epochs, overrides=overrides)
    run_dir = store.run_dir_for(Path(zoo_dir), config)
    started = time.perf_counter()
    card = train_run(config, data, run_dir, progress=False)
    model, _ = store.load_model(run_dir)
    with torch.no_grad():
        z_train = model.features(data.train.x)
        z_test = model.features(data.test.x)
    train_r = separation_ratio(z_train, data.train.y)
    test_r = separation_ratio(z_test, data.test.y, class_centroids(z_train, data.train.y))
    return {
        "recipe": recipe,
        "epochs": epochs,
        "overrides": overrides,
        "model_id": model_id,
        "train_acc": card["accuracy"]["train"],
        "test_acc": card["accuracy"]["test"],
        "r_train": train_r.value,
        "r_test": test_r.value,
        "spread_train": train_r.spread_over_radius,
        "spread_test": test_r.spread_over_radius,
        "on_centroid_train": train_r.n_on_centroid,
        "z_norm": float(z_train.norm(dim=1).mean()),
        "wall_s": time.perf_counter() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lpc,linpen", help="comma-separated model ids (default: lpc,linpen)")
    parser.add_argument("--recipes", default="", help="comma-separated recipe indices to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings run at a time, each single-threaded")
    parser.add_argument("--zoo-dir", default="", help="keep trained runs here so that a rerun skips them")
    parser.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = parser.parse_args()

    chosen = [int(i) for i in args.recipes.split(",") if i.strip()] or list(range(len(RECIPES)))
    zoo_dir = args.zoo_dir or tempfile.mkdtemp(prefix="lpcbench-recipes-")
    tasks = [(RECIPES[i], model_id) for i in chosen for model_id in args.models.split(",")]

    header = f"{'recipe':34} {'model':8} {'test_acc':>8} {'R_train':>9} {'R_test':>8} {'spread_tr':>9} {'spread_te':>9} {'|z|':>8} {'wall_s':>7}"
    print(header, flush=True)
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, name, epochs, overrides, model_id, zoo_dir) for (name, epochs, overrides), model_id in tasks]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            print(
                f"{row['recipe']:34} {row['model_id']:8} {row['test_acc']:8.4f} {_fmt(row['r_train']):>9} "
                f"{_fmt(row['r_test']):>8} {row['spread_train']:9.4f} {row['spread_test']:9.4f} "
                f"{row['z_norm']:8.3g} {row['wall_s']:7.0f}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


if __name__ == "__main__":
    sys.exit(main())
