import pytest
import torch
from torch import nn

from lpcbench.certify.lipschitz import SILU_MAX_SLOPE, NotCertifiable, conv2d_bound, conv2d_power_iteration, lipschitz_bound
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
    with pytest.raises(NotCertifiable, match=r"no Lipschitz bound is known for layer model.1 of type Tanh; the model is not certifiable"):
        lipschitz_bound(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_batchnorm_in_train_mode_rejected():
    with pytest.raises(NotCertifiable, match=r"model.0 \(BatchNorm1d\) is in train mode"):
        lipschitz_bound(nn.Sequential(nn.BatchNorm1d(2)))


def test_grouped_conv_rejected():
    with pytest.raises(NotCertifiable, match=r"convolution with groups=2"):
        conv2d_bound(nn.Conv2d(2, 2, 3, groups=2))
