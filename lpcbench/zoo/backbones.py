"""Backbones that map images to the representation h: CIFAR-style ResNets and a small CNN.

The ResNets follow the LPC paper's Appendix C: a 3x3 stem without max-pooling,
BatchNorm, and SiLU (Swish) in every non-linear layer. Each backbone has an
``out_features`` attribute, the width of h.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.act(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_planes),
    )


class ResNet(nn.Module):
    """CIFAR-style ResNet: 3x3 stem, four stages, global average pooling. Input (N, C, H, W)."""

    def __init__(self, block: type[nn.Module], num_blocks: list[int], in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.SiLU(),
        )
        stages = []
        in_planes = 64
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), num_blocks)):
            strides = [1 if index == 0 else 2] + [1] * (blocks - 1)
            for stride in strides:
                stages.append(block(in_planes, planes, stride))
                in_planes = planes * block.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = in_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.stages(self.stem(x))), 1)


class SmallCNN(nn.Module):
    """Conv-BN-SiLU stages that halve the resolution until it is at most 4x4, then global pooling.

    An 8x8 input gets one strided stage, a 28x28 input three. ``width`` is the
    channel count of the first stage; each strided stage doubles it. ``norm``
    is ``batch`` (BatchNorm), ``group`` (GroupNorm, 8 groups) or ``none``.
    """

    def __init__(self, in_channels: int, input_size: int, width: int = 32, norm: str = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = [*_conv_norm_silu(in_channels, width, 1, norm)]
        channels, size = width, input_size
        while size > 4:
            layers += _conv_norm_silu(channels, channels * 2, 2, norm)
            layers += _conv_norm_silu(channels * 2, channels * 2, 1, norm)
            channels, size = channels * 2, (size + 1) // 2
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.body(x)), 1)


def _conv_norm_silu(in_channels: int, out_channels: int, stride: int, norm: str) -> list[nn.Module]:
    if norm == "batch":
        layers = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_channels)]
    elif norm == "group":
        layers = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False), nn.GroupNorm(8, out_channels)]
    elif norm == "none":
        layers = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)]
    else:
        raise ValueError(f"unknown normalisation {norm!r}: expected batch, group or none")
    return [*layers, nn.SiLU()]


def build_backbone(name: str, input_shape: tuple[int, int, int], width: int = 32, norm: str = "batch") -> nn.Module:
    """Build backbone ``name`` (``resnet18``, ``resnet50`` or ``small_cnn``) for inputs of ``input_shape``.

    ``width`` and ``norm`` apply to ``small_cnn`` only; the ResNets always use BatchNorm.
    """
    channels, height, _ = input_shape
    if name == "resnet18":
        return ResNet(BasicBlock, [2, 2, 2, 2], in_channels=channels)
    if name == "resnet50":
        return ResNet(Bottleneck, [3, 4, 6, 3], in_channels=channels)
    if name == "small_cnn":
        return SmallCNN(channels, height, width=width, norm=norm)
    raise ValueError(f"unknown backbone {name!r}: expected one of {', '.join(BACKBONES)}")


BACKBONES = ("resnet18", "resnet50", "small_cnn")
