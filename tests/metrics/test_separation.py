import math

import pytest
import torch

from lpcbench.metrics import class_centroids, separation_ratio


def test_hand_computed_ratio():
    # class 0 at (0, +-1) -> centroid (0, 0); class 1 at (10, +-1) -> centroid (10, 0)
    z = torch.tensor([[0.0, 1.0], [0.0, -1.0], [10.0, 1.0], [10.0, -1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    result = separation_ratio(z, labels)
    # each point: own distance 1, other distance sqrt(100 + 1)
    assert result.value == pytest.approx(math.sqrt(101.0))
    assert result.n == 4
    assert result.n_on_centroid == 0
    assert result.spread_over_radius == pytest.approx(1.0 / 5.0)  # mean own distance 1, mean centroid norm (0 + 10) / 2


def test_point_on_centroid_counted_not_averaged():
    z = torch.tensor([[0.0, 0.0], [10.0, 1.0], [10.0, -1.0]])
    labels = torch.tensor([0, 1, 1])
    result = separation_ratio(z, labels)
    assert result.n_on_centroid == 1
    assert result.n == 2
    assert result.value == pytest.approx(math.sqrt(101.0))


def test_all_collapsed_gives_none():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    result = separation_ratio(z, torch.tensor([0, 0, 1]))
    assert result.value is None
    assert result.n_on_centroid == 3


def test_given_centroids_used():
    centroids = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    z = torch.tensor([[1.0, 0.0]])
    result = separation_ratio(z, torch.tensor([0]), centroids)
    assert result.value == pytest.approx(3.0)
    assert result.centroids_from == "given"


def test_float64_resolves_tiny_spread():
    base = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    z = torch.cat([base[0] + torch.tensor([[0.0, 1e-9], [0.0, -1e-9]], dtype=torch.float64), base[1:].repeat(2, 1) + torch.tensor([[0.0, 1e-9], [0.0, -1e-9]], dtype=torch.float64)])
    result = separation_ratio(z, torch.tensor([0, 0, 1, 1]))
    assert result.value == pytest.approx(2e9, rel=1e-6)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"expected z \(N, P\) and labels \(N,\), got \(3,\) and \(3,\)"):
        separation_ratio(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"R needs at least two classes, got 1 centroids"):
        separation_ratio(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long))


def test_empty_class_rejected():
    with pytest.raises(ValueError, match=r"classes \[1\] have no samples"):
        class_centroids(torch.zeros(2, 2), torch.tensor([0, 2]))
