"""Aggregate leaderboard entries over training seeds into leaderboard rows.

Each row is one (dataset, model, kind) with kind ``measured`` (lpcbench's zoo), ``reported`` (taken
from a publication) or ``submitted`` (a user's model). Figures are the mean and the sample standard
deviation (ddof = 1) over seeds, as in the LPC paper's tables; one seed gives a std of None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lpcbench.leaderboard import LeaderboardEntry, Statistic

# column name -> how to read it from an entry
COLUMNS = {
    "clean_acc": lambda e: e.clean_acc,
    "deepfool": lambda e: e.deepfool.get("relative_norm"),
    "deepfool_success": lambda e: e.deepfool.get("success_rate"),
    "best_known": lambda e: (e.best_known_minimum or {}).get("relative_norm"),
    "R_train": lambda e: e.latent.get("separation_ratio_train"),
    "R_test": lambda e: e.latent.get("separation_ratio_test"),
    "R": lambda e: e.latent.get("separation_ratio"),
    "sigma_w": lambda e: e.latent.get("sigma_w"),
    "norm_cv": lambda e: e.latent.get("norm_cv"),
    "entropy": lambda e: e.latent.get("kl_entropy_per_dim"),
    "nc1": lambda e: e.latent.get("nc1"),
    "cert_ratio": lambda e: None if not e.certificate or "median_radius_over_best_attack" not in e.certificate else {"mean": e.certificate["median_radius_over_best_attack"]},
}


@dataclass
class Row:
    """One leaderboard row: a model's figures aggregated over its seeds."""

    dataset: str
    model_id: str
    name: str
    kind: str  # measured, reported or submitted
    seeds: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # column -> Statistic
    measurement: str = ""  # e.g. "pixel/standard" or "normalised/paper-compat"
    errors: list = field(default_factory=list)
    flags: int = 0


def entry_kind(entry: LeaderboardEntry) -> str:
    if entry.reported:
        return "reported"
    return "submitted" if entry.submitted else "measured"


def aggregate(entries: list[LeaderboardEntry]) -> list[Row]:
    """Group entries by (dataset, model, kind) and aggregate every column over seeds.

    An aggregate entry (a publication's mean and std) passes through as it is. Entries with an
    ``error`` add to the row's ``errors`` and not to its figures.
    """
    groups: dict[tuple, list[LeaderboardEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.dataset, entry.model_id, entry_kind(entry)), []).append(entry)

    rows = []
    for (dataset, model_id, kind), members in sorted(groups.items()):
        good = [member for member in members if member.error is None]
        row = Row(dataset, model_id, members[0].name, kind)
        row.errors = [f"seeds {member.seeds}: {member.error}" for member in members if member.error]
        row.flags = sum(len(member.flags) for member in good)
        row.seeds = sorted(seed for member in good for seed in member.seeds)
        if good:
            deepfool = good[0].deepfool
            row.measurement = f"{deepfool.get('measurement_space', '?')}/{deepfool.get('mode', '?')}" if deepfool else ""
        for column, read in COLUMNS.items():
            values = [read(member) for member in good]
            values = [_as_statistic(value) for value in values if value is not None]
            if not values:
                continue
            if len(good) == 1 and good[0].aggregate:
                row.figures[column] = values[0]
            else:
                row.figures[column] = combine([value.mean for value in values])
        rows.append(row)
    return rows


def combine(values: list[float | None]) -> Statistic:
    """Return the mean and sample std (ddof = 1) of the finite values; None where there are none."""
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if not finite:
        return Statistic(None, None, len(values))
    mean = sum(finite) / len(finite)
    std = math.sqrt(sum((value - mean) ** 2 for value in finite) / (len(finite) - 1)) if len(finite) > 1 else None
    return Statistic(mean, std, len(finite))


def _as_statistic(value) -> Statistic:
    if isinstance(value, Statistic):
        return value
    return Statistic(value.get("mean"), value.get("std"), value.get("n", 1))
