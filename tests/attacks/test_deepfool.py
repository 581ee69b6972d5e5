import math

import pytest
import torch
from torch import nn

from lpcbench.attacks import deepfool


def linear_model(weight, bias=None):
    """logits = W x + b on flattened inputs; weight (K, D)."""
    weight = torch.as_tensor(weight, dtype=torch.float32)
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.zeros(weight.shape[0]) if bias is None else torch.as_tensor(bias, dtype=torch.float32))
    return nn.Sequential(nn.Flatten(), layer)


def as_images(points):
    return torch.as_tensor(points, dtype=torch.float32).view(len(points), 1, 1, -1)


def test_binary_linear_exact_minimum():
    # f_1 - f_0 = (w_1 - w_0) . x + (b_1 - b_0) = (3, -4) . x - 1.0; x0 = (0.5, 0.5) gives -1.5.
    model = linear_model([[0.0, 0.0], [3.0, -4.0]], [0.0, -1.0])
    x = as_images([[0.5, 0.5]])
    result = deepfool(model, x, torch.tensor([0]), bounds=None, overshoot=0.02)
    exact = 1.5 / 5.0
    assert bool(result.success[0])
    assert float(result.perturbation_norm[0]) >= exact
    assert float(result.perturbation_norm[0]) <= exact * 1.02 + 1e-3
    assert int(result.iterations[0]) == 1


def test_multiclass_linear_nearest_boundary():
    weight = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    bias = torch.tensor([1.0, 0.0, 0.0])
    model = linear_model(weight, bias)
    x = as_images([[0.2, 0.3]])
    # distances to f_k = f_0: |f_k - f_0| / ||w_k - w_0||: class 1: 0.8/1, class 2: 0.4/2 = 0.2
    result = deepfool(model, x, torch.tensor([0]), bounds=None, overshoot=0.0)
    assert float(result.perturbation_norm[0]) == pytest.approx(0.2, abs=1e-3)
    assert int(model(result.x_adv).argmax()) == 2


def test_box_active_close_to_in_box_minimum():
    # f_1 - f_0 = (2, 1) . (x - x0) - 0.5 at x0 = (0.9, 0.5). Unconstrained step (0.2, 0.1) leaves the box;
    # in the box, coordinate 0 stops at 1 (+0.1) and coordinate 1 supplies the rest (+0.3): sqrt(0.1).
    model = linear_model([[0.0, 0.0], [2.0, 1.0]], [0.0, -(1.8 + 0.5) - 0.5])
    x = as_images([[0.9, 0.5]])
    result = deepfool(model, x, torch.tensor([0]), bounds=(0.0, 1.0))
    in_box_minimum = math.sqrt(0.1)
    assert bool(result.success[0])
    assert float(result.x_adv.min()) >= 0.0
    assert float(result.x_adv.max()) <= 1.0
    assert int(model(result.x_adv).argmax()) == 1
    assert float(result.perturbation_norm[0]) <= 1.15 * in_box_minimum
    assert float(result.perturbation_norm[0]) >= in_box_minimum - 1e-4


def test_misclassified_inputs_excluded():
    model = linear_model([[1.0, 0.0], [0.0, 1.0]])
    x = as_images([[0.9, 0.1], [0.9, 0.1]])
    result = deepfool(model, x, torch.tensor([0, 1]))
    assert result.misclassified.tolist() == [False, True]
    assert result.success.tolist() == [True, False]
    assert int(result.iterations[1]) == 0
    assert torch.equal(result.x_adv[1], x[1])
    assert result.failed.tolist() == [False, False]


def test_label_is_last_class():
    weight = torch.eye(4)
    model = linear_model(weight)
    x = as_images([[0.1, 0.2, 0.3, 0.9]])
    result = deepfool(model, x, torch.tensor([3]), bounds=None, overshoot=0.0)
    # nearest boundary: class 2, |0.3 - 0.9| / sqrt(2)
    assert float(result.perturbation_norm[0]) == pytest.approx(0.6 / math.sqrt(2.0), abs=1e-3)


