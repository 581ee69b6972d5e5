import json

import pytest

from lpcbench.cli import main
from lpcbench.leaderboard import read_entries


@pytest.fixture()
def trained_zoo(tmp_path):
    folder = tmp_path / "zoo"
    assert main(["train-zoo", "--models", "nopen,lpc_narrow", "--epochs", "2", "--no-progress", "--device", "cpu", "--zoo-dir", str(folder)]) == 0
    return folder


def test_bench_writes_entries_and_records_failures(capsys, trained_zoo, tmp_path):
    selection = json.loads((trained_zoo / "digits" / "nopen" / "seed0.json").read_text())
    weights = trained_zoo / "digits" / "nopen" / selection["selected_run"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16] + b"\x00" * 16)  # the card's sha256 no longer matches

    board = tmp_path / "board"
    code = main(["bench", "--n", "20", "--no-progress", "--zoo-dir", str(trained_zoo), "--leaderboard-dir", str(board)])
    out = capsys.readouterr().out
    assert code == 1
    assert "2 entries written (1 with an error), 0 reused" in out

    entries, problems = read_entries(board)
    assert problems == []
    by_model = {entry.model_id: entry for entry in entries}
    assert "does not match its card" in by_model["nopen"].error
    good = by_model["lpc_narrow"]
    assert good.error is None
    assert good.deepfool["mode"] == "standard"
    assert good.deepfool["n"] == 20
    assert good.best_known_minimum["attacks"] == ["deepfool", "fmn"]
    assert good.latent["separation_ratio_test"]["mean"] > 0
    assert good.certificate["violations"] == 0
    assert len(good.provenance["weights_sha256"]) == 64
    assert good.clean_acc.mean <= 1.0


def test_bench_reuses_unchanged_results(capsys, trained_zoo, tmp_path):
    board = tmp_path / "board"
    argv = ["bench", "--models", "lpc_narrow", "--n", "10", "--no-progress", "--zoo-dir", str(trained_zoo), "--leaderboard-dir", str(board)]
    assert main(argv) == 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "0 entries written (0 with an error), 1 reused" in out
    changed = [("12" if value == "10" else value) for value in argv]  # another test sample
    assert main(changed) == 0
    assert "1 entries written" in capsys.readouterr().out


def test_bench_bad_suite(capsys, trained_zoo, tmp_path):
    code = main(["bench", "--suite", str(tmp_path / "none.toml"), "--zoo-dir", str(trained_zoo)])
    assert code == 2
    assert "attack suite" in capsys.readouterr().err
