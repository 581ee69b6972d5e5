"""Plots of the report, written as PNG and SVG with matplotlib's non-interactive backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(figure, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    for path in paths:
        figure.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(figure)
    return paths


def robustness_vs_r(points: list[tuple[str, float, float]], correlation_text: str, out_dir: Path, highlight: str | None = None) -> list[Path]:
    """Scatter of DeepFool robustness against R (log scale), one point per (model, seed), with a fit on log R."""
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    names = sorted({name for name, _, _ in points})
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(names), 2)))
    for colour, name in zip(colours, names):
        xs = [x for n, x, _ in points if n == name]
        ys = [y for n, _, y in points if n == name]
        if name == highlight:
            axes.scatter(xs, ys, label=name, color="red", marker="*", s=220, edgecolors="black", zorder=3)
        else:
            axes.scatter(xs, ys, label=name, color=colour, s=36)
    xs = np.array([x for _, x, _ in points])
    ys = np.array([y for _, _, y in points])
    if len(points) >= 2 and np.ptp(np.log(xs)) > 0:
        slope, intercept = np.polyfit(np.log(xs), ys, 1)
        grid = np.geomspace(xs.min(), xs.max(), 100)
        axes.plot(grid, slope * np.log(grid) + intercept, color="grey", linestyle="--", label="fit on log R")
    axes.set_xscale("log")
    axes.set_xlabel("separation ratio R (test points, training centroids; log scale)")
    axes.set_ylabel("DeepFool robustness ||delta|| / ||x|| (pixel space)")
    wrapped = correlation_text.replace(". R:", ".\nR:").replace("; log R:", "\nlog R:")
    axes.set_title(f"Robustness vs R\n{wrapped}", fontsize=8)
    axes.legend(fontsize=7, ncol=2)
    return save(figure, out_dir, "robustness_vs_R")


def bars(names: list[str], robustness: list[tuple], accuracy: list[tuple], out_dir: Path, flipped: list | None = None) -> list[Path]:
    """Bars of robustness and clean accuracy per model, mean with std error bars (none for one seed).

    ``flipped`` (DeepFool's success rate per model) marks bars whose mean covers only part of the
    inputs: the failures are not in it, which can make a model look less robust than it is.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    positions = np.arange(len(names))
    for axes, values, label in ((left, robustness, "DeepFool ||delta|| / ||x||"), (right, accuracy, "clean accuracy")):
        means = [mean if mean is not None else np.nan for mean, _ in values]
        errors = [std if std is not None else 0.0 for _, std in values]
        axes.bar(positions, means, yerr=errors, capsize=3, color="#4c72b0")
        axes.set_xticks(positions, names, rotation=45, ha="right")
        axes.set_ylabel(label)
    for position, rate, (mean, _) in zip(positions, flipped or [], robustness):
        if rate is not None and mean is not None and rate < 0.999:
            left.annotate(f"{rate:.0%} flipped", (position, mean), ha="center", va="bottom", fontsize=7, color="#c44e52", rotation=90)
    right.set_ylim(min(0.9, np.nanmin([m for m, _ in accuracy if m is not None] or [0.9])), 1.0)
    left.set_title("Robustness per model (mean +- std over seeds)")
    right.set_title("Clean accuracy per model")
    return save(figure, out_dir, "robustness_accuracy_bars")


def latent_histograms(z: np.ndarray, name: str, out_dir: Path, nodes: int = 8) -> list[Path]:
    """Histograms of the first ``nodes`` penultimate nodes (Fig. 2 style) and of ||z||."""
    count = min(nodes, z.shape[1])
    figure, axes = plt.subplots(1, count + 1, figsize=(2.2 * (count + 1), 2.6))
    for node in range(count):
        axes[node].hist(z[:, node], bins=60, color="#55a868")
        axes[node].set_title(f"node {node}", fontsize=8)
        axes[node].tick_params(labelsize=6)
    axes[-1].hist(np.linalg.norm(z, axis=1), bins=60, color="#c44e52")
    axes[-1].set_title("||z||", fontsize=8)
    axes[-1].tick_params(labelsize=6)
    figure.suptitle(f"{name}: penultimate latents on training points", fontsize=9, y=1.06)
    return save(figure, out_dir, f"latents_{name}")


def certified_vs_attack(radius: np.ndarray, attack: np.ndarray, out_dir: Path) -> list[Path]:
    """Certified radius against the attack's norm per input; a point above the diagonal would be a bug."""
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.scatter(attack, radius, s=8)
    low = float(min(radius.min(), attack.min()))
    high = float(max(radius.max(), attack.max()))
    axes.plot([low, high], [low, high], color="grey", linestyle="--", label="certified = attack")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("DeepFool perturbation norm (upper bound)")
    axes.set_ylabel("certified radius (lower bound)")
    axes.legend(fontsize=8)
    axes.set_title("Every point must lie on or below the diagonal", fontsize=9)
    return save(figure, out_dir, "certified_vs_attack")
