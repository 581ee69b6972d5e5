"""Guaranteed upper bounds on the L2 Lipschitz constant of a network, composed layer by layer.

Every bound here is provably at least the layer's true L2 operator norm; a module type without a
known bound raises ``NotCertifiable`` naming it, and is never skipped. Power iteration, which
approaches a norm from below, is reported only as an estimate beside the bound of a convolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

# max over x of d/dx [x * sigmoid(x)] = 1.0998393... (at x = 2.3994); rounded up.
SILU_MAX_SLOPE = 1.09984
# max over x of d/dx [x * Phi(x)] = 1.128904... (at x = sqrt(2)); its tanh approximation reaches 1.128993.
GELU_MAX_SLOPE = 1.1290
# The slope bounds of these element-wise activations.
ACTIVATION_SLOPES = {nn.ReLU: 1.0, nn.Tanh: 1.0, nn.Sigmoid: 0.25, nn.SiLU: SILU_MAX_SLOPE, nn.GELU: GELU_MAX_SLOPE}


class NotCertifiable(ValueError):
    """Raised for a model that contains a layer with no known Lipschitz bound, or a non-linear head."""


@dataclass
class LipschitzReport:
    """The composed bound and the per-layer figures that make it up."""

    bound: float
    layers: list = field(default_factory=list)  # dicts: name, type, bound, power_iteration (convolutions)


def lipschitz_bound(module: nn.Module, input_shape: tuple[int, ...] | None = None, name: str = "model") -> LipschitzReport:
    """Return an upper bound on the L2 Lipschitz constant of ``module`` in eval mode.

    ``input_shape`` (C, H, W) of the module's input lets convolutions report a power-iteration
    estimate of their true norm next to the bound; the bound itself does not depend on it.
    """
    report = LipschitzReport(bound=1.0)
    shape = tuple(input_shape) if input_shape is not None else None
    report.bound, _ = _bound(module, name, shape, report)
    return report


def _bound(module: nn.Module, name: str, shape, report: LipschitzReport) -> tuple[float, tuple | None]:
    """Return (bound, output shape or None) of ``module``, appending leaf layers to ``report``."""
    kind = type(module).__name__
    ours = type(module).__module__.startswith("lpcbench.")  # a user's class of the same name may differ

    if isinstance(module, nn.Sequential) or (ours and kind in ("ResNet", "SmallCNN")):
        total = 1.0
        for child_name, child in module.named_children():
            bound, shape = _bound(child, f"{name}.{child_name}", shape, report)
            total *= bound
        return total, shape

    if ours and kind in ("BasicBlock", "Bottleneck"):
        # act(main(x) + shortcut(x)) with act = SiLU: Lip <= slope * (Lip(main) + Lip(shortcut)).
        layers = ["conv1", "bn1", "act", "conv2", "bn2"] if kind == "BasicBlock" else ["conv1", "bn1", "act", "conv2", "bn2", "act", "conv3", "bn3"]
        main, main_shape = 1.0, shape
        for layer in layers:
            bound, main_shape = _bound(getattr(module, layer), f"{name}.{layer}", main_shape, report)
            main *= bound
        shortcut, _ = _bound(module.shortcut, f"{name}.shortcut", shape, report)
        activation, _ = _bound(module.act, f"{name}.act", main_shape, report)
        return activation * (main + shortcut), main_shape

    if ours and kind == "Normalize":
        bound = float(1.0 / module.std.min())
        report.layers.append({"name": name, "type": kind, "bound": bound})
        return bound, shape

    if isinstance(module, nn.Linear):
        bound = float(torch.linalg.matrix_norm(module.weight.detach().double(), ord=2))
        report.layers.append({"name": name, "type": kind, "bound": bound})
        return bound, (module.out_features,)

    if isinstance(module, nn.Conv2d):
        bound = conv2d_bound(module)
        entry = {"name": name, "type": kind, "bound": bound}
        out_shape = None
        if shape is not None:
            entry["power_iteration"] = conv2d_power_iteration(module, shape)
            out_shape = _conv_output_shape(module, shape)
        report.layers.append(entry)
        return bound, out_shape

    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.training:
            raise NotCertifiable(f"{name} ({kind}) is in train mode; certify the model in eval mode")
        scale = module.weight.detach().double() if module.affine else torch.ones_like(module.running_var, dtype=torch.float64)
        bound = float((scale / torch.sqrt(module.running_var.double() + module.eps)).abs().max())
        report.layers.append({"name": name, "type": kind, "bound": bound})
        return bound, shape

    if type(module) in ACTIVATION_SLOPES:
        return ACTIVATION_SLOPES[type(module)], shape
    if isinstance(module, nn.LeakyReLU):
        return max(1.0, abs(module.negative_slope)), shape
    if isinstance(module, (nn.Identity, nn.Flatten, nn.Dropout)):
        return 1.0, (None if isinstance(module, nn.Flatten) else shape)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        bound = pool2d_bound(module)
        report.layers.append({"name": name, "type": kind, "bound": bound})
        return bound, None
    if isinstance(module, nn.AdaptiveAvgPool2d):
        # Averaging m values has norm 1/sqrt(m) <= 1 per output; 1 is a valid bound for any input size.
        return 1.0, None
    raise NotCertifiable(f"no Lipschitz bound is known for layer {name} of type {kind}; the model is not certifiable")


def pool2d_bound(pool: nn.MaxPool2d | nn.AvgPool2d) -> float:
    """Bound of 2-D max or average pooling from the number m of windows that share an input.

    Each input lies in at most m = ceil(kh / sh) * ceil(kw / sw) windows. A window's max moves by at
    most the L2 norm of the window's change, so max pooling has bound sqrt(m). A mean over K values
    moves by at most 1 / sqrt(K) of it, so average pooling has bound sqrt(m / K).
    """
    kernel = _pair(pool.kernel_size)
    stride = _pair(pool.stride if pool.stride is not None else pool.kernel_size)
    overlap = math.ceil(kernel[0] / stride[0]) * math.ceil(kernel[1] / stride[1])
    if isinstance(pool, nn.MaxPool2d):
        if _pair(pool.dilation) != (1, 1):
            raise NotCertifiable(f"max pooling with dilation={pool.dilation} has no bound here")
        return math.sqrt(overlap)
    padded = _pair(pool.padding) != (0, 0)
    if pool.divisor_override is not None or pool.ceil_mode or (padded and not pool.count_include_pad):
        # Border windows would then divide by fewer than K values.
        raise NotCertifiable("average pooling with divisor_override, ceil_mode, or padding without count_include_pad has no bound here")
    return math.sqrt(overlap / (kernel[0] * kernel[1]))


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def conv2d_bound(conv: nn.Conv2d) -> float:
    """Return a provable upper bound on the L2 operator norm of a zero-padded 2-D convolution.

    The minimum of two bounds, each >= the true norm for any input size:
    - im2col: y = M P x, with M the (out, in * kh * kw) kernel matrix and P the patch extraction, in
      which each input value appears in at most ceil(kh / sh) * ceil(kw / sw) patches, so
      ||P|| <= sqrt(that count) and ||conv|| <= ||M||_2 * sqrt(count);
    - shifts: y = sum over the kh * kw kernel offsets of K[:, :, a, b] applied to a shifted, zero-
      padded copy of x, each shift of norm <= 1, so ||conv|| <= sum_ab ||K[:, :, a, b]||_2.
    Dilation and groups other than 1 are not covered.
    """
    if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding_mode != "zeros":
        raise NotCertifiable(f"convolution with groups={conv.groups}, dilation={conv.dilation}, padding_mode={conv.padding_mode!r} has no bound here")
    kernel = conv.weight.detach().double()
    out_channels, in_channels, kh, kw = kernel.shape
    sh, sw = conv.stride
    overlap = math.ceil(kh / sh) * math.ceil(kw / sw)
    im2col = float(torch.linalg.matrix_norm(kernel.reshape(out_channels, -1), ord=2)) * math.sqrt(overlap)
    shifts = float(torch.linalg.matrix_norm(kernel.permute(2, 3, 0, 1), ord=2).sum())
    return min(im2col, shifts)


def conv2d_power_iteration(conv: nn.Conv2d, input_shape: tuple[int, ...], iterations: int = 100, seed: int = 0) -> float:
    """Estimate the operator norm of ``conv`` (bias ignored) on inputs of ``input_shape`` (C, H, W).

    Power iteration on conv^T conv approaches the norm from below: an estimate, never a bound.
    """
    kernel = conv.weight.detach().double()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((1, *input_shape), generator=generator, dtype=torch.float64)
    estimate = 0.0
    for _ in range(iterations):
        x = x / x.norm()
        y = F.conv2d(x, kernel, stride=conv.stride, padding=conv.padding)
        estimate = float(y.norm())
        x = F.conv_transpose2d(y, kernel, stride=conv.stride, padding=conv.padding, output_padding=_output_padding(conv, input_shape))
    return estimate


def _conv_output_shape(conv: nn.Conv2d, shape) -> tuple[int, int, int]:
    _, height, width = shape
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    return (conv.out_channels, (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1)


def _output_padding(conv: nn.Conv2d, shape) -> tuple[int, int]:
    _, out_h, out_w = _conv_output_shape(conv, shape)
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    return (shape[1] - ((out_h - 1) * sh - 2 * ph + kh), shape[2] - ((out_w - 1) * sw - 2 * pw + kw))
