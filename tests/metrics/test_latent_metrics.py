import math

import pytest
import torch

from lpcbench.metrics import binarity, kl_entropy, neural_collapse, norm_variation, within_class_covariance

TWO_CLASSES = torch.tensor([[0.0, 1.0], [0.0, -1.0], [10.0, 1.0], [10.0, -1.0]])
LABELS = torch.tensor([0, 0, 1, 1])


def test_sigma_w_hand_values():
    result = within_class_covariance(TWO_CLASSES, LABELS)
    # Sigma_W = diag(0, 1); Sigma_B = diag(25, 0)
    assert result.value == pytest.approx(0.5)
    assert result.mean_entry == pytest.approx(0.25)
    assert result.between_trace == pytest.approx(12.5)
    assert result.singleton_classes == []


def test_sigma_w_singleton_class_reported():
    z = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 3.0]])
    result = within_class_covariance(z, torch.tensor([0, 1, 1]))
    assert result.singleton_classes == [0]
    # class 1 spread: (0, +-1) around (1, 2): Sigma_W = diag(0, 2/3)
    assert result.value == pytest.approx(1.0 / 3.0)


def test_nc1_with_singular_sigma_b():
    # K = 2: Sigma_B = diag(25, 0) has rank 1, and its pseudo-inverse ignores the second axis.
    spread_off_axis = neural_collapse(TWO_CLASSES, LABELS)
    assert spread_off_axis.value == pytest.approx(0.0, abs=1e-12)
    assert spread_off_axis.sigma_b_rank == 1
    along_axis = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [9.0, 0.0], [11.0, 0.0]])
    # Sigma_W = diag(1, 0): Tr(Sigma_W Sigma_B^+) / K = (1 / 25) / 2
    result = neural_collapse(along_axis, LABELS)
    assert result.value == pytest.approx(0.02)
    assert result.nc1_per_width == pytest.approx(0.01)


def simplex(scale=1.0, copies=3):
    angles = torch.tensor([0.0, 2 * math.pi / 3, 4 * math.pi / 3], dtype=torch.float64)
    means = scale * torch.stack([angles.cos(), angles.sin()], dim=1)
    return means.repeat_interleave(copies, dim=0), torch.arange(3).repeat_interleave(copies), means


def test_simplex_is_fully_collapsed():
    z, labels, means = simplex()
    result = neural_collapse(z, labels, weight=means)
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.equinorm == pytest.approx(0.0, abs=1e-12)
    assert result.equiangularity == pytest.approx(0.0, abs=1e-12)
    assert result.max_angle == pytest.approx(0.0, abs=1e-12)
    assert result.nc3 == pytest.approx(0.0, abs=1e-12)
    assert result.nc4_agreement == 1.0


def test_nc1_never_negative():
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        z = torch.randn(40, 6, generator=generator, dtype=torch.float64) * 1e-7
        assert neural_collapse(z, torch.arange(40) % 4).value >= 0.0


def test_nc_weight_shape_checked():
    with pytest.raises(ValueError, match=r"expected a classifier weight of shape \(2, 2\), got \(3, 2\)"):
        neural_collapse(TWO_CLASSES, LABELS, weight=torch.zeros(3, 2))


def test_norm_variation_hand_values():
    z = torch.tensor([[3.0, 4.0], [6.0, 8.0]])
    result = norm_variation(z, torch.tensor([0, 1]))
    assert result.value == pytest.approx(2.5 / 7.5)
    assert result.centroid_cv == pytest.approx(2.5 / 7.5)
    assert norm_variation(torch.zeros(2, 2), torch.tensor([0, 1])).value is None


def test_entropy_of_gaussian_matches_closed_form():
    generator = torch.Generator().manual_seed(0)
    sigma = 0.5
    z = sigma * torch.randn(20000, 2, generator=generator, dtype=torch.float64)
    exact = 0.5 * math.log(2 * math.pi * math.e * sigma**2)  # per dimension
    result = kl_entropy(z, k=20)
    assert result.value == pytest.approx(exact, abs=0.03)
    assert result.floored == 0


def test_entropy_of_uniform_square():
    generator = torch.Generator().manual_seed(1)
    z = 4.0 * torch.rand(20000, 2, generator=generator, dtype=torch.float64)
    assert kl_entropy(z, k=20).total == pytest.approx(math.log(16.0), abs=0.05)


