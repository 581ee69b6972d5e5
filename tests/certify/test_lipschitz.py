import pytest
import torch
from torch import nn

from lpcbench.certify.lipschitz import GELU_MAX_SLOPE, SILU_MAX_SLOPE, NotCertifiable, conv2d_bound, conv2d_power_iteration, lipschitz_bound
from lpcbench.zoo.backbones import BasicBlock, Bottleneck


def exact_operator_norm(module: nn.Module, input_shape) -> float:
    """Spectral norm of a linear module (no bias) from its full matrix, built column by column."""
    size = int(torch.tensor(input_shape).prod())
    basis = torch.eye(size, dtype=torch.float64).view(size, *input_shape)
    with torch.no_grad():
        columns = module.double()(basis).reshape(size, -1)
    module.float()
    return float(torch.linalg.matrix_norm(columns.T, ord=2))


@pytest.mark.parametrize("stride,padding,kernel", [(1, 1, 3), (2, 1, 3), (1, 0, 3), (2, 0, 1), (1, 2, 5)])
def test_conv_bound_above_exact_norm(stride, padding, kernel):
    torch.manual_seed(stride * 10 + kernel)
    conv = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, bias=False)
    exact = exact_operator_norm(conv, (2, 6, 6))
    bound = conv2d_bound(conv)
    estimate = conv2d_power_iteration(conv, (2, 6, 6), iterations=300)
    assert bound >= exact - 1e-9
    assert estimate <= exact + 1e-6
    assert estimate == pytest.approx(exact, rel=1e-3)


def test_linear_bound_is_exact():
    torch.manual_seed(0)
    layer = nn.Linear(7, 4, bias=False)
    assert lipschitz_bound(layer).bound == pytest.approx(exact_operator_norm(layer, (7,)), rel=1e-9)


def test_batchnorm_bound_is_exact():
    bn = nn.BatchNorm1d(3).eval()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, -2.0, 1.0]))
        bn.running_var.copy_(torch.tensor([1.0, 4.0, 0.25]))
    # scales: 0.5 / 1, -2 / 2, 1 / 0.5 (eps 1e-5 aside): max |scale| is about 2
    assert lipschitz_bound(bn).bound == pytest.approx(1.0 / (0.25 + 1e-5) ** 0.5, rel=1e-9)


def test_silu_slope_bound():
    x = torch.linspace(-30, 30, 200001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(nn.functional.silu(x).sum(), x)
    assert float(slope.abs().max()) <= SILU_MAX_SLOPE
    assert SILU_MAX_SLOPE - float(slope.abs().max()) < 1e-5


@pytest.mark.parametrize("block", [BasicBlock(4, 4, 1), BasicBlock(4, 8, 2), Bottleneck(8, 2, 2)])
def test_residual_block_bound_above_jacobian_norms(block):
    torch.manual_seed(0)
    block.train()
    with torch.no_grad():
        block(torch.randn(16, block.conv1.in_channels, 6, 6))  # non-trivial BatchNorm statistics
    block.eval()
    bound = lipschitz_bound(block, (block.conv1.in_channels, 6, 6)).bound
    for _ in range(5):
        x = torch.randn(1, block.conv1.in_channels, 6, 6, dtype=torch.float64)
        jacobian = torch.autograd.functional.jacobian(lambda v: block.double()(v), x).reshape(-1, x.numel())
        assert float(torch.linalg.matrix_norm(jacobian, ord=2)) <= bound
    block.float()


def test_unknown_layer_named():
    with pytest.raises(NotCertifiable, match=r"no Lipschitz bound is known for layer model.1 of type Softmax; the model is not certifiable"):
        lipschitz_bound(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1)))


def test_batchnorm_in_train_mode_rejected():
    with pytest.raises(NotCertifiable, match=r"model.0 \(BatchNorm1d\) is in train mode"):
        lipschitz_bound(nn.Sequential(nn.BatchNorm1d(2)))