def test_hundred_classes_match_brute_force():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(100, 12, generator=generator)
    bias = torch.randn(100, generator=generator)
    model = linear_model(weight, bias)
    x = torch.rand(6, 1, 1, 12, generator=generator)
    y = model(x).argmax(dim=1)
    result = deepfool(model, x, y, bounds=None, overshoot=0.0)
    flat = x.flatten(1)
    for i in range(6):
        logits = flat[i] @ weight.T + bias
        others = [k for k in range(100) if k != int(y[i])]
        exact = min(float((logits[int(y[i])] - logits[k]) / (weight[k] - weight[int(y[i])]).norm()) for k in others)
        assert float(result.perturbation_norm[i]) == pytest.approx(exact, rel=1e-3, abs=1e-3)
    assert bool(result.success.all())


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(),
        nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.BatchNorm2d(8), nn.SiLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )


def warmed_cnn(x):
    model = small_cnn()
    model.train()
    with torch.no_grad():
        model(x)  # give BatchNorm non-trivial running statistics
    return model


def test_batch_size_and_order_agree(digits):
    x, y = digits.test.x[:24], digits.test.y[:24]
    model = warmed_cnn(digits.train.x[:256]).eval()
    y = model(x).argmax(1)  # attack the model's own predictions so that every input is attacked
    whole = deepfool(model, x, y)
    halves = [deepfool(model, x[:12], y[:12]), deepfool(model, x[12:], y[12:])]
    order = torch.randperm(24, generator=torch.Generator().manual_seed(1))
    shuffled = deepfool(model, x[order], y[order])

    split_norms = torch.cat([h.relative_norm for h in halves])
    assert torch.allclose(whole.relative_norm, split_norms, rtol=1e-4, atol=1e-7)
    assert torch.allclose(whole.relative_norm[order], shuffled.relative_norm, rtol=1e-4, atol=1e-7)
    assert torch.equal(whole.success[order], shuffled.success)


def test_mode_and_batchnorm_restored(digits):
    model = warmed_cnn(digits.train.x[:256])
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    deepfool(model, digits.test.x[:8], digits.test.y[:8])
    assert model.training
    assert not model[1].training
    assert model[4].training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_perturbations_stay_in_bounds(digits):
    model = warmed_cnn(digits.train.x[:256]).eval()
    x = digits.test.x[:16]
    result = deepfool(model, x, model(x).argmax(1))
    assert float(result.x_adv.min()) >= 0.0
    assert float(result.x_adv.max()) <= 1.0
    assert bool(result.success.all())
    flipped = model(result.x_adv).argmax(1) != model(x).argmax(1)
    assert torch.equal(flipped, result.success)


def test_top_k_shortcut_recorded():
    generator = torch.Generator().manual_seed(0)
    model = linear_model(torch.randn(20, 6, generator=generator))
    x = torch.rand(4, 1, 1, 6, generator=generator)
    y = model(x).argmax(1)
    full = deepfool(model, x, y, bounds=None)
    top = deepfool(model, x, y, bounds=None, candidates=3)
    assert full.candidates is None
    assert top.candidates == 3
    # fewer candidates can only miss nearer boundaries
    assert bool((top.perturbation_norm >= full.perturbation_norm - 1e-6).all())


def test_unfinished_attacks_are_failures():
    model = linear_model([[0.0, 0.0], [1.0, 0.0]], [0.0, -100.0])
    x = as_images([[0.5, 0.5]])
    result = deepfool(model, x, torch.tensor([0]), bounds=(0.0, 1.0), steps=3)
    assert result.failed.tolist() == [True]
    assert result.success.tolist() == [False]
    assert float(result.x_adv.max()) <= 1.0


