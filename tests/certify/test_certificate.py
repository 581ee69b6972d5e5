import pytest
import torch
from torch import nn

from lpcbench.attacks import deepfool
from lpcbench.certify import NotCertifiable, certified_radius, collapse_radius_estimate, empirical_local_lipschitz, latent_margin
from lpcbench.zoo import store
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.trainer import train_run
from tests.conftest import TINY


class LinearClassifier(nn.Module):
    """f(x) = W x on flattened inputs: z = x, so L_z = 1."""

    def __init__(self, weight):
        super().__init__()
        self.classifier = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            self.classifier.weight.copy_(weight)

    def feature_extractor(self):
        return nn.Flatten()

    def features(self, x):
        return x.flatten(1)

    def forward(self, x):
        return self.classifier(self.features(x))

    @property
    def classifier_weight(self):
        return self.classifier.weight


def test_linear_classifier_radius_is_exact_minimum():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 6, generator=generator)
    model = LinearClassifier(weight).eval()
    x = torch.rand(8, 1, 2, 3, generator=generator)
    y = model(x).argmax(dim=1)
    certificate = certified_radius(model, x, y)
    assert certificate.lipschitz_bound == 1.0
    attack = deepfool(model, x, y, bounds=None, overshoot=0.0)
    flat = x.flatten(1).double()
    w = weight.double()
    for i in range(8):
        logits = flat[i] @ w.T
        exact = min(float((logits[y[i]] - logits[j]) / (w[y[i]] - w[j]).norm()) for j in range(5) if j != int(y[i]))
        assert float(certificate.radius[i]) == pytest.approx(exact, rel=1e-9)
        assert float(certificate.radius[i]) <= float(attack.perturbation_norm[i]) + 1e-6


def test_misclassified_gets_zero_radius():
    model = LinearClassifier(torch.tensor([[1.0, 0.0], [0.0, 1.0]])).eval()
    x = torch.tensor([[[[0.9, 0.1]]]])
    certificate = certified_radius(model, x, torch.tensor([1]))
    assert certificate.misclassified.tolist() == [True]
    assert float(certificate.radius[0]) == 0.0


def test_latent_margin_hand_value():
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    z = torch.tensor([[2.0, 1.0]], dtype=torch.float64)
    # f = (2, 1, -2); to class 1: 1 / sqrt(2); to class 2: 4 / 2
    assert float(latent_margin(z, torch.tensor([0]), weight)[0]) == pytest.approx(1 / 2**0.5)


@pytest.fixture(scope="module")
def trained_digits_model(tmp_path_factory, digits):
    config = resolve_config(load_spec("digits"), "lpc_narrow", seed=0, epochs=3, overrides=TINY)
    run_dir = tmp_path_factory.mktemp("run")
    train_run(config, digits, run_dir, progress=False)
    model, _ = store.load_model(run_dir)
    return model


def test_certified_radius_below_deepfool_on_trained_model(trained_digits_model, digits):
    x = digits.test.x[:80]
    y = trained_digits_model(x).argmax(dim=1)  # the model's own labels: every input is attacked
    certificate = certified_radius(trained_digits_model, x, y)
    attack = deepfool(trained_digits_model, x, y)
    both = ~certificate.misclassified & attack.success
    assert int(both.sum()) == 80
    assert bool((certificate.radius[both] <= attack.perturbation_norm[both]).all())
    assert certificate.lipschitz_bound > 0
    assert any("power_iteration" in layer for layer in certificate.layers)
    for layer in certificate.layers:
        if "power_iteration" in layer:
            assert layer["power_iteration"] <= layer["bound"] * (1 + 1e-6)


def test_estimates_labelled(trained_digits_model, digits):
    z = trained_digits_model.features(digits.train.x).detach()
    classes = collapse_radius_estimate(z, digits.train.y, trained_digits_model.classifier_weight.detach().double(), 10.0)
    assert len(classes) == 10
    assert all(entry["kind"] == "estimate" for entry in classes)
    local = empirical_local_lipschitz(trained_digits_model, digits.test.x[:4], digits.test.y[:4])
    assert local.shape == (4,)
    assert bool((local > 0).all())


def test_margin_head_not_certifiable(digits):
    config = resolve_config(load_spec("digits"), "arcface", seed=0, epochs=1, overrides=TINY)
    model = store.build_model(config, {"input_shape": [1, 8, 8], "num_classes": 10, "mean": [0.3], "std": [0.4]}).eval()
    with pytest.raises(NotCertifiable, match=r"not linear in z \(ArcFace/CosFace head\)"):
        certified_radius(model, digits.test.x[:2], digits.test.y[:2])


def test_train_mode_rejected():
    model = LinearClassifier(torch.eye(2))
    with pytest.raises(NotCertifiable, match=r"the model is in train mode; call model.eval\(\) first"):
        certified_radius(model, torch.rand(1, 1, 1, 2), torch.tensor([0]))
