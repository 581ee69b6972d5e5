import json

import pytest

from lpcbench.leaderboard import EntryError, LeaderboardEntry, Statistic, read_entries, validate, write_entry
from lpcbench.paths import spec_dir


def entry(**changes):
    values = dict(
        dataset="digits", model_id="lpc", name="LPC", architecture="small_cnn", seeds=[0], aggregate=False,
        source="lpcbench zoo", clean_acc=Statistic(0.98), latent={"separation_ratio": {"mean": 51.6, "std": None, "n": 1}},
    )
    values.update(changes)
    return LeaderboardEntry(**values)


def test_round_trip(tmp_path):
    original = entry(deepfool={"relative_norm": {"mean": 0.2, "std": None, "n": 1}, "measurement_space": "pixel", "mode": "standard"})
    write_entry(tmp_path / "e.json", original)
    entries, problems = read_entries(tmp_path)
    assert problems == []
    assert entries[0] == original


def test_nan_written_as_null(tmp_path):
    write_entry(tmp_path / "e.json", entry(latent={"separation_ratio": {"mean": float("nan"), "std": None, "n": 1}}))
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["latent"]["separation_ratio"]["mean"] is None


def test_accuracy_must_be_fraction(tmp_path):
    with pytest.raises(EntryError, match=r"invalid entry at clean_acc/mean: 98.0 is greater than the maximum of 1"):
        write_entry(tmp_path / "e.json", entry(clean_acc=Statistic(98.0)))
    assert not (tmp_path / "e.json").exists()


def test_older_schema_version_rejected():
    data = entry().to_dict()
    data["schema_version"] = 0
    with pytest.raises(EntryError, match=r"schema_version 0 is not supported: this lpcbench reads version 1"):
        validate(data)


def test_malformed_files_named_and_skipped(tmp_path):
    write_entry(tmp_path / "good.json", entry())
    (tmp_path / "broken.json").write_text("{not json")
    bad = entry().to_dict()
    bad["dataset"] = "imagenet"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    entries, problems = read_entries(tmp_path)
    assert len(entries) == 1
    assert any("broken.json: not valid JSON" in problem for problem in problems)
    assert any("bad.json: invalid entry at dataset" in problem for problem in problems)


def test_paper_reference_entries_valid():
    for dataset in ("cifar10", "cifar100"):
        entries, problems = read_entries(spec_dir("leaderboards") / dataset)
        assert problems == []
        assert len(entries) == 11
        assert all(e.reported and e.aggregate for e in entries)
        assert all(e.deepfool["mode"] == "paper-compat" for e in entries)
    lpc = LeaderboardEntry.from_dict(json.loads((spec_dir("leaderboards") / "cifar10" / "paper-lpc.json").read_text()))
    assert lpc.latent["separation_ratio"]["mean"] == 298.61
    assert lpc.deepfool["relative_norm"]["mean"] == 0.586
    assert lpc.clean_acc.mean == pytest.approx(0.9498)
    nopen = LeaderboardEntry.from_dict(json.loads((spec_dir("leaderboards") / "cifar100" / "paper-lpc_nopen.json").read_text()))
    assert nopen.latent["norm_cv"]["mean"] == 7.989
