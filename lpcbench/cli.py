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
    _add_common(train)
    train.add_argument("--download", action="store_true", help="let torchvision download Fashion-MNIST or CIFAR when not found locally")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    train.set_defaults(handler=_train_zoo)

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
    _add_common(attack)
    attack.set_defaults(handler=_attack)

    metrics = commands.add_parser("metrics", help="measure the latent geometry of trained zoo models")
    metrics.add_argument("--model", required=True, help="zoo model id, or 'all'")
    metrics.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    metrics.add_argument("--split", default="both", choices=["train", "test", "both"], help="split(s) to measure (default: both)")
    metrics.add_argument("--labels", default="true", choices=["true", "predicted"], help="class labels used to group latents (default: true)")
    metrics.add_argument("--train-seed", type=int, default=None, help="trained seed (default: every trained seed)")
    metrics.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    _add_common(metrics)
    metrics.set_defaults(handler=_metrics)

    certify = commands.add_parser("certify", help="certified L2 radii of trained zoo models, beside DeepFool's")
    certify.add_argument("--model", required=True, help="zoo model id, or 'all'")
    certify.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    certify.add_argument("--n", type=int, default=1000, help="test inputs, the same seeded sample as the attack command (default: 1000)")
    certify.add_argument("--sample-seed", type=int, default=0, help="seed of the test sample (default: 0)")
    certify.add_argument("--train-seed", type=int, default=None, help="trained seed (default: every trained seed)")
    certify.add_argument("--results-dir", default=None, help="results folder (default: $LPCBENCH_RESULTS_DIR or the user data folder)")
    _add_common(certify)
    certify.set_defaults(handler=_certify)

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
    print("wall_s: training time of the run, summed over interruptions.")


def _attack(args: argparse.Namespace) -> int:
    import platform

    import torch

    import lpcbench
    from lpcbench.attacks.evaluation import best_known_minimum
    from lpcbench.attacks.peers import library_versions
    from lpcbench.attacks.results import write_run
    from lpcbench.attacks.suite import parse_eps, resolve_attack, run_attack
    from lpcbench.data import DATASETS, load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import get_variant
    from lpcbench.zoo.trainer import resolve_device

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
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

    records = [r for r in store.list_runs(zoo_dir, args.dataset).get(args.model, []) if "error" not in r]
    if args.train_seed is not None:
        records = [r for r in records if int(r["seed"]) == args.train_seed]
    if not records:
        seed_text = f" seed {args.train_seed}" if args.train_seed is not None else ""
        raise ValueError(
            f"no trained {args.model}{seed_text} on {args.dataset} in {zoo_dir}: "
            f"run 'lpcbench train-zoo --dataset {args.dataset} --models {args.model}' first"
        )

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
                f"{_number(best_summary['relative_norm_mean'])}, median {_number(best_summary['relative_norm_median'])}, "
                f"found for {best_summary['averaged']} of {best_summary['attacked']} inputs; minimum found by "
                + ", ".join(f"{name} {count}" for name, count in best_summary["found_minimum"].items())
            )
            print(f"  written: {best_path}")
    return 0


