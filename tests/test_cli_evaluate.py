import json
import re

import pytest
import torch

from lpcbench.cli import main

MODEL_FILE = '''
from torch import nn

def build_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4), nn.Linear(4, 10))

def build_wide():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
'''


@pytest.fixture()
def user_files(tmp_path):
    (tmp_path / "my_model.py").write_text(MODEL_FILE)
    torch.manual_seed(0)
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4), nn.Linear(4, 10))
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    return tmp_path


def evaluate(tmp_path, *extra):
    return main(["evaluate", "--n", "12", "--device", "cpu", "--leaderboard-dir", str(tmp_path / "board"), "--results-dir", str(tmp_path / "results"), *extra])


def test_evaluate_writes_a_submitted_entry_and_ranks(capsys, user_files):
    spec = f"{user_files / 'my_model.py'}:build_model"
    assert evaluate(user_files, "--model-file", spec, "--weights", str(user_files / "weights.pt"), "--penultimate-layer", "3", "--name", "First") == 0
    out = capsys.readouterr().out
    assert "note: the model was in train mode; it was switched to eval mode" in out
    assert "certificate (sound lower bound): median radius" in out
    assert "no comparable entries to rank against" in out
    entry = json.loads((user_files / "board" / "digits" / "submitted-first.json").read_text())
    assert entry["submitted"] is True
    assert entry["name"] == "First"
    assert len(entry["provenance"]["weights_sha256"]) == 64

    torch.manual_seed(1)  # the untrained weights that build_model() draws
    assert evaluate(user_files, "--model-file", spec, "--penultimate-layer", "1", "--name", "Second") == 0
    out = capsys.readouterr().out
    assert "note: no --weights: the model is evaluated with the weights build_model() gave it" in out
    assert "flag: near_chance_accuracy: clean accuracy" in out
    assert "rank of this model among 2: itself and 1 comparable entries" in out
    assert "DeepFool mean ||delta|| / ||x|| (higher first)" in out
    assert (user_files / "results" / "reports" / "digits" / "submitted-second" / "robustness_vs_R.png").is_file()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_evaluate_torchscript_archive(capsys, user_files):
    from torch import nn

    scripted = torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))
    scripted.save(str(user_files / "model.ts"))
    assert evaluate(user_files, "--model-file", str(user_files / "model.ts")) == 0
    out = capsys.readouterr().out
    assert "latent metrics: empty, the model has no features(x) method" in out
    assert json.loads((user_files / "board" / "digits" / "submitted-model.json").read_text())["architecture"].startswith("TorchScript")


def test_evaluate_bad_input(capsys, user_files):
    spec = f"{user_files / 'my_model.py'}:build_model"
    torch.save(torch.nn.Linear(2, 2), user_files / "pickled.pt")
    cases = [
        (["--model-file", str(user_files / "missing.py") + ":build_model"], r"error: model file .*missing.py not found"),
        (["--model-file", str(user_files / "weights.pt")], r"weights.pt is not a TorchScript archive: pass the code that builds the model"),
        (["--model-file", f"{user_files / 'my_model.py'}:build_wide", "--weights", str(user_files / "weights.pt")], r"do not match the model: unexpected 3.weight, 3.bias, 4.weight, 4.bias; wrong shape 1.weight \(16, 64\) vs \(10, 64\)"),
        (["--model-file", spec, "--weights", str(user_files / "pickled.pt")], r"cannot be read with torch.load\(weights_only=True\)"),
        (["--model-file", spec, "--penultimate-layer", "4x"], r"no layer named '4x'; close matches: 4"),
        (["--model-file", spec, "--dataset", "mnist"], r"unknown dataset 'mnist'"),
        (["--model-file", spec, "--n", "0"], r"--n must be a positive integer, got 0"),
    ]
    for arguments, message in cases:
        assert evaluate(user_files, *arguments) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert err.startswith("error: ")
        assert re.search(message, err), err
    assert not (user_files / "board").exists()  # nothing was written for the failed runs


def test_evaluate_module_spec_from_current_folder(capsys, user_files, monkeypatch):
    (user_files / "lpcbench_walk_models.py").write_text(MODEL_FILE)
    monkeypatch.chdir(user_files)
    assert evaluate(user_files, "--model-file", "lpcbench_walk_models:build_wide") == 0
    assert "lpcbench_walk_models on digits" in capsys.readouterr().out
    assert (user_files / "board" / "digits" / "submitted-lpcbench-walk-models.json").is_file()