def test_entropy_duplicates_floored_not_infinite():
    generator = torch.Generator().manual_seed(2)
    z = torch.randn(200, 3, generator=generator, dtype=torch.float64)
    z = torch.cat([z, z[:50].repeat(25, 1)])  # 50 points appear 26 times
    result = kl_entropy(z, k=20)
    assert result.floored > 0
    assert math.isfinite(result.value)


def test_entropy_all_identical_undefined():
    result = kl_entropy(torch.ones(30, 2), k=5)
    assert result.value is None
    assert result.floored == 30


def test_entropy_bad_k():
    with pytest.raises(ValueError, match=r"k must be between 1 and N - 1 = 9, got 20"):
        kl_entropy(torch.randn(10, 2), k=20)


def test_binarity_bimodal_and_constant_nodes():
    generator = torch.Generator().manual_seed(0)
    signs = torch.where(torch.rand(400, generator=generator) < 0.5, -1.0, 1.0)
    bimodal = signs + 0.01 * torch.randn(400, generator=generator)
    gaussian = torch.randn(400, generator=generator)
    z = torch.stack([bimodal, torch.full((400,), 3.0), gaussian], dim=1)
    result = binarity(z)
    assert result.constant_nodes == [1]
    assert result.nodes == 3
    # the bimodal node: peaks about 2 apart in standardised units, each with std about 0.01
    assert result.min_peak_distance < 5.0  # the Gaussian node
    assert result.peak_distance > 50.0  # dominated by the bimodal node
    only_bimodal = binarity(bimodal[:, None])
    assert only_bimodal.mean_std < 0.05
    assert only_bimodal.value > binarity(gaussian[:, None]).value


def test_binarity_all_constant():
    result = binarity(torch.ones(10, 2))
    assert result.value is None
    assert result.constant_nodes == [0, 1]


@pytest.mark.parametrize(
    "function",
    [within_class_covariance, norm_variation, neural_collapse],
)
def test_nan_latents_rejected(function):
    z = TWO_CLASSES.clone()
    z[1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"latents contain NaN or infinity in 1 of 4 rows"):
        function(z, LABELS)


def test_float_labels_rejected():
    with pytest.raises(ValueError, match=r"expected integer labels, got dtype torch.float32"):
        within_class_covariance(TWO_CLASSES, LABELS.float())


def test_single_class_rejected():
    with pytest.raises(ValueError, match=r"neural collapse needs at least two classes, got 1"):
        neural_collapse(TWO_CLASSES[:2], LABELS[:2])


def test_width_one_and_two_classes():
    z = torch.tensor([[1.0], [1.2], [-1.0], [-1.1]])
    labels = torch.tensor([0, 0, 1, 1])
    assert within_class_covariance(z, labels).width == 1
    assert neural_collapse(z, labels, weight=torch.tensor([[1.0], [-1.0]])).nc4_agreement == 1.0
    assert binarity(z).nodes == 1


def test_neighbour_search_paths_agree(monkeypatch):
    from lpcbench.metrics import entropy

    generator = torch.Generator().manual_seed(3)
    z = torch.randn(700, 5, generator=generator, dtype=torch.float64)
    z = torch.cat([z, z[:20]])  # duplicates too
    tree = entropy.kth_neighbour_distances(z, 7)
    monkeypatch.setattr(entropy, "KD_TREE_MAX_WIDTH", 0)
    brute = entropy.kth_neighbour_distances(z, 7)
    assert torch.allclose(tree, brute, rtol=1e-12, atol=0.0)
    assert int((tree == 0).sum()) == 0  # one duplicate each: the 7th neighbour is another point


def test_brute_force_resolves_tiny_clusters(monkeypatch):
    from lpcbench.metrics import entropy

    generator = torch.Generator().manual_seed(4)
    centre = torch.tensor([[3.0] * 20], dtype=torch.float64)
    z = centre + 1e-9 * torch.randn(300, 20, generator=generator, dtype=torch.float64)
    monkeypatch.setattr(entropy, "KD_TREE_MAX_WIDTH", 0)
    brute = entropy.kth_neighbour_distances(z, 5)
    direct = torch.cdist(z - centre, z - centre).fill_diagonal_(float("inf")).sort(dim=1).values[:, 4]
    assert torch.allclose(brute, direct, rtol=1e-6)