def _attack_output_path(args, settings: dict, seed: int, seed_count: int, out_root: Path, attack_count: int = 1) -> Path:
    name = Path(settings["spec"]).stem
    if args.out:
        path = Path(args.out)
        suffix = (f"-seed{seed}" if seed_count > 1 else "") + (f"-{name}" if attack_count > 1 else "")
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
        described += ", candidates " + ("all classes" if settings.get("candidates") is None else f"top {settings['candidates']}")
        described += f", {settings.get('measurement_space', 'pixel')} space"
        if settings.get("mode") == "paper-compat":
            described += ", PAPER-COMPAT: no clipping, failures averaged in"
    print(f"{model_id} seed {seed} on {dataset}: {described})")
    print(
        f"  inputs {summary['n']} | clean accuracy {_percent(summary['clean_acc'])} | attacked {summary['attacked']} | "
        f"success {_percent(summary['success_rate'])} | misclassified {summary['misclassified']}"
        + (f" | failures {summary['failures']}" if run.kind == "minimum-norm" else "")
    )
    if run.kind == "minimum-norm":
        interval = summary["relative_norm_mean_ci95"]
        interval_text = f" [{interval[0]:.4g}, {interval[1]:.4g}] 95% bootstrap CI" if interval else ""
        print(
            f"  relative L2 norm ||delta|| / ||x|| over {summary['averaged']} {summary['averaged_over']}: mean {_number(summary['relative_norm_mean'])}"
            f"{interval_text}, median {_number(summary['relative_norm_median'])}, std {_number(summary['relative_norm_std'])}"
        )
        print("  an attack's figure: an upper bound on the minimal perturbation, not a certificate")
    else:
        print(f"  robust accuracy {_percent(summary['robust_acc'])} at {settings['norm']} eps {settings['eps']:.4g} (an upper bound: attacks can miss)")
        if run.per_attack_success:
            print("  flipped by: " + ", ".join(f"{name} {int(hit.sum())}" for name, hit in run.per_attack_success.items()))
    print(f"  time {run.wall_time_s:.1f} s")
    for flag in run.flags:
        print(f"  WARNING [{flag['code']}]: {flag['message']}")
    print(f"  written: {written}")


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _trained_records(zoo_dir: Path, dataset: str, model_id: str, train_seed: int | None) -> list[dict]:
    from lpcbench.zoo import store

    records = [r for r in store.list_runs(zoo_dir, dataset).get(model_id, []) if "error" not in r]
    if train_seed is not None:
        records = [r for r in records if int(r["seed"]) == train_seed]
    if not records:
        seed_text = f" seed {train_seed}" if train_seed is not None else ""
        raise ValueError(
            f"no trained {model_id}{seed_text} on {dataset} in {zoo_dir}: "
            f"run 'lpcbench train-zoo --dataset {dataset} --models {model_id}' first"
        )
    return records


def _metrics(args: argparse.Namespace) -> int:
    from lpcbench.bench import latent_metrics
    from lpcbench.data import DATASETS, load_dataset
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.trainer import resolve_device

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
    model_ids = parse_model_ids(args.model)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    if args.model != "all":
        for model_id in model_ids:
            _trained_records(zoo_dir, args.dataset, model_id, args.train_seed)
    splits = ("train", "test") if args.split == "both" else (args.split,)
    data = load_dataset(args.dataset, args.data_dir)
    out_root = results_dir(args.results_dir)

    print(f"latent metrics on {args.dataset} ({args.labels} labels; test R against training centroids)")
    print(f"{'model':11} {'seed':>4} {'split':5} {'acc':>6} {'R':>9} {'Sigma_W':>10} {'CV|z|':>7} {'H/d':>8} {'NC1':>10} {'peaks':>7}")
    for model_id in model_ids:
        records = store.list_runs(zoo_dir, args.dataset).get(model_id, [])
        if args.train_seed is not None:
            records = [r for r in records if int(r.get("seed", -1)) == args.train_seed]
        for record in records:
            model, card = store.load_model(Path(zoo_dir) / args.dataset / model_id / record["selected_run"], device)
            result = latent_metrics(model, data, splits=splits, labels=args.labels, device=device)
            path = out_root / "metrics" / args.dataset / model_id / f"seed{record['seed']}.json"
            write_json(path, {"dataset": args.dataset, "model_id": model_id, "train_seed": int(record["seed"]), "run": record["selected_run"], "weights_sha256": card["weights_sha256"], **result})
            for split in splits:
                values = result[split]
                print(
                    f"{model_id:11} {record['seed']:>4} {split:5} {values['accuracy']:6.3f} {_number(values['separation_ratio']['value']):>9} "
                    f"{values['within_class_covariance']['value']:10.3g} {_number(values['norm_variation']['value']):>7} "
                    f"{_number(values['kl_entropy']['value']):>8} {values['neural_collapse']['value']:10.3g} {_number(values['binarity']['peak_distance']):>7}"
                )
    print("R: separation ratio (LPC paper Eq. 8); Sigma_W: trace / P; CV|z|: std / mean of ||z||; H/d: Kozachenko-Leonenko entropy (k = 20) per dimension;")
    print(f"NC1: Tr(Sigma_W Sigma_B^+) / K; peaks: binarity peak distance (App. D, standardised nodes). Written under {out_root / 'metrics' / args.dataset}")
    return 0


