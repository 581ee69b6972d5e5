import math

import pytest
import torch
from torch.nn import functional as F

from lpcbench.zoo.losses import arcface_logits, cosface_logits, l2_penalty, supcon_loss


def test_cross_entropy_hand_value():
    # logits (0, ln 3) for label 1: p = 3/4, CE = -ln(3/4)
    logits = torch.tensor([[0.0, math.log(3.0)]])
    assert float(F.cross_entropy(logits, torch.tensor([1]))) == pytest.approx(-math.log(0.75), rel=1e-6)


def test_l2_sum_over_dims_mean_over_batch():
    z = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    # ||z_1||^2 = 5, ||z_2||^2 = 9, batch mean 7
    assert float(l2_penalty(z)) == pytest.approx(7.0)


def test_l2_mean_reduction_divides_by_width():
    z = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    assert float(l2_penalty(z, "mean")) == pytest.approx(3.5)


def test_l2_unknown_reduction():
    with pytest.raises(ValueError, match=r"unknown L2 reduction 'max': expected 'sum' or 'mean'"):
        l2_penalty(torch.ones(2, 2), "max")


def test_supcon_hand_value():
    # Three unit vectors: a and b (label 0) at 90 degrees, c (label 1) opposite to a.
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    t = 0.5
    # anchor a: positives {b}; s_ab = 0, s_ac = -1 -> -log(e^0 / (e^0 + e^-2))
    loss_a = -math.log(1.0 / (1.0 + math.exp(-2.0)))
    # anchor b: positives {a}; s_ba = 0, s_bc = 0 -> -log(1/2)
    loss_b = math.log(2.0)
    # anchor c has no positive and is left out
    expected = (loss_a + loss_b) / 2
    assert float(supcon_loss(h, labels, temperature=t)) == pytest.approx(expected, rel=1e-6)


def test_supcon_scale_invariant():
    h = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    assert float(supcon_loss(h, labels)) == pytest.approx(float(supcon_loss(3.0 * h, labels)), rel=1e-5)


def test_supcon_without_positives_is_zero_with_grad():
    h = torch.randn(3, 4, requires_grad=True)
    loss = supcon_loss(h, torch.tensor([0, 1, 2]))
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert h.grad is not None


def test_cosface_hand_value():
    cosines = torch.tensor([[0.5, 0.2]])
    logits = cosface_logits(cosines, torch.tensor([0]), margin=0.1, scale=10.0)
    assert torch.allclose(logits, torch.tensor([[4.0, 2.0]]))


def test_arcface_hand_value():
    theta = math.pi / 3
    cosines = torch.tensor([[math.cos(theta), 0.2]])
    logits = arcface_logits(cosines, torch.tensor([0]), margin=0.2, scale=16.0)
    assert float(logits[0, 0]) == pytest.approx(16.0 * math.cos(theta + 0.2), rel=1e-5)
    assert float(logits[0, 1]) == pytest.approx(16.0 * 0.2, rel=1e-6)


def test_arcface_past_pi_uses_linear_continuation():
    # theta close to pi: theta + m would pass pi
    cosine = -0.99
    logits = arcface_logits(torch.tensor([[cosine, 0.0]]), torch.tensor([0]), margin=0.5, scale=1.0)
    assert float(logits[0, 0]) == pytest.approx(cosine - 0.5 * math.sin(0.5), rel=1e-5)


def test_margins_lower_target_logit_only():
    cosines = torch.tensor([[0.3, 0.1, -0.2]])
    for fn in (arcface_logits, cosface_logits):
        logits = fn(cosines, torch.tensor([0]), margin=0.2, scale=1.0)
        assert float(logits[0, 0]) < 0.3
        assert torch.allclose(logits[0, 1:], cosines[0, 1:])
