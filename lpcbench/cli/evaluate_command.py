"""The evaluate command: put a user's model on the leaderboard, beside the zoo, and show where it ranks."""

from __future__ import annotations

import argparse
from pathlib import Path

from lpcbench.cli.common import check_dataset, number, percent


def evaluate_command(args: argparse.Namespace) -> int:
    from lpcbench.evaluate import benchmark
    from lpcbench.evaluate.api import slug
    from lpcbench.evaluate.loading import load_model, load_weights
    from lpcbench.leaderboard import write_entry
    from lpcbench.paths import results_dir

    check_dataset(args.dataset)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    model = load_model(args.model_file)
    if args.weights:
        load_weights(model, args.weights)
    elif ":" in args.model_file:
        print(f"note: no --weights: the model is evaluated with the weights {args.model_file.rsplit(':', 1)[1]}() gave it")
    name = args.name or default_name(args.model_file)
    model_id = slug(name)
    leaderboard_root = Path(args.leaderboard_dir) if args.leaderboard_dir else results_dir(args.results_dir) / "leaderboards"

    result = benchmark(
        model, dataset=args.dataset, suite=args.suite, n=args.n, sample_seed=args.sample_seed, device=args.device,
        penultimate=args.penultimate_layer, name=name, data_dir=args.data_dir, batch_size=args.batch_size,
        source=f"lpcbench evaluate --model-file {args.model_file}" + (f" --weights {args.weights}" if args.weights else ""),
    )
    if args.weights:
        from lpcbench.zoo.store import file_sha256

        result.provenance["weights_sha256"] = file_sha256(Path(args.weights))
    entry_path = leaderboard_root / args.dataset / f"submitted-{model_id}.json"
    write_entry(entry_path, result.entry())

    print(f"{name} on {args.dataset}, {result.deepfool.get('n', 'n/a')} test inputs (the zoo's seeded sample)")
    for note in result.provenance.get("contract_notes", []):
        print(f"note: {note}")
    _print_figures(result)
    for flag in result.flags:
        source = f" ({flag['attack']})" if flag.get("attack") else ""
        print(f"flag{source}: {flag.get('code')}: {flag.get('message')}")

    ranking = result.rank(leaderboard_root)
    print(ranking)

    out_dir = Path(args.out) if args.out else results_dir(args.results_dir) / "reports" / args.dataset / f"submitted-{model_id}"
    written = [entry_path] + _scatter(result, ranking.comparable, out_dir)
    print("written: " + ", ".join(str(path) for path in written))
    return 0


def default_name(spec: str) -> str:
    """Return a leaderboard name for a model spec: the file's stem, or the module's dotted name."""
    if Path(spec).is_file():  # a TorchScript archive
        return Path(spec).stem
    location = spec.rsplit(":", 1)[0]
    return Path(location).stem if location.endswith(".py") else location


def _print_figures(result) -> None:
    deepfool = result.deepfool
    clean = result.clean_acc.mean if result.clean_acc else None
    print(f"  clean accuracy                      {percent(clean)}")
    if deepfool:
        low, high = deepfool.get("ci95") or (None, None)
        interval = f" [{number(low)}, {number(high)}]" if low is not None else ""
        print(f"  DeepFool ||delta||/||x|| (estimate) {number(deepfool['relative_norm']['mean'])}{interval}, flipped {percent(deepfool['success_rate']['mean'])}")
    if result.best_known_minimum:
        best = result.best_known_minimum
        print(f"  best-known minimum (estimate)       {number(best['relative_norm']['mean'])} over {', '.join(best['attacks'])}")
    for robust in result.robust_accuracy:
        print(f"  {robust['attack']} {robust['norm']} eps {robust['eps']:.4g}: robust accuracy {percent(robust['robust_acc']['mean'])}")
    if result.latent:
        print(f"  z from {result.provenance['latent_source']}: R test {number(result.latent['separation_ratio_test']['mean'])}, "
              f"R train {number(result.latent['separation_ratio_train']['mean'])}, CV ||z|| {number(result.latent['norm_cv']['mean'])}")
    else:
        print(f"  latent metrics: empty, {result.provenance.get('latent_note')}")
    certificate = result.certificate or {}
    if "not_certifiable" in certificate:
        print(f"  certificate: none, {certificate['not_certifiable']}")
    else:
        print(f"  certificate (sound lower bound): median radius {number(certificate.get('median_radius'))}, "
              f"{number(certificate.get('median_radius_over_best_attack'))} of the best attack's norm, "
              f"Lipschitz bound of x -> z {number(certificate.get('lipschitz_bound'))}")


def _scatter(result, comparable: list, out_dir: Path) -> list[Path]:
    """Plot robustness against R for the comparable entries, with this model highlighted; return the files."""
    from lpcbench.report import correlation, plots

    def point(entry):
        r_test = entry.latent.get("separation_ratio_test", {}).get("mean")
        robustness = entry.deepfool.get("relative_norm", {}).get("mean")
        if r_test is None or robustness is None or r_test <= 0:
            return None
        return (entry.name, r_test, robustness)

    own = point(result)
    if own is None:
        print("note: no robustness-vs-R plot: this model has no R or no DeepFool figure")
        return []
    points = [p for p in (point(entry) for entry in comparable) if p is not None] + [own]
    if len(points) < 2:
        print("note: no robustness-vs-R plot: no comparable entry has R and a DeepFool figure")
        return []
    on_r = correlation([x for _, x, _ in points], [y for _, _, y in points])
    text = f"robustness vs R over {on_r.n} points, this model included: Pearson {number(on_r.pearson)}" + ("" if on_r.note is None else f" ({on_r.note})")
    return plots.robustness_vs_r(points, text, out_dir, highlight=own[0])
