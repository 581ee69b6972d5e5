import pytest
import torch

from lpcbench.attacks.suite import parse_eps, resolve_attack, run_attack
from tests.attacks.test_deepfool import linear_model


def test_resolve_reads_spec():
    settings = resolve_attack("deepfool")
    assert settings["backend"] == "lpcbench"
    assert settings["steps"] == 50
    assert settings["overshoot"] == 0.02
    assert settings["kind"] == "minimum-norm"
    assert resolve_attack("pgd", {"norm": "l2"})["spec"] == "pgd-l2.toml"
    assert resolve_attack("autoattack", {"eps": 0.1})["eps"] == 0.1


def test_unknown_attack_lists_valid():
    with pytest.raises(ValueError, match=r"unknown attack 'cw': expected one of deepfool, fmn, pgd, autoattack or a spec"):
        resolve_attack("cw")


def test_unknown_backend_lists_valid():
    with pytest.raises(ValueError, match=r"unknown backend 'art' for deepfool: expected one of lpcbench, foolbox, torchattacks"):
        resolve_attack("deepfool", {"backend": "art"})


def test_unknown_norm_lists_valid():
    with pytest.raises(ValueError, match=r"unknown norm 'linf' for deepfool: expected one of l2"):
        resolve_attack("deepfool", {"norm": "linf"})


def test_paper_compat_only_for_our_deepfool():
    with pytest.raises(ValueError, match=r"paper-compat mode exists only for lpcbench's DeepFool"):
        resolve_attack("deepfool", {"backend": "foolbox", "paper_compat": True})


def test_missing_spec_file(tmp_path):
    with pytest.raises(ValueError, match=r"attack spec .*nope.toml not found"):
        resolve_attack(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize("text,value", [("0.5", 0.5), ("8/255", 8 / 255)])
def test_parse_eps(text, value):
    assert parse_eps(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "1/0", "-0.1", "0"])
def test_parse_eps_rejects(text):
    with pytest.raises(ValueError, match=r"eps"):
        parse_eps(text)


def test_batches_agree_with_one_batch():
    generator = torch.Generator().manual_seed(0)
    model = linear_model(torch.randn(10, 16, generator=generator))
    x = torch.rand(30, 1, 4, 4, generator=generator)
    y = model(x).argmax(1)
    settings = resolve_attack("deepfool")
    whole = run_attack(settings, model, x, y, batch_size=30)
    split = run_attack(settings, model, x, y, batch_size=7)
    assert torch.allclose(whole.relative_norm, split.relative_norm, rtol=1e-4)
    assert whole.summary["relative_norm_mean"] == pytest.approx(split.summary["relative_norm_mean"], rel=1e-4)


def test_ours_matches_foolbox_on_linear_model():
    pytest.importorskip("foolbox")
    generator = torch.Generator().manual_seed(0)
    model = linear_model(torch.randn(10, 16, generator=generator))
    x = 0.25 + 0.5 * torch.rand(20, 1, 4, 4, generator=generator)
    y = model(x).argmax(1)
    ours = run_attack(resolve_attack("deepfool"), model, x, y)
    theirs = run_attack(resolve_attack("deepfool", {"backend": "foolbox"}), model, x, y)
    assert bool(ours.success.all())
    assert bool(theirs.success.all())
    # foolbox adds its 1e-4 step margin slightly differently: agreement to 2e-4 absolute.
    assert torch.allclose(ours.perturbation_norm, theirs.perturbation_norm, rtol=1e-3, atol=2e-4)