def test_grouped_conv_rejected():
    with pytest.raises(NotCertifiable, match=r"convolution with groups=2"):
        conv2d_bound(nn.Conv2d(2, 2, 3, groups=2))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_slope_bound(approximate):
    x = torch.linspace(-10, 10, 200001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(nn.functional.gelu(x, approximate=approximate).sum(), x)
    assert float(slope.abs().max()) <= GELU_MAX_SLOPE
    assert GELU_MAX_SLOPE - float(slope.abs().max()) < 1e-4


def jacobian_norms(module: nn.Module, shape, samples: int = 6) -> list[float]:
    """Spectral norms of the Jacobian of ``module`` at random points of ``shape`` (no batch dimension)."""
    torch.manual_seed(1)
    norms = []
    for _ in range(samples):
        point = torch.randn(1, *shape, dtype=torch.float64)
        jacobian = torch.autograd.functional.jacobian(lambda v: module(v.view(1, *shape)).flatten(), point.flatten())
        norms.append(float(torch.linalg.matrix_norm(jacobian, ord=2)))
    return norms


@pytest.mark.parametrize(
    "pool,exact",
    [
        (nn.MaxPool2d(2), 1.0),  # disjoint windows: a max moves by at most the window's change
        (nn.MaxPool2d(3, stride=1), 3.0),  # each input in up to 9 windows: sqrt(9)
        (nn.AvgPool2d(2), 0.5),  # disjoint means of 4 values: 1 / sqrt(4)
        (nn.AvgPool2d(3, stride=1), 1.0),  # sqrt(9 / 9)
        (nn.AvgPool2d(2, padding=1), 0.5),  # zero padding counted in the divisor
    ],
)
def test_pool_bounds(pool, exact):
    assert lipschitz_bound(pool).bound == pytest.approx(exact, rel=1e-12)
    assert max(jacobian_norms(pool, (2, 6, 6))) <= exact + 1e-9
    if isinstance(pool, nn.AvgPool2d) and pool.padding == 0 and pool.stride == pool.kernel_size:
        # Disjoint average pooling is linear, and the bound is its norm.
        assert max(jacobian_norms(pool, (2, 6, 6))) == pytest.approx(exact, rel=1e-6)


def test_max_pool_bound_reached_by_overlap():
    # A single large input under a 3x3 stride-1 pool is the max of 9 windows: the Jacobian norm is 3.
    pool = nn.MaxPool2d(3, stride=1)
    point = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    point[0, 0, 2, 2] = 1.0
    jacobian = torch.autograd.functional.jacobian(lambda v: pool(v.view(1, 1, 5, 5)).flatten(), point.flatten())
    assert float(torch.linalg.matrix_norm(jacobian, ord=2)) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "pool,message",
    [
        (nn.AvgPool2d(2, padding=1, count_include_pad=False), r"average pooling with divisor_override, ceil_mode"),
        (nn.AvgPool2d(2, ceil_mode=True), r"average pooling with divisor_override, ceil_mode"),
        (nn.MaxPool2d(2, dilation=2), r"max pooling with dilation=2 has no bound here"),
    ],
)
def test_pool_without_bound_rejected(pool, message):
    with pytest.raises(NotCertifiable, match=message):
        lipschitz_bound(pool)


@pytest.mark.parametrize("layer,slope", [(nn.LeakyReLU(0.1), 1.0), (nn.LeakyReLU(-3.0), 3.0), (nn.Tanh(), 1.0), (nn.Sigmoid(), 0.25)])
def test_activation_bounds(layer, slope):
    assert lipschitz_bound(layer).bound == slope
    assert max(jacobian_norms(layer, (5,))) <= slope + 1e-12


def test_user_class_named_like_ours_not_trusted():
    class Normalize(nn.Module):  # a user's class: its std may mean anything
        def __init__(self):
            super().__init__()
            self.std = torch.tensor([0.5])

        def forward(self, x):
            return x * self.std

    with pytest.raises(NotCertifiable, match=r"no Lipschitz bound is known for layer model of type Normalize"):
        lipschitz_bound(Normalize())
