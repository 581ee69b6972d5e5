import pytest
import torch

from lpcbench.zoo.backbones import build_backbone
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.model import ZooModel
from lpcbench.zoo.registry import VARIANTS, get_variant
from lpcbench.zoo.store import build_model
from lpcbench.zoo.trainer import training_loss

INFO = {"input_shape": [1, 8, 8], "num_classes": 10, "mean": [0.3], "std": [0.4]}


@pytest.mark.parametrize("model_id", list(VARIANTS))
def test_variant_forward_backward(model_id):
    config = resolve_config(load_spec("digits"), model_id, seed=0, epochs=4, overrides={"backbone_width": 8})
    torch.manual_seed(0)
    model = build_model(config, INFO)
    x = torch.rand(6, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 0, 1, 2])

    loss, scores = training_loss(model, config, x, y, epoch=3)
    loss.backward()
    assert torch.isfinite(loss)
    assert scores.shape == (6, 10)
    assert all(p.grad is not None for p in model.classifier.parameters())

    model.eval()
    z = model.features(x)
    h = model.backbone_features(x)
    assert model(x).shape == (6, 10)
    assert h.shape == (6, model.backbone.out_features)
    expected_width = config.penultimate_width or model.backbone.out_features
    assert z.shape == (6, expected_width)
    if VARIANTS[model_id].penultimate == "none":
        assert torch.equal(z, h)


def test_widths_follow_spec():
    spec = load_spec("digits")
    for model_id, width in (("lpc", "intermediate"), ("lpc_wide", "wide"), ("lpc_narrow", "narrow")):
        assert resolve_config(spec, model_id, seed=0).penultimate_width == spec.widths[width]
    assert resolve_config(spec, "nopen", seed=0).penultimate_width is None


def test_classifier_has_no_bias():
    model = ZooModel(get_variant("lpc"), backbone="small_cnn", input_shape=(1, 8, 8), num_classes=10, penultimate_width=4, mean=[0.0], std=[1.0], backbone_width=8)
    assert model.classifier.bias is None
    assert model.classifier_weight.shape == (10, 4)


def test_logits_linear_in_z():
    model = ZooModel(get_variant("linpen"), backbone="small_cnn", input_shape=(1, 8, 8), num_classes=10, penultimate_width=4, mean=[0.0], std=[1.0], backbone_width=8).eval()
    x = torch.rand(3, 1, 8, 8)
    assert torch.allclose(model(x), model.features(x) @ model.classifier_weight.T)


def test_margin_head_logits_are_scaled_cosines():
    model = ZooModel(get_variant("arcface"), backbone="small_cnn", input_shape=(1, 8, 8), num_classes=10, penultimate_width=None, mean=[0.0], std=[1.0], backbone_width=8, eval_scale=64.0).eval()
    x = torch.rand(3, 1, 8, 8)
    z = model.features(x)
    cosines = torch.nn.functional.normalize(z, dim=1) @ torch.nn.functional.normalize(model.classifier.weight, dim=1).T
    assert torch.allclose(model(x), 64.0 * cosines, atol=1e-5)
    assert float(model(x).detach().abs().max()) <= 64.0 + 1e-4
    assert model.classifier_weight is None


def test_normalisation_inside_model():
    model = ZooModel(get_variant("nopen"), backbone="small_cnn", input_shape=(1, 8, 8), num_classes=10, penultimate_width=None, mean=[0.5], std=[0.25], backbone_width=8)
    x = torch.full((1, 1, 8, 8), 0.75)
    assert torch.allclose(model.normalize(x), torch.ones(1, 1, 8, 8))


@pytest.mark.parametrize("name,shape", [("resnet18", (3, 32, 32)), ("resnet50", (3, 32, 32)), ("small_cnn", (1, 28, 28))])
def test_backbone_widths(name, shape):
    backbone = build_backbone(name, shape, width=8)
    assert backbone.out_features == {"resnet18": 512, "resnet50": 2048, "small_cnn": 64}[name]
    assert isinstance(backbone.stem[2] if name != "small_cnn" else backbone.body[2], torch.nn.SiLU)


def test_resnet18_runs_on_cifar_shape():
    backbone = build_backbone("resnet18", (3, 32, 32)).eval()
    assert backbone(torch.rand(2, 3, 32, 32)).shape == (2, 512)


def test_unknown_backbone_rejected():
    with pytest.raises(ValueError, match=r"unknown backbone 'vgg': expected one of resnet18, resnet50, small_cnn"):
        build_backbone("vgg", (3, 32, 32))


def test_unknown_norm_rejected():
    with pytest.raises(ValueError, match=r"unknown normalisation 'layer': expected batch, group or none"):
        build_backbone("small_cnn", (1, 8, 8), norm="layer")


def test_penultimate_width_required():
    with pytest.raises(ValueError, match=r"variant 'lpc' needs a positive penultimate width, got None"):
        ZooModel(get_variant("lpc"), backbone="small_cnn", input_shape=(1, 8, 8), num_classes=10, penultimate_width=None, mean=[0.0], std=[1.0])
