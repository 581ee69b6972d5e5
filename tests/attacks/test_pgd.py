import pytest
import torch

from lpcbench.attacks.pgd import pgd
from tests.attacks.test_deepfool import as_images, linear_model

# f_1 - f_0 = (3, -4) . x - 1.0; at x0 = (0.5, 0.5) it is -1.5.
# Minimal Linf perturbation: 1.5 / ||w||_1 = 1.5 / 7; minimal L2: 1.5 / ||w||_2 = 0.3.
WEIGHT = [[0.0, 0.0], [3.0, -4.0]]
BIAS = [0.0, -1.0]


@pytest.mark.parametrize("norm,minimum", [("linf", 1.5 / 7.0), ("l2", 0.3)])
def test_linear_threshold(norm, minimum):
    model = linear_model(WEIGHT, BIAS)
    x, y = as_images([[0.5, 0.5]]), torch.tensor([0])
    above = pgd(model, x, y, norm=norm, eps=minimum * 1.05, steps=100)
    below = pgd(model, x, y, norm=norm, eps=minimum * 0.95, steps=100)
    assert above.success.tolist() == [True]
    assert below.success.tolist() == [False]


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_perturbation_inside_ball_and_box(norm, digits):
    torch.manual_seed(0)
    model = linear_model(torch.randn(10, 64))
    x, y = digits.test.x[:32], digits.test.y[:32]
    result = pgd(model, x.view(32, 1, 1, 64), y, norm=norm, eps=0.3)
    assert float(result.perturbation_norm.max()) <= 0.3 + 1e-5
    assert float(result.x_adv.min()) >= 0.0
    assert float(result.x_adv.max()) <= 1.0
    robust = (~result.success & ~result.misclassified).float().mean()
    clean = (~result.misclassified).float().mean()
    assert float(robust) <= float(clean)
    flipped = model(result.x_adv).argmax(1) != y
    assert bool(flipped[result.success].all())


def test_bad_settings():
    model = linear_model(WEIGHT, BIAS)
    x, y = as_images([[0.5, 0.5]]), torch.tensor([0])
    with pytest.raises(ValueError, match=r"unknown norm 'l1': expected one of l2, linf"):
        pgd(model, x, y, norm="l1", eps=0.1)
    with pytest.raises(ValueError, match=r"eps must be > 0, got 0"):
        pgd(model, x, y, norm="l2", eps=0)
    with pytest.raises(ValueError, match=r"steps and restarts must be >= 1, got 0 and 1"):
        pgd(model, x, y, norm="l2", eps=0.1, steps=0)