def _certify(args: argparse.Namespace) -> int:
    import torch

    from lpcbench.attacks import deepfool
    from lpcbench.bench import latents
    from lpcbench.certify import NotCertifiable, certified_radius, collapse_radius_estimate, empirical_local_lipschitz
    from lpcbench.data import DATASETS, load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.trainer import resolve_device

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    model_ids = parse_model_ids(args.model)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    if args.model != "all":
        for model_id in model_ids:
            _trained_records(zoo_dir, args.dataset, model_id, args.train_seed)
    data = load_dataset(args.dataset, args.data_dir)
    indices, note = sample_indices(len(data.test), args.n, args.sample_seed)
    if note:
        print(f"note: {note}")
    x, y = data.test.x[indices], data.test.y[indices]
    input_norms = x.flatten(1).double().norm(dim=1)
    out_root = results_dir(args.results_dir)

    print("certified radius r(x) = latent margin / L_z: a CERTIFICATE (no smaller L2 perturbation changes the prediction);")
    print("DeepFool's norm is an attack's upper bound; the true minimal perturbation lies between them.")
    print(f"{'model':11} {'seed':>4} {'L_z bound':>10} {'median r':>10} {'median r/||x||':>15} {'median r/DeepFool':>18} {'violations':>10}  note")
    for model_id in model_ids:
        records = [r for r in store.list_runs(zoo_dir, args.dataset).get(model_id, []) if "error" not in r]
        if args.train_seed is not None:
            records = [r for r in records if int(r["seed"]) == args.train_seed]
        for record in records:
            model, card = store.load_model(Path(zoo_dir) / args.dataset / model_id / record["selected_run"], device)
            try:
                certificate = certified_radius(model, x, y)
            except NotCertifiable as error:
                print(f"{model_id:11} {record['seed']:>4} {'':>10} {'':>10} {'':>15} {'':>18} {'':>10}  not certifiable: {error}")
                continue
            attack = deepfool(model, x, y)
            both = ~certificate.misclassified & attack.success
            ratio = certificate.radius[both] / attack.perturbation_norm[both]
            violations = int((certificate.radius[both] > attack.perturbation_norm[both] * (1 + 1e-9)).sum())
            z_train, _ = latents(model, data.train, device)
            weight = model.classifier_weight.detach().double().cpu()
            classes = collapse_radius_estimate(z_train, data.train.y, weight, certificate.lipschitz_bound)
            local = empirical_local_lipschitz(model, x[:64], y[:64])
            margin_bound = certificate.lipschitz_bound * float(torch.cdist(weight, weight).max())
            radius = certificate.radius[~certificate.misclassified]
            median_radius = float(radius.quantile(0.5)) if radius.numel() else None
            median_relative = float((radius / input_norms[~certificate.misclassified]).quantile(0.5)) if radius.numel() else None
            median_ratio = float(ratio.quantile(0.5)) if ratio.numel() else None
            write_json(
                out_root / "certify" / args.dataset / model_id / f"seed{record['seed']}.json",
                {
                    "dataset": args.dataset, "model_id": model_id, "train_seed": int(record["seed"]), "run": record["selected_run"],
                    "weights_sha256": card["weights_sha256"], "test_indices_sha256": indices_hash(indices), "sample_seed": args.sample_seed,
                    "kind": "certificate", "lipschitz_bound": certificate.lipschitz_bound, "layers": certificate.layers,
                    "median_radius": median_radius, "median_relative_radius": median_relative, "median_radius_over_deepfool": median_ratio,
                    "violations": violations, "misclassified": int(certificate.misclassified.sum()),
                    "per_input": {"index": [int(i) for i in indices], "radius": certificate.radius.tolist(), "latent_margin": certificate.latent_margin.tolist(), "deepfool_norm": [float(v) if bool(s) else None for v, s in zip(attack.perturbation_norm, attack.success)]},
                    "collapse_radius_estimate": classes,
                    "empirical_local_lipschitz": {"kind": "estimate", "median": float(local.quantile(0.5)), "max": float(local.max()), "margin_lipschitz_bound": margin_bound, "inputs": int(local.numel())},
                },
            )
            print(
                f"{model_id:11} {record['seed']:>4} {certificate.lipschitz_bound:10.3g} {_number(median_radius):>10} {_number(median_relative):>15} "
                f"{_number(median_ratio):>18} {violations:>10}  local margin Lipschitz estimate {float(local.quantile(0.5)):.3g} vs bound {margin_bound:.3g}"
            )
    print(f"Written under {out_root / 'certify' / args.dataset}; collapse-radius figures there are estimates, labelled so.")
    return 0


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
