"""The attack command: run attacks on trained zoo models and write their results."""

from __future__ import annotations

import argparse
from pathlib import Path

from lpcbench.cli.common import check_dataset, number, percent, resolve_zoo_dir, trained_records


def attack_command(args: argparse.Namespace) -> int:
    import platform

    import torch

    import lpcbench
    from lpcbench.attacks.evaluation import best_known_minimum
    from lpcbench.attacks.peers import library_versions
    from lpcbench.attacks.results import write_run
    from lpcbench.attacks.suite import parse_eps, resolve_attack, run_attack
    from lpcbench.data import load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import get_variant
    from lpcbench.zoo.trainer import resolve_device

    check_dataset(args.dataset)
    get_variant(args.model)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be a positive integer, got {args.batch_size}")
    overrides = {"backend": args.backend, "norm": args.norm, "eps": parse_eps(args.eps) if args.eps else None}
    if args.paper_compat:
        overrides.update(paper_compat=True, candidates=10)
    names = [name.strip() for name in args.attack.split(",") if name.strip()]
    if not names:
        raise ValueError(f"empty attack list {args.attack!r}: expected e.g. deepfool or deepfool,fmn")
    all_settings = [resolve_attack(name, overrides) for name in names]
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)

    records = trained_records(zoo_dir, args.dataset, args.model, args.train_seed)

    data = load_dataset(args.dataset, args.data_dir)
    indices, note = sample_indices(len(data.test), args.n, args.sample_seed)
    if note:
        print(f"note: {note}")
    x, y = data.test.x[indices], data.test.y[indices]
    out_root = results_dir(args.results_dir)

    for record in records:
        run_dir = Path(zoo_dir) / args.dataset / args.model / record["selected_run"]
        model, card = store.load_model(run_dir, device)
        context = {
            "dataset": args.dataset,
            "model_id": args.model,
            "train_seed": int(record["seed"]),
            "run": record["selected_run"],
            "weights_sha256": card["weights_sha256"],
            "sample_seed": args.sample_seed,
            "n_requested": args.n,
            "test_indices_sha256": indices_hash(indices),
            "versions": {"lpcbench": lpcbench.__version__, "torch": torch.__version__, "python": platform.python_version(), **library_versions()},
            "git_commit": store.git_commit(),
            "device": str(device),
        }
        minimum_norm_runs = {}
        for settings in all_settings:
            run = run_attack(settings, model, x, y, batch_size=args.batch_size, mean=data.mean, std=data.std)
            summary_path = _attack_output_path(args, settings, int(record["seed"]), len(records), out_root, len(all_settings))
            written, _ = write_run(summary_path, run, indices, context)
            _print_attack_summary(args.model, int(record["seed"]), args.dataset, run, written)
            if run.kind == "minimum-norm" and run.settings.get("mode") != "paper-compat":
                minimum_norm_runs[Path(settings["spec"]).stem + ("" if settings["backend"] == "lpcbench" or settings["attack"] != "deepfool" else f"-{settings['backend']}")] = run
        if len(minimum_norm_runs) >= 2:
            best_summary, best_per_input = best_known_minimum(minimum_norm_runs)
            best_path = written.with_name("best-known-minimum.json")
            write_json(best_path, {**context, "summary": best_summary, "per_input": {"index": [int(i) for i in indices], **best_per_input}})
            print(
                f"  best-known minimal perturbation over {', '.join(minimum_norm_runs)}: mean relative L2 norm "
                f"{number(best_summary['relative_norm_mean'])}, median {number(best_summary['relative_norm_median'])}, "
                f"found for {best_summary['averaged']} of {best_summary['attacked']} inputs; minimum found by "
                + ", ".join(f"{name} {count}" for name, count in best_summary["found_minimum"].items())
            )
            print(f"  written: {best_path}")
    return 0

def _attack_output_path(args, settings: dict, seed: int, seed_count: int, out_root: Path, attack_count: int = 1) -> Path:
    name = Path(settings["spec"]).stem
    if args.out:
        path = Path(args.out)
        suffix = ""
        if seed_count > 1:
            suffix += f"-seed{seed}"
        if attack_count > 1:
            suffix += f"-{name}"
        return path.with_name(f"{path.stem}{suffix}{path.suffix}")
    if settings.get("paper_compat") and "compat" not in name:
        name += "-paper-compat"
    if settings["attack"] == "deepfool" and settings["backend"] != "lpcbench":
        name += f"-{settings['backend']}"
    if settings["kind"] == "fixed-eps":
        name += f"-eps{settings['eps']:.4g}"
    return out_root / "attacks" / args.dataset / args.model / f"seed{seed}" / f"{name}.json"

def _print_attack_summary(model_id: str, seed: int, dataset: str, run, written: Path) -> None:
    settings, summary = run.settings, run.summary
    described = f"{settings['attack']} ({settings['backend']}, {settings['norm']}"
    if run.kind == "fixed-eps":
        described += f", eps {settings['eps']:.4g}"
    else:
        if settings["attack"] == "deepfool":
            described += ", candidates " + ("all classes" if settings.get("candidates") is None else f"top {settings['candidates']}")
        described += f", {settings.get('measurement_space', 'pixel')} space"
        if settings.get("mode") == "paper-compat":
            described += ", PAPER-COMPAT: no clipping, failures averaged in"
    print(f"{model_id} seed {seed} on {dataset}: {described})")
    print(
        f"  inputs {summary['n']} | clean accuracy {percent(summary['clean_acc'])} | attacked {summary['attacked']} | "
        f"success {percent(summary['success_rate'])} | misclassified {summary['misclassified']}"
        + (f" | failures {summary['failures']}" if run.kind == "minimum-norm" else "")
    )
    if run.kind == "minimum-norm":
        interval = summary["relative_norm_mean_ci95"]
        interval_text = f" [{interval[0]:.4g}, {interval[1]:.4g}] 95% bootstrap CI" if interval else ""
        print(
            f"  relative L2 norm ||delta|| / ||x|| over {summary['averaged']} {summary['averaged_over']}: mean {number(summary['relative_norm_mean'])}"
            f"{interval_text}, median {number(summary['relative_norm_median'])}, std {number(summary['relative_norm_std'])}"
        )
        print("  an attack's figure: an upper bound on the minimal perturbation, not a certificate")
    else:
        print(f"  robust accuracy {percent(summary['robust_acc'])} at {settings['norm']} eps {settings['eps']:.4g} (an upper bound: attacks can miss)")
        if run.per_attack_success:
            print("  flipped by: " + ", ".join(f"{name} {int(hit.sum())}" for name, hit in run.per_attack_success.items()))
    print(f"  time {run.wall_time_s:.1f} s")
    for flag in run.flags:
        print(f"  WARNING [{flag['code']}]: {flag['message']}")
    print(f"  written: {written}")
