import json
import re

import pytest

from lpcbench.cli import main


@pytest.fixture()
def zoo_dir(tmp_path, monkeypatch):
    folder = tmp_path / "zoo"
    monkeypatch.setenv("LPCBENCH_ZOO_DIR", str(folder))
    return folder


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train-zoo", "--models", "lpc,resnet"], r"error: unknown model id 'resnet': expected one of lpc, lpc_wide"),
        (["train-zoo", "--dataset", "imagenet"], r"error: unknown dataset 'imagenet': expected one of digits, fashion-mnist, cifar10, cifar100"),
        (["train-zoo", "--epochs", "-2"], r"error: --epochs must be a positive integer, got -2"),
        (["train-zoo", "--seeds", ","], r"error: empty seed list ',': expected"),
        (["train-zoo", "--lrs", "0"], r"error: learning rates must be > 0, got 0.0"),
        (["train-zoo", "--device", "tpu"], r"error: unknown device 'tpu': expected auto, cpu or cuda"),
        (["train-zoo", "--profile", "huge"], r"error: unknown profile 'huge' for digits"),
        (["zoo", "list", "--dataset", "imagenet"], r"error: unknown dataset 'imagenet'"),
    ],
)
def test_bad_arguments_fail_before_work(capsys, zoo_dir, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert re.search(message, err), err
    assert not zoo_dir.exists()


def test_invalid_gamma_in_spec_fails_before_work(capsys, zoo_dir, tmp_path):
    spec = (tmp_path / "spec.toml")
    from lpcbench.paths import spec_dir

    text = (spec_dir("zoo") / "digits.toml").read_text()
    spec.write_text(re.sub(r"(?m)^gamma_max = .*$", "gamma_max = -1.0", text, count=1))
    code, out, err = run(capsys, "train-zoo", "--spec", str(spec), "--models", "lpc", "--epochs", "1")
    assert code == 2
    assert "error: gamma_max must be > 0, got -1.0" in err
    assert not zoo_dir.exists()


def test_cuda_requested_without_cuda(capsys, zoo_dir, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    code, out, err = run(capsys, "train-zoo", "--device", "cuda")
    assert code == 2
    assert "error: device 'cuda' requested but CUDA is not available here; use --device cpu or auto" in err


def test_train_then_list(capsys, zoo_dir):
    code, out, err = run(capsys, "train-zoo", "--models", "nopen,lpc", "--epochs", "1", "--lrs", "1e-3,2e-3", "--no-progress", "--device", "cpu")
    assert code == 0, err
    assert "training 2 model(s) x 1 seed(s) x 2 learning rate(s) on digits" in out
    assert "R_train" in out
    selection = json.loads((zoo_dir / "digits" / "lpc" / "seed0.json").read_text())
    assert selection["selected_on"] == "validation accuracy"
    assert {c["lr"] for c in selection["candidates"]} == {1e-3, 2e-3}
    best_val = max(c["accuracy"]["val"] for c in selection["candidates"])
    assert selection["candidates"][[c["run"] for c in selection["candidates"]].index(selection["selected_run"])]["accuracy"]["val"] == best_val

    code, out, err = run(capsys, "train-zoo", "--models", "nopen", "--epochs", "1", "--lrs", "1e-3,2e-3", "--no-progress", "--device", "cpu")
    assert code == 0
    assert out.count("skipped") == 1

    code, out, err = run(capsys, "zoo", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "0 (" in lines["lpc"]
    assert lines["lpc_wide"].rstrip().endswith("none")
    assert len(lines) == 11


def test_zoo_list_empty(capsys, zoo_dir):
    code, out, err = run(capsys, "zoo", "list")
    assert code == 0
    rows = out.splitlines()[2:]
    assert len(rows) == 11
    assert all(row.rstrip().endswith("none") for row in rows)


def test_no_command_prints_help(capsys):
    code, out, err = run(capsys)
    assert code == 2
    assert "train-zoo" in out


def test_missing_dataset_is_an_error_line(capsys, zoo_dir, tmp_path, monkeypatch):
    from lpcbench.data import datasets

    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    code, out, err = run(capsys, "train-zoo", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "nothing"), "--models", "lpc")
    assert code == 2
    assert err.startswith("error: Fashion-MNIST not found: looked for the four IDX files")
    assert "Traceback" not in err
    assert not zoo_dir.exists()
