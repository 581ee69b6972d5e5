import re

import pytest
import torch
from torch import nn

from lpcbench.certify import NotCertifiable, certified_radius
from lpcbench.certify.certificate import latent_margin
from lpcbench.evaluate.adapter import LatentAdapter, sequential_prefix
from lpcbench.evaluate.loading import ModelContractError


def linear_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 4), nn.Linear(4, 10)).eval()


@pytest.fixture()
def x():
    return torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def test_hooked_z_is_the_layer_output(x):
    model = linear_model()
    adapter = LatentAdapter(model, x, 10, penultimate="1")
    z, logits = adapter.features_and_logits(x)
    expected = x.flatten(1) @ model[1].weight.T + model[1].bias
    assert torch.allclose(z, expected, atol=1e-6)
    assert torch.equal(logits, model(x))
    assert adapter.latent_source == "layer 1 (forward hook)"
    assert adapter.classifier is model[2]
    assert adapter.certify_note is None


def test_certificate_of_a_linear_model_by_hand(x):
    # x -> z is z = A x + a: its Lipschitz constant is ||A||_2, and the radius is the latent margin over it.
    model = linear_model()
    adapter = LatentAdapter(model, x, 10, penultimate="1").eval()
    y = model(x).argmax(dim=1)
    certificate = certified_radius(adapter, x, y)
    z = (x.flatten(1) @ model[1].weight.T + model[1].bias).double()
    margin = latent_margin(z, y, model[2].weight.detach().double(), model[2].bias.detach().double())
    norm = torch.linalg.matrix_norm(model[1].weight.detach().double(), ord=2)
    assert torch.allclose(certificate.radius, margin / norm, rtol=1e-5)
    assert certificate.lipschitz_bound == pytest.approx(float(norm), rel=1e-6)


def test_nested_sequential_prefix(x):
    # The README's normalisation wrapper puts the network one level down.
    inner = linear_model()
    model = nn.Sequential(nn.Identity(), inner).eval()
    adapter = LatentAdapter(model, x, 10, penultimate="1.1")
    assert adapter.certify_note is None
    assert sequential_prefix(model, "1.1") == [model[0], inner[0], inner[1]]


class Custom(nn.Module):
    """A model with its own forward: z is known, but x -> z is not a chain of Sequential layers."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 4)
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        return self.head(self.body(x.flatten(1)))


def test_custom_forward_has_latents_but_no_certificate(x):
    adapter = LatentAdapter(Custom().eval(), x, 10, penultimate="body")
    assert adapter.features(x).shape == (8, 4)
    assert adapter.classifier is adapter.model.head
    assert "must run as a chain of nn.Sequential layers" in adapter.certify_note
    y = adapter(x).argmax(dim=1)
    with pytest.raises(NotCertifiable, match=r"the Lipschitz bound of x -> z is unavailable: x -> z must run as a chain"):
        certified_radius(adapter, x, y)


class NonLinearHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 4)
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x.flatten(1))))


def test_non_linear_head_not_certifiable(x):
    adapter = LatentAdapter(NonLinearHead().eval(), x, 10, penultimate="body")
    assert adapter.classifier_weight is None
    with pytest.raises(NotCertifiable, match=r"no nn.Linear\(4, 10\) maps z to the logits"):
        certified_radius(adapter, x, adapter(x).argmax(dim=1))


class WithFeatures(nn.Module):
    """The zoo's protocol without logits_from_features: features(x) returns z of shape (N, P)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 3)
        self.head = nn.Linear(3, 10)

    def features(self, x):
        return self.body(x.flatten(1))

    def forward(self, x):
        return self.head(self.features(x))


def test_features_method_taken(x):
    adapter = LatentAdapter(WithFeatures().eval(), x, 10)
    assert adapter.latent_source == "features(x) method"
    z, logits = adapter.features_and_logits(x)
    assert z.shape == (8, 3)
    assert adapter.classifier is adapter.model.head


class VggLike(nn.Module):
    """As in torchvision's VGG: ``features`` is a submodule returning feature maps."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(1, 2, 3, padding=1)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class MapsMethod(nn.Module):
    """``features`` is a method, but it returns feature maps."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.classifier = nn.Linear(128, 10)

    def features(self, x):
        return self.conv(x)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@pytest.mark.parametrize(
    "model,reason",
    [
        (nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), r"the model has no features\(x\) method and no --penultimate-layer was given"),
        (VggLike(), r"model.features is a submodule \(as in torchvision's VGG\)"),
        (MapsMethod(), r"model.features\(x\) returned \(8, 2, 8, 8\), not z of shape \(8, P\): it looks like feature maps"),
    ],
)
def test_no_latents_says_why(x, model, reason):
    adapter = LatentAdapter(model.eval(), x, 10)
    assert adapter.latent_source is None
    assert re.search(reason, adapter.latent_note)
    with pytest.raises(ModelContractError, match=r"this model has no latents"):
        adapter.features(x)


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.shared(self.shared(x.flatten(1))))


def test_hook_errors(x):
    with pytest.raises(ModelContractError, match=r"no layer named 'fc'; the model's layers are: 0, 1, 2"):
        LatentAdapter(linear_model(), x, 10, penultimate="fc")
    with pytest.raises(ModelContractError, match=r"layer 'shared' ran 2 times in one forward pass"):
        LatentAdapter(Twice().eval(), x, 10, penultimate="shared")
    wide = nn.Sequential(nn.Flatten(), nn.Linear(64, 9000), nn.Linear(9000, 10)).eval()
    with pytest.raises(ModelContractError, match=r"layer '1' gives 9000 features per input after flattening; the latent metrics need at most 8192"):
        LatentAdapter(wide, x, 10, penultimate="1")


class OddOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.pair = nn.LSTM(64, 4, batch_first=True)  # returns a tuple
        self.total = nn.Flatten(0)  # returns a 1-D tensor
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        flat = x.flatten(1)
        self.pair(flat[:, None])
        self.total(flat)
        return self.head(flat)


def test_hook_output_must_be_a_batch_tensor(x):
    with pytest.raises(ModelContractError, match=r"layer 'pair' returns a tuple, expected a tensor"):
        LatentAdapter(OddOutputs().eval(), x, 10, penultimate="pair")
    with pytest.raises(ModelContractError, match=r"layer 'total' returns shape \(512,\) for 8 inputs, expected \(8, ...\)"):
        LatentAdapter(OddOutputs().eval(), x, 10, penultimate="total")


def test_conv_layer_output_is_flattened(x):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(128, 10)).eval()
    adapter = LatentAdapter(model, x, 10, penultimate="0")
    assert adapter.features(x).shape == (8, 128)
    assert adapter.certify_note is None


class Scripted(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 3)
        self.head = nn.Linear(3, 10)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_torchscript_latents_through_exported_features(x):
    scripted = torch.jit.script(Scripted().eval())
    adapter = LatentAdapter(scripted, x, 10)
    assert adapter.latent_source == "features(x) method"
    assert adapter.features(x).shape == (8, 3)
    assert "TorchScript archive does not expose" in adapter.certify_note
    with pytest.raises(ModelContractError, match=r"forward hooks do not apply to a TorchScript archive"):
        LatentAdapter(scripted, x, 10, penultimate="body")
    plain = torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval())
    assert LatentAdapter(plain, x, 10).latent_note == "the model has no features(x) method and no --penultimate-layer was given"
