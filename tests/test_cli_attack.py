import json

import pytest

from lpcbench.cli import main


@pytest.fixture(scope="module")
def trained_zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    code = main(["train-zoo", "--models", "nopen,lpc_narrow", "--epochs", "2", "--no-progress", "--device", "cpu", "--zoo-dir", str(folder)])
    assert code == 0
    return folder


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_deepfool_summary_and_files(capsys, trained_zoo, tmp_path):
    out = tmp_path / "nopen-deepfool.json"
    code, stdout, err = run(capsys, "attack", "--model", "nopen", "--attack", "deepfool", "--n", "40", "--zoo-dir", str(trained_zoo), "--out", str(out))
    assert code == 0, err
    assert "nopen seed 0 on digits: deepfool (lpcbench, l2, candidates all classes, pixel space)" in stdout
    assert "inputs 40 |" in stdout
    assert "an upper bound on the minimal perturbation, not a certificate" in stdout

    summary = json.loads(out.read_text())
    details = json.loads((tmp_path / "nopen-deepfool.per-input.json").read_text())
    assert summary["summary"]["n"] == 40
    assert len(summary["test_indices_sha256"]) == 64
    assert len(summary["weights_sha256"]) == 64
    assert summary["attack"]["candidates"] is None
    assert summary["attack"]["measurement_space"] == "pixel"
    assert len(details["index"]) == 40
    assert details["index"] == sorted(details["index"])
    attacked = [not m for m in details["misclassified"]]
    flipped = [s for s, a in zip(details["success"], attacked) if a]
    assert summary["summary"]["success_rate"] == pytest.approx(sum(flipped) / len(flipped))


def test_same_sample_for_every_model(capsys, trained_zoo, tmp_path):
    run(capsys, "attack", "--model", "nopen", "--attack", "deepfool", "--n", "30", "--zoo-dir", str(trained_zoo), "--out", str(tmp_path / "a.json"))
    run(capsys, "attack", "--model", "lpc_narrow", "--attack", "deepfool", "--n", "30", "--zoo-dir", str(trained_zoo), "--out", str(tmp_path / "b.json"))
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert a["test_indices_sha256"] == b["test_indices_sha256"]


def test_paper_compat_labelled(capsys, trained_zoo, tmp_path):
    code, stdout, err = run(capsys, "attack", "--model", "lpc_narrow", "--attack", "deepfool", "--paper-compat", "--n", "20", "--zoo-dir", str(trained_zoo), "--out", str(tmp_path / "c.json"))
    assert code == 0, err
    assert "PAPER-COMPAT" in stdout
    assert "normalised space" in stdout
    summary = json.loads((tmp_path / "c.json").read_text())
    assert summary["attack"]["mode"] == "paper-compat"
    assert summary["summary"]["averaged_over"].endswith("(paper-compat)")


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--attack", "pgd", "--norm", "l2", "--eps", "0.5"], "robust accuracy"),
        (["--attack", "fmn"], "fmn (foolbox, l2"),
        (["--attack", "autoattack", "--norm", "linf", "--eps", "8/255", "--n", "4"], "flipped by: apgd-ce"),
        (["--attack", "deepfool", "--backend", "torchattacks", "--n", "10"], "deepfool (torchattacks, l2"),
    ],
)
def test_other_attacks_run(capsys, trained_zoo, tmp_path, extra, expected):
    argv = ["attack", "--model", "nopen", "--n", "20", "--zoo-dir", str(trained_zoo), "--out", str(tmp_path / "r.json"), *extra]
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert expected in stdout


def test_n_larger_than_split_noted(capsys, trained_zoo, tmp_path):
    code, stdout, err = run(capsys, "attack", "--model", "nopen", "--attack", "deepfool", "--n", "5000", "--zoo-dir", str(trained_zoo), "--out", str(tmp_path / "d.json"))
    assert code == 0
    assert "note: --n 5000 is not smaller than the test split (360 inputs): using the whole split" in stdout


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--model", "nopen", "--attack", "cw"], r"error: unknown attack 'cw': expected one of deepfool, fmn, pgd, autoattack"),
        (["--model", "lpc", "--attack", "deepfool"], r"error: no trained lpc on digits in .*: run 'lpcbench train-zoo --dataset digits --models lpc' first"),
        (["--model", "nopen", "--attack", "deepfool", "--train-seed", "3"], r"error: no trained nopen seed 3 on digits"),
        (["--model", "nopen", "--attack", "pgd", "--eps", "big"], r"error: invalid eps 'big'"),
        (["--model", "nopen", "--attack", "deepfool", "--n", "0"], r"error: --n must be a positive integer, got 0"),
        (["--model", "resnet", "--attack", "deepfool"], r"error: unknown model id 'resnet'"),
    ],
)
def test_attack_errors(capsys, trained_zoo, argv, message):
    import re

    code, stdout, err = run(capsys, "attack", "--zoo-dir", str(trained_zoo), *argv)
    assert code == 2
    assert re.search(message, err), err


def test_best_known_minimum_over_two_attacks(capsys, trained_zoo, tmp_path):
    out = tmp_path / "m.json"
    code, stdout, err = run(capsys, "attack", "--model", "lpc_narrow", "--attack", "deepfool,fmn", "--n", "30", "--zoo-dir", str(trained_zoo), "--out", str(out))
    assert code == 0, err
    assert "best-known minimal perturbation over deepfool, fmn" in stdout
    best = json.loads((tmp_path / "best-known-minimum.json").read_text())
    deepfool_details = json.loads((tmp_path / "m-deepfool.per-input.json").read_text())
    fmn_details = json.loads((tmp_path / "m-fmn.per-input.json").read_text())
    for i, value in enumerate(best["per_input"]["relative_norm"]):
        candidates = [d["relative_norm"][i] for d in (deepfool_details, fmn_details) if d["success"][i]]
        if candidates:
            assert value == pytest.approx(min(candidates))
        else:
            assert value is None
    assert sum(best["summary"]["found_minimum"].values()) == best["summary"]["averaged"]
