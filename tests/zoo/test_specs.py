import pytest

from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.registry import VARIANTS


@pytest.mark.parametrize("dataset", ["digits", "fashion-mnist", "cifar10", "cifar100"])
def test_every_variant_resolves(dataset):
    spec = load_spec(dataset)
    for profile in spec.profiles:
        for model_id in VARIANTS:
            config = resolve_config(spec, model_id, seed=0, profile=profile)
            assert config.dataset == dataset


def test_paper_widths_cifar():
    assert load_spec("cifar10").widths == {"intermediate": 64, "wide": 128, "narrow": 16}
    assert load_spec("cifar100").widths == {"intermediate": 128, "wide": 256, "narrow": 32}


@pytest.mark.parametrize("dataset,backbone", [("cifar10", "resnet18"), ("cifar100", "resnet50")])
def test_paper_profile_recipe(dataset, backbone):
    config = resolve_config(load_spec(dataset), "lpc", seed=0, profile="paper")
    assert config.backbone == backbone
    assert config.epochs == 800
    assert config.gamma_max == 1e6
    assert config.gamma_step == 1.05
    assert (config.lr_decay_start, config.lr_decay_every) == (250, 50)
    assert config.weight_decay == 0.5e-4
    assert config.augment == "flip-crop"
