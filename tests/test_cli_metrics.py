import json
import re

import pytest

from lpcbench.cli import main


@pytest.fixture(scope="module")
def trained_zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    assert main(["train-zoo", "--models", "lpc,arcface", "--epochs", "2", "--no-progress", "--device", "cpu", "--zoo-dir", str(folder)]) == 0
    return folder


def test_metrics_table_and_file(capsys, trained_zoo, tmp_path):
    code = main(["metrics", "--model", "lpc", "--zoo-dir", str(trained_zoo), "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("lpc ")]
    assert [row.split()[2] for row in rows] == ["train", "test"]
    written = json.loads((tmp_path / "metrics" / "digits" / "lpc" / "seed0.json").read_text())
    assert written["test"]["separation_ratio"]["centroids_from"] == "given"
    assert written["train"]["separation_ratio"]["centroids_from"] == "same points"
    assert written["train"]["width"] == 16
    assert written["train"]["neural_collapse"]["nc3"] is not None


def test_metrics_margin_head_without_nc3(capsys, trained_zoo, tmp_path):
    code = main(["metrics", "--model", "arcface", "--split", "train", "--zoo-dir", str(trained_zoo), "--results-dir", str(tmp_path)])
    assert code == 0
    written = json.loads((tmp_path / "metrics" / "digits" / "arcface" / "seed0.json").read_text())
    assert written["train"]["neural_collapse"]["nc3"] is None
    assert "linear in z" in written["train"]["neural_collapse"]["note"]
    assert "test" not in written


def test_metrics_untrained_model(capsys, trained_zoo):
    code = main(["metrics", "--model", "nopen", "--zoo-dir", str(trained_zoo)])
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"error: no trained nopen on digits in .*: run 'lpcbench train-zoo", err)


def test_certify_table_and_file(capsys, trained_zoo, tmp_path):
    code = main(["certify", "--model", "all", "--n", "40", "--zoo-dir", str(trained_zoo), "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "a CERTIFICATE" in out
    assert re.search(r"arcface .*not certifiable: .*ArcFace/CosFace head", out)
    written = json.loads((tmp_path / "certify" / "digits" / "lpc" / "seed0.json").read_text())
    assert written["kind"] == "certificate"
    assert written["violations"] == 0
    assert all(entry.get("kind", "estimate") == "estimate" for entry in written["collapse_radius_estimate"])
    assert written["empirical_local_lipschitz"]["kind"] == "estimate"
    for radius, attack in zip(written["per_input"]["radius"], written["per_input"]["deepfool_norm"]):
        if attack is not None:
            assert radius <= attack
