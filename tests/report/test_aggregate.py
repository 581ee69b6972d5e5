import math

import pytest

from lpcbench.leaderboard import LeaderboardEntry, Statistic
from lpcbench.report.aggregate import aggregate, combine


def entry(seed, deepfool, r_test, model_id="lpc", **changes):
    values = dict(
        dataset="digits", model_id=model_id, name=model_id.upper(), architecture="small_cnn", seeds=[seed], aggregate=False,
        source="lpcbench zoo", clean_acc=Statistic(0.98),
        deepfool={"relative_norm": {"mean": deepfool, "std": None, "n": 1}, "measurement_space": "pixel", "mode": "standard"},
        latent={"separation_ratio_test": {"mean": r_test, "std": None, "n": 1}},
    )
    values.update(changes)
    return LeaderboardEntry(**values)


def test_combine_hand_values():
    result = combine([1.0, 2.0, 4.0])
    assert result.mean == pytest.approx(7.0 / 3.0)
    # sample std: sqrt(((1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2) / 2)
    assert result.std == pytest.approx(math.sqrt((16 / 9 + 1 / 9 + 25 / 9) / 2))
    assert result.n == 3


def test_one_seed_has_no_std():
    assert combine([0.5]).std is None


def test_aggregate_over_seeds():
    rows = aggregate([entry(0, 0.1, 10.0), entry(1, 0.3, 20.0), entry(0, 0.05, 3.0, model_id="nopen")])
    lpc = next(row for row in rows if row.model_id == "lpc")
    assert lpc.seeds == [0, 1]
    assert lpc.figures["deepfool"].mean == pytest.approx(0.2)
    assert lpc.figures["deepfool"].std == pytest.approx(math.sqrt(0.02))
    assert lpc.figures["R_test"].mean == pytest.approx(15.0)
    assert lpc.measurement == "pixel/standard"


def test_errors_kept_apart():
    rows = aggregate([entry(0, 0.1, 10.0), entry(1, 0.3, 20.0, error="RuntimeError: boom")])
    assert rows[0].seeds == [0]
    assert rows[0].figures["deepfool"].mean == pytest.approx(0.1)
    assert rows[0].errors == ["seeds [1]: RuntimeError: boom"]


def test_reported_aggregate_passes_through():
    reported = entry(0, 0.586, 1.0, reported=True, aggregate=True, seeds=[])
    reported.deepfool = {"relative_norm": {"mean": 0.586, "std": 0.175, "n": 5}, "measurement_space": "normalised", "mode": "paper-compat"}
    rows = aggregate([reported, entry(0, 0.2, 10.0)])
    kinds = {row.kind: row for row in rows}
    assert set(kinds) == {"reported", "measured"}
    assert kinds["reported"].figures["deepfool"].std == 0.175
    assert kinds["reported"].figures["deepfool"].n == 5
