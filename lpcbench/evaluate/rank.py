"""Rank one model against the leaderboard, column by column, among entries measured the same way.

Only entries of the same dataset, test sample and attack settings are compared: a figure measured on
other inputs or with other attack settings is not comparable. Reported rows (a publication's
protocol) are left out for the same reason. The notes count the entries left out, by reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from lpcbench.leaderboard import LeaderboardEntry
from lpcbench.report.aggregate import Row, aggregate

# column -> (which direction ranks first, what the column measures). On the geometry columns lower
# means more collapsed, which the LPC paper (Sbailo and Ghiringhelli, 2025) links to robustness, so
# lower ranks first. DeepFool's
# flipped fraction is not ranked: it measures how complete the attack was, not how robust the model is.
COLUMNS = {
    "clean_acc": ("higher", "clean accuracy"),
    "deepfool": ("higher", "DeepFool mean ||delta|| / ||x||"),
    "best_known": ("higher", "best-known minimal perturbation"),
    "R_test": ("higher", "separation ratio R, test points"),
    "R_train": ("higher", "separation ratio R, training points"),
    "norm_cv": ("lower", "CV of ||z||"),
    "nc1": ("lower", "NC1 within-class variability"),
    "entropy": ("lower", "KL entropy of z per dimension"),
    "cert_ratio": ("higher", "median certified radius / best attack norm"),
}


@dataclass(frozen=True)
class Rank:
    """The position of one model on one column: ``position`` 1 is first, and ties share a position."""

    column: str
    description: str
    better: str  # "higher" or "lower"
    value: float | None
    position: int | None  # None when the model has no value in this column
    of: int  # rows with a value in this column, the model included
    leader: str | None  # name of the first row, when it is another model
    leader_value: float | None


def rank_row(target: Row, others: list[Row]) -> list[Rank]:
    """Rank ``target`` against ``others`` on every column of ``COLUMNS`` the target or the others have."""
    ranks = []
    for column, (better, description) in COLUMNS.items():
        values = [(row.name, row.figures[column].mean) for row in others if column in row.figures and row.figures[column].mean is not None]
        statistic = target.figures.get(column)
        value = None if statistic is None else statistic.mean
        if value is None and not values:
            continue
        sign = 1.0 if better == "higher" else -1.0
        leader = max(values, key=lambda item: sign * item[1], default=None)
        if value is None:
            ranks.append(Rank(column, description, better, None, None, len(values), *(leader or (None, None))))
            continue
        ahead = sum(1 for _, other in values if sign * other > sign * value)
        is_first = leader is None or sign * value >= sign * leader[1]
        ranks.append(Rank(column, description, better, value, 1 + ahead, len(values) + 1, None if is_first else leader[0], None if is_first else leader[1]))
    return ranks


def comparable_entries(entry: LeaderboardEntry, entries: list[LeaderboardEntry]) -> tuple[list[LeaderboardEntry], list[str]]:
    """Return the entries measured like ``entry`` and notes counting those left out, by reason.

    Attack settings are compared on every field ``entry`` recorded. The model's own earlier entries
    (same ``model_id``, submitted) are left out silently, so that a rerun does not rank against itself.
    Entries of the same weights under another name are left out with a note.
    """
    from lpcbench.bench import same_attacks

    sample = entry.provenance.get("test_indices_sha256")
    attacks = entry.provenance.get("attack_configs", [])
    comparable, left_out = [], {}

    def leave(reason: str) -> None:
        left_out[reason] = left_out.get(reason, 0) + 1

    weights = entry.provenance.get("parameters_sha256")
    for other in entries:
        if other.submitted and other.model_id == entry.model_id:
            continue
        if weights and other.provenance.get("parameters_sha256") == weights:
            leave("the same weights, submitted under another name")
            continue
        if other.dataset != entry.dataset:
            leave("another dataset")
        elif other.reported:
            leave("reported by a publication, with another protocol")
        elif other.error is not None:
            leave("failed when measured")
        elif other.provenance.get("test_indices_sha256") != sample:
            leave("measured on another test sample")
        elif not same_attacks(other.provenance.get("attack_configs", []), attacks):
            leave("measured with other attack settings")
        else:
            comparable.append(other)
    notes = [f"{count} entries left out: {reason}" for reason, count in sorted(left_out.items())]
    if not comparable:
        notes.append(
            "no comparable entries to rank against: train and bench the zoo first ('lpcbench train-zoo', then "
            "'lpcbench bench' with the same --n, --sample-seed and --suite)"
        )
    return comparable, notes


def rank_against(entry: LeaderboardEntry, comparable: list[LeaderboardEntry]) -> list[Rank]:
    """Rank ``entry`` against entries already known to be comparable, each side aggregated over seeds."""
    (target,) = aggregate([entry])
    return rank_row(target, aggregate(comparable))


def rank_entry(entry: LeaderboardEntry, entries: list[LeaderboardEntry]) -> tuple[list[Rank], list[str]]:
    """Rank ``entry`` against the comparable ones among ``entries``; return (ranks, notes)."""
    comparable, notes = comparable_entries(entry, entries)
    return rank_against(entry, comparable), notes


def format_ranks(ranks: list[Rank]) -> str:
    """Format the ranks as a fixed-width table, one line per column."""
    lines = [f"{'column':<58} {'value':>10}  {'rank':>8}  first (when another model)"]
    for rank in ranks:
        value = "n/a" if rank.value is None else f"{rank.value:.4g}"
        position = "n/a" if rank.position is None else f"{rank.position}/{rank.of}"
        leader = "" if rank.leader is None else f"{rank.leader} ({rank.leader_value:.4g})"
        lines.append(f"{rank.description + ' (' + rank.better + ' first)':<58} {value:>10}  {position:>8}  {leader}")
    return "\n".join(lines)