@pytest.mark.parametrize(
    "x,y,message",
    [
        (torch.rand(2, 1, 1, 2), torch.tensor([0.0, 1.0]), r"expected integer class labels, got dtype torch.float32"),
        (torch.rand(2, 1, 1, 2), torch.tensor([0, 2]), r"labels must lie in \[0, 1\] for a 2-class model, got \[0, 2\]"),
        (torch.rand(2, 1, 1, 2), torch.tensor([0]), r"expected labels y of shape \(2,\) to match x, got \(1,\)"),
        (torch.rand(2, 1, 1, 2) + 1.0, torch.tensor([0, 1]), r"inputs must lie in bounds \(0.0, 1.0\), got values in"),
        (torch.full((2, 1, 1, 2), float("nan")), torch.tensor([0, 1]), r"inputs contain NaN in 2 of 2 images"),
        (torch.rand(2), torch.tensor([0, 1]), r"expected x of shape \(N, C, H, W\) with N >= 1, got \(2,\)"),
    ],
)
def test_bad_input_rejected(x, y, message):
    with pytest.raises(ValueError, match=message):
        deepfool(linear_model([[1.0, 0.0], [0.0, 1.0]]), x, y)


def test_tuple_output_rejected():
    class TupleModel(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :2], None

    with pytest.raises(TypeError, match=r"the model returned tuple, expected a logits tensor of shape \(N, K\); wrap it"):
        deepfool(TupleModel(), torch.rand(2, 1, 1, 2), torch.tensor([0, 1]))


def test_bad_settings_rejected():
    model = linear_model([[1.0, 0.0], [0.0, 1.0]])
    x, y = torch.rand(1, 1, 1, 2), torch.tensor([0])
    with pytest.raises(ValueError, match=r"steps must be >= 1, got 0"):
        deepfool(model, x, y, steps=0)
    with pytest.raises(ValueError, match=r"candidates must be None or between 2 and 2 \(the number of classes\), got 5"):
        deepfool(model, x, y, candidates=5)
    with pytest.raises(ValueError, match=r"overshoot must be >= 0, got -0.1"):
        deepfool(model, x, y, overshoot=-0.1)


def test_paper_compat_measures_normalised_norms():
    from lpcbench.attacks import deepfool_paper_compat

    # Pixel-space minimum along (3, -4): 0.3. With std 0.5 the normalised perturbation is twice as long.
    model = linear_model([[0.0, 0.0], [3.0, -4.0]], [0.0, -1.0])
    x = as_images([[0.5, 0.5]])
    result = deepfool_paper_compat(model, x, torch.tensor([0]), mean=(0.5,), std=(0.5,), overshoot=0.0)
    assert result.mode == "paper-compat"
    assert result.space == "normalised"
    assert result.bounds is None
    assert result.candidates == 2
    assert float(result.perturbation_norm[0]) == pytest.approx(0.6, abs=2e-3)
    # (x - mean) / std is the zero vector here, so the relative norm divides by the 1e-12 floor
    assert float(result.relative_norm[0]) > 1e9


def test_paper_compat_does_not_clip():
    from lpcbench.attacks import deepfool_paper_compat

    model = linear_model([[0.0, 0.0], [1.0, 0.0]], [0.0, -1.5])
    x = as_images([[0.9, 0.5]])
    result = deepfool_paper_compat(model, x, torch.tensor([0]), mean=(0.0,), std=(1.0,))
    assert float(result.x_adv.max()) > 1.0
    assert bool(result.success[0])


def test_pinned_coordinates_frozen_when_clipping_stalls():
    # f_1 - f_0 = (5, 1) . x - 5.9 is -0.4 at x0 = (1, 0.5): coordinate 0 already sits at the upper bound,
    # so the in-box minimum moves coordinate 1 alone, by 0.4. Clipping keeps a fifth of the plain step.
    model = linear_model([[0.0, 0.0], [5.0, 1.0]], [0.0, -5.9])
    x = as_images([[1.0, 0.5]])
    result = deepfool(model, x, torch.tensor([0]), overshoot=0.0)
    assert bool(result.success[0])
    assert int(result.iterations[0]) <= 2
    assert float(result.perturbation_norm[0]) == pytest.approx(0.4, abs=1e-3)
    assert float(result.x_adv[0, 0, 0, 0]) == 1.0
