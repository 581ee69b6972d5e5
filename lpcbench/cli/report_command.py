"""The report command: the leaderboard table, the robustness-vs-R correlation and the plots."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from lpcbench.cli.common import check_dataset, resolve_zoo_dir


def report_command(args: argparse.Namespace) -> int:
    from lpcbench.io import atomic_write, write_json
    from lpcbench.leaderboard import read_entries
    from lpcbench.paths import results_dir, spec_dir
    from lpcbench.report import correlation, plots
    from lpcbench.report.aggregate import aggregate
    from lpcbench.report.render import html_page, markdown_table, terminal_table

    check_dataset(args.dataset)
    user_root = Path(args.leaderboard_dir) if args.leaderboard_dir else results_dir(args.results_dir) / "leaderboards"
    folders = [spec_dir("leaderboards") / args.dataset, user_root / args.dataset]
    entries, problems = [], []
    for folder in folders:
        if folder.is_dir():
            found, skipped = read_entries(folder)
            entries += found
            problems += skipped
    other = [entry for entry in entries if entry.dataset != args.dataset]
    entries = [entry for entry in entries if entry.dataset == args.dataset]
    notes = [f"skipped {problem}" for problem in problems]
    if other:
        notes.append(f"ignored {len(other)} entries of other datasets found in the {args.dataset} folders")
    if not entries:
        raise ValueError(f"no leaderboard entries for {args.dataset} in {', '.join(str(f) for f in folders)}: run 'lpcbench bench --dataset {args.dataset}' first")

    rows = aggregate(entries)
    out_dir = Path(args.out) if args.out else results_dir(args.results_dir) / "reports" / args.dataset
    print(f"leaderboard for {args.dataset} (mean +- sample std over seeds; measured rows by lpcbench, reported rows from publications)")
    print(terminal_table(rows))
    for row in rows:
        for error in row.errors:
            notes.append(f"{row.name}: {error}")
    for entry in entries:
        for flag in entry.flags:
            seeds = f" seed {', '.join(map(str, entry.seeds))}" if entry.seeds else ""
            source = f" ({flag['attack']})" if flag.get("attack") else ""
            notes.append(f"{entry.name}{seeds}: flag {flag.get('code')}{source}: {flag.get('message')}")
        if entry.submitted and entry.error is None and not entry.latent:
            notes.append(f"{entry.name}: latent columns empty: {entry.provenance.get('latent_note', 'no latents were measured')}")

    # One point per zoo (model, seed) measured here. Reported rows join only on request, because their robustness
    # comes from another measurement protocol; submitted models stay out, since they are other architectures.
    points = [
        (entry.name, entry.latent["separation_ratio_test"]["mean"], entry.deepfool["relative_norm"]["mean"])
        for entry in entries
        if entry.error is None and not entry.reported and not entry.submitted and entry.latent.get("separation_ratio_test") and entry.deepfool.get("relative_norm")
    ]
    if args.include_reported:
        points += [(entry.name + " (paper)", entry.latent["separation_ratio"]["mean"], entry.deepfool["relative_norm"]["mean"]) for entry in entries if entry.reported and entry.latent.get("separation_ratio")]
    points = [(name, x, y) for name, x, y in points if x is not None and y is not None and x > 0]
    if any(entry.submitted for entry in entries):
        notes.append("submitted models are not in the correlation: it is over the zoo's models ('lpcbench evaluate' plots a model against them)")
    on_r = correlation([x for _, x, _ in points], [y for _, _, y in points])
    on_log_r = correlation([math.log(x) for _, x, _ in points], [y for _, _, y in points])
    correlation_text = _correlation_line(on_r, on_log_r)
    print(correlation_text)
    write_json(out_dir / "correlation.json", {"points": [{"model": n, "R_test": x, "deepfool": y} for n, x, y in points], "on_R": _as_dict(on_r), "on_log_R": _as_dict(on_log_r), "reported_included": args.include_reported})

    written = []
    markdown = markdown_table(rows) + "\n" + correlation_text + "\n" + "".join(f"\n- {note}" for note in notes) + "\n"
    atomic_write(out_dir / "leaderboard.md", lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    page = html_page(rows, f"lpcbench leaderboard: {args.dataset}", [correlation_text, *notes])
    atomic_write(out_dir / "leaderboard.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    written += [out_dir / "leaderboard.md", out_dir / "leaderboard.html", out_dir / "correlation.json"]

    if len(points) >= 2:
        written += plots.robustness_vs_r(points, correlation_text, out_dir)
    measured = [row for row in rows if row.kind != "reported" and "deepfool" in row.figures]
    if measured:
        written += plots.bars(
            [row.name for row in measured],
            [(row.figures["deepfool"].mean, row.figures["deepfool"].std) for row in measured],
            [(row.figures["clean_acc"].mean, row.figures["clean_acc"].std) if "clean_acc" in row.figures else (None, None) for row in measured],
            out_dir,
            flipped=[row.figures["deepfool_success"].mean if "deepfool_success" in row.figures else None for row in measured],
        )
    written += _latent_plot(args, out_dir, notes)
    written += _certified_plot(args, out_dir, notes)

    for note in notes:
        print(f"note: {note}")
    print("written: " + ", ".join(str(path) for path in written))
    return 0


def _correlation_line(on_r, on_log_r) -> str:
    def describe(result, label):
        if result.pearson is None:
            return f"{label}: undefined ({result.note})"
        return (
            f"{label}: Pearson {result.pearson:.3f} [{result.pearson_ci95[0]:.3f}, {result.pearson_ci95[1]:.3f}], "
            f"Spearman {result.spearman:.3f} [{result.spearman_ci95[0]:.3f}, {result.spearman_ci95[1]:.3f}]"
            if result.pearson_ci95 else f"{label}: Pearson {result.pearson:.3f}, Spearman {result.spearman:.3f} (no interval: {result.note})"
        )

    return f"robustness vs R over {on_r.n} (model, seed) points, 95% bootstrap intervals. " + describe(on_r, "R") + "; " + describe(on_log_r, "log R")


def _as_dict(result) -> dict:
    return {"pearson": result.pearson, "spearman": result.spearman, "pearson_ci95": result.pearson_ci95, "spearman_ci95": result.spearman_ci95, "n": result.n, "note": result.note}


def _latent_plot(args, out_dir: Path, notes: list[str]) -> list[Path]:
    from lpcbench.bench import latents
    from lpcbench.cli.common import selected_records
    from lpcbench.data import load_dataset
    from lpcbench.report import plots
    from lpcbench.zoo import store

    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    records = selected_records(zoo_dir, args.dataset, args.latent_model, None)
    if not records:
        notes.append(f"no latent histograms: {args.latent_model} is not trained in {zoo_dir}")
        return []
    model, _ = store.load_model(Path(zoo_dir) / args.dataset / args.latent_model / records[0]["selected_run"])
    z, _ = latents(model, load_dataset(args.dataset, args.data_dir).train)
    return plots.latent_histograms(z.numpy(), args.latent_model, out_dir)


def _certified_plot(args, out_dir: Path, notes: list[str]) -> list[Path]:
    import numpy as np

    from lpcbench.paths import results_dir
    from lpcbench.report import plots

    radius, attack = [], []
    for path in sorted((results_dir(args.results_dir) / "certify" / args.dataset).glob("*/seed*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for r, a in zip(data["per_input"]["radius"], data["per_input"]["deepfool_norm"]):
            if a is not None and r > 0:
                radius.append(r)
                attack.append(a)
    if not radius:
        notes.append("no certified-vs-attack plot: it needs the per-input radii of 'lpcbench certify --model all' (bench keeps only their summary)")
        return []
    above = sum(r > a for r, a in zip(radius, attack))
    if above:
        notes.append(f"BUG: {above} inputs have a certified radius above DeepFool's norm")
    return plots.certified_vs_attack(np.array(radius), np.array(attack), out_dir)



