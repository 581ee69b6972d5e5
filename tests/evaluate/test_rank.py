import pytest

from lpcbench.evaluate.rank import comparable_entries, format_ranks, rank_entry
from lpcbench.leaderboard import LeaderboardEntry, Statistic

ATTACKS = [{"attack": "deepfool", "steps": 50, "spec": "deepfool.toml"}]


def entry(model_id, deepfool, *, seed=0, nc1=None, sample="s1", attacks=ATTACKS, **kinds):
    built = LeaderboardEntry(
        dataset="digits", model_id=model_id, name=model_id.upper(), architecture="test", seeds=[seed], aggregate=False, source="test", **kinds
    )
    built.clean_acc = Statistic(0.9)
    built.deepfool = {"relative_norm": {"mean": deepfool, "std": None, "n": 1}}
    if nc1 is not None:
        built.latent = {"nc1": {"mean": nc1, "std": None, "n": 1}}
    built.provenance = {"test_indices_sha256": sample, "attack_configs": [dict(a, bounds=[0.0, 1.0]) for a in attacks]}
    return built


def by_column(ranks):
    return {rank.column: rank for rank in ranks}


def test_positions_ties_and_direction():
    mine = entry("mine", 0.15, nc1=0.5, submitted=True)
    board = [entry("a", 0.2, nc1=0.1), entry("b", 0.1, nc1=0.9), entry("c", 0.15, nc1=0.5)]
    ranks, notes = rank_entry(mine, board)
    deepfool, nc1, accuracy = (by_column(ranks)[key] for key in ("deepfool", "nc1", "clean_acc"))
    assert (deepfool.position, deepfool.of, deepfool.leader, deepfool.leader_value) == (2, 4, "A", 0.2)  # tie with C
    assert (nc1.position, nc1.of, nc1.better, nc1.leader) == (2, 4, "lower", "A")  # lower NC1 ranks first
    assert (accuracy.position, accuracy.of, accuracy.leader) == (1, 4, None)  # all tied at the top
    assert notes == []


def test_seeds_are_averaged_before_ranking():
    mine = entry("mine", 0.16, submitted=True)
    board = [entry("a", 0.1, seed=0), entry("a", 0.3, seed=1), entry("b", 0.17)]
    deepfool = by_column(rank_entry(mine, board)[0])["deepfool"]
    assert (deepfool.position, deepfool.of, deepfool.leader, deepfool.leader_value) == (3, 3, "A", pytest.approx(0.2))


def test_incomparable_entries_left_out_with_reasons():
    mine = entry("mine", 0.15, submitted=True)
    failed = entry("f", 0.9)
    failed.error = "RuntimeError: boom"
    board = [
        entry("a", 0.2),
        entry("mine", 0.5, submitted=True),  # an earlier run of the same model: left out silently
        entry("p", 9.0, reported=True),
        entry("s", 0.9, sample="s2"),
        entry("t", 0.9, attacks=[{"attack": "deepfool", "steps": 10, "spec": "deepfool.toml"}]),
        failed,
    ]
    comparable, notes = comparable_entries(mine, board)
    assert [e.model_id for e in comparable] == ["a"]
    assert notes == [
        "1 entries left out: failed when measured",
        "1 entries left out: measured on another test sample",
        "1 entries left out: measured with other attack settings",
        "1 entries left out: reported by a publication, with another protocol",
    ]
    assert by_column(rank_entry(mine, board)[0])["deepfool"].position == 2


def test_missing_value_and_empty_board():
    mine = entry("mine", 0.15, submitted=True)
    nc1 = by_column(rank_entry(mine, [entry("a", 0.2, nc1=0.1)])[0])["nc1"]
    assert (nc1.value, nc1.position, nc1.of, nc1.leader) == (None, None, 1, "A")
    ranks, notes = rank_entry(mine, [])
    assert by_column(ranks)["deepfool"].position == 1
    assert notes[-1].startswith("no comparable entries to rank against")
    text = format_ranks(ranks)
    assert "DeepFool mean ||delta|| / ||x|| (higher first)" in text
    assert "1/1" in text
