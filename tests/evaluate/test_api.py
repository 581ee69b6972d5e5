import pytest
import torch
from torch import nn

import lpcbench
from lpcbench.evaluate import ModelContractError
from lpcbench.evaluate.api import parameters_sha256, slug
from lpcbench.leaderboard import LeaderboardEntry, validate


def trained_mlp(digits, epochs: int = 30) -> nn.Sequential:
    """A small MLP trained with plain PyTorch on the digits training split, as a user would."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8), nn.Linear(8, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for start in range(0, len(digits.train), 64):
            x, y = digits.train.x[start : start + 64], digits.train.y[start : start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model


@pytest.fixture(scope="module")
def mlp_result(digits):
    model = trained_mlp(digits)
    return model, lpcbench.benchmark(model, n=30, penultimate="3", name="Tiny MLP", device="cpu")


def test_benchmark_measures_like_the_zoo(mlp_result):
    model, result = mlp_result
    assert model.training  # put back in the mode it was found in
    assert result.submitted
    assert result.model_id == "tiny-mlp"
    assert result.architecture == "Sequential"
    assert result.deepfool["n"] == 30
    assert result.clean_acc.mean > 0.8
    assert not result.unreliable
    assert result.deepfool["success_rate"]["mean"] == 1.0
    assert result.best_known_minimum["attacks"] == ["deepfool", "fmn"]
    assert result.latent["separation_ratio_test"]["mean"] > 0
    assert result.provenance["latent_source"] == "layer 3 (forward hook)"
    assert "switched to eval mode" in result.provenance["contract_notes"][0]
    # The certificate is a lower bound: never above the best attack's norm.
    assert result.certificate["violations"] == 0
    assert 0 < result.certificate["median_radius_over_best_attack"] <= 1
    validate(result.entry().to_dict())
    assert isinstance(result.entry(), LeaderboardEntry) and not isinstance(result.entry(), lpcbench.BenchmarkResult)


def test_rank_against_a_board(mlp_result, tmp_path):
    from lpcbench.leaderboard import write_entry

    _, result = mlp_result
    rival = result.entry()
    rival.model_id, rival.name, rival.submitted = "rival", "Rival", False
    rival.deepfool = dict(rival.deepfool, relative_norm={"mean": result.deepfool["relative_norm"]["mean"] * 2, "std": None, "n": 1})
    twin = result.entry()
    twin.model_id, twin.name = "twin", "Twin"  # the same weights under another name
    write_entry(tmp_path / "digits" / "twin.json", twin)
    rival.provenance = dict(rival.provenance, parameters_sha256="0" * 64)
    write_entry(tmp_path / "digits" / "rival.json", rival)
    ranking = result.rank(tmp_path)
    assert "1 entries left out: the same weights, submitted under another name" in ranking.notes
    assert ranking.compared == 1
    deepfool = {rank.column: rank for rank in ranking.ranks}["deepfool"]
    assert (deepfool.position, deepfool.of, deepfool.leader) == (2, 2, "Rival")
    assert "rank of this model among 2: itself and 1 comparable entries" in str(ranking)


def test_benchmark_without_latents(digits, tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()
    result = lpcbench.benchmark(model, n=10, suite="default", device="cpu")
    assert result.latent == {}
    # Untrained weights: the accuracy is near chance, so the entry is flagged as unreliable.
    assert result.unreliable
    assert [flag["code"] for flag in result.flags if "attack" not in flag] == ["near_chance_accuracy"]
    assert any(note.startswith("this entry is unreliable: clean accuracy") for note in result.rank(tmp_path).notes)
    assert result.deepfool["n"] == 10
    assert result.certificate["not_certifiable"] == "no latents: the model has no features(x) method and no --penultimate-layer was given"


def test_benchmark_bad_input(digits):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ModelContractError, match=r"expected a torch.nn.Module, got function"):
        lpcbench.benchmark(lambda x: x)
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist': expected one of digits"):
        lpcbench.benchmark(model, dataset="mnist")
    with pytest.raises(ModelContractError, match=r"expected logits of shape \(16, 10\) for this dataset, got \(16, 3\)"):
        lpcbench.benchmark(nn.Sequential(nn.Flatten(), nn.Linear(64, 3)), device="cpu")
    with pytest.raises(ModelContractError, match=r"the model failed on inputs of shape \(16, 1, 8, 8\) in \[0, 1\]"):
        lpcbench.benchmark(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), device="cpu")
    with pytest.raises(ModelContractError, match=r"no layer named 'fc1'"):
        lpcbench.benchmark(model, penultimate="fc1", device="cpu")


def test_slug_and_parameter_hash():
    assert slug("My Model v2 (ours)") == "my-model-v2-ours"
    with pytest.raises(ValueError, match=r"model name '\?\?' has no letter or digit"):
        slug("??")
    first, second = nn.Linear(2, 2), nn.Linear(2, 2)
    assert parameters_sha256(first) == parameters_sha256(first)
    assert parameters_sha256(first) != parameters_sha256(second)
    assert len(parameters_sha256(nn.BatchNorm1d(2))) == 64  # includes a 0-d buffer
