import json
import re

from lpcbench.cli import main
from lpcbench.leaderboard import LeaderboardEntry, Statistic, write_entry


def hand_entry(model_id, seed, deepfool, r_test, error=None):
    return LeaderboardEntry(
        dataset="digits", model_id=model_id, name=model_id.upper(), architecture="small_cnn", seeds=[seed], aggregate=False,
        source="hand-written", clean_acc=Statistic(0.97),
        deepfool={"relative_norm": {"mean": deepfool, "std": None, "n": 1}, "success_rate": {"mean": 1.0, "std": None, "n": 1}, "measurement_space": "pixel", "mode": "standard"},
        latent={"separation_ratio_test": {"mean": r_test, "std": None, "n": 1}}, error=error,
    )


def test_report_from_hand_written_entries(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LPCBENCH_ZOO_DIR", str(tmp_path / "empty-zoo"))
    board = tmp_path / "board" / "digits"
    write_entry(board / "lpc-0.json", hand_entry("lpc", 0, 0.20, 10.0))
    write_entry(board / "lpc-1.json", hand_entry("lpc", 1, 0.30, 12.0))
    write_entry(board / "nopen-0.json", hand_entry("nopen", 0, 0.10, 3.0))
    write_entry(board / "linpen-0.json", hand_entry("linpen", 0, 0.12, 4.0))
    write_entry(board / "scl-0.json", hand_entry("scl", 0, 0.0, 1.0, error="RuntimeError: boom"))
    submitted = hand_entry("mine", 0, 0.15, 1.0)
    submitted.submitted, submitted.seeds, submitted.latent = True, [], {}
    submitted.provenance = {"latent_note": "the model has no features(x) method and no --penultimate-layer was given"}
    submitted.flags = [{"code": "unfinished", "attack": "fmn", "message": "2 correctly classified inputs were not flipped"}]
    write_entry(board / "submitted-mine.json", submitted)
    (board / "broken.json").write_text("{")
    out_dir = tmp_path / "report"

    code = main(["report", "--leaderboard-dir", str(tmp_path / "board"), "--out", str(out_dir), "--results-dir", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert code == 0
    lpc_row = next(line for line in out.splitlines() if line.startswith("LPC "))
    assert "0.25 +- 0.07071" in lpc_row
    assert "robustness vs R over 4 (model, seed) points" in out
    assert re.search(r"note: skipped .*broken.json: not valid JSON", out)
    assert "note: SCL: seeds [0]: RuntimeError: boom" in out
    assert "note: submitted models are not in the correlation" in out
    assert "note: MINE: flag unfinished (fmn): 2 correctly classified inputs were not flipped" in out
    assert "note: MINE: latent columns empty: the model has no features(x) method" in out
    mine_row = next(line for line in out.splitlines() if line.startswith("MINE "))
    assert re.match(r"MINE\s+submitted\s+-\s", mine_row)

    correlation = json.loads((out_dir / "correlation.json").read_text())
    assert correlation["on_R"]["n"] == 4
    assert correlation["on_R"]["pearson"] > 0.9
    for name in ("leaderboard.md", "leaderboard.html", "robustness_vs_R.png", "robustness_vs_R.svg", "robustness_accuracy_bars.png"):
        assert (out_dir / name).is_file(), name
    assert "sortBy" in (out_dir / "leaderboard.html").read_text()


def test_report_without_entries(capsys, tmp_path):
    code = main(["report", "--leaderboard-dir", str(tmp_path / "none"), "--results-dir", str(tmp_path)])
    assert code == 2
    assert "no leaderboard entries for digits in" in capsys.readouterr().err


def test_report_shows_paper_rows_for_cifar(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LPCBENCH_ZOO_DIR", str(tmp_path / "empty-zoo"))
    code = main(["report", "--dataset", "cifar10", "--include-reported", "--leaderboard-dir", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"LPC-NARROW\s+reported\s+5\s+normalised/paper-compat", out)
    assert "robustness vs R over 11 (model, seed) points" in out
