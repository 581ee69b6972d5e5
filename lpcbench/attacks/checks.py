"""Input validation shared by the attacks, and a context that keeps a model in eval mode."""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch
from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every module of ``model`` in eval mode, and restore each module's own mode afterwards.

    In eval mode BatchNorm uses and never updates its running statistics, so an attack leaves them
    exactly as they were.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def model_device(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def check_inputs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, bounds: Optional[tuple[float, float]]
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Validate a batch and move it to the model's device; return (x, y, number of classes).

    Raises ``ValueError`` for wrong shapes, NaN inputs, inputs outside ``bounds``, float or
    out-of-range labels, and ``TypeError`` for a model that does not return a logits tensor.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"expected tensors x and y, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"expected x of shape (N, C, H, W) with N >= 1, got {tuple(x.shape)}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"expected labels y of shape ({x.shape[0]},) to match x, got {tuple(y.shape)}")
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise ValueError(f"expected integer class labels, got dtype {y.dtype}")
    if not x.is_floating_point():
        raise ValueError(f"expected floating-point inputs, got dtype {x.dtype}")
    if bool(torch.isnan(x).any()):
        raise ValueError(f"inputs contain NaN in {int(torch.isnan(x).flatten(1).any(1).sum())} of {x.shape[0]} images")
    if bounds is not None:
        lower, upper = bounds
        if not lower < upper:
            raise ValueError(f"bounds must be (lower, upper) with lower < upper, got {bounds}")
        low, high = float(x.min()), float(x.max())
        if low < lower or high > upper:
            raise ValueError(
                f"inputs must lie in bounds {bounds}, got values in [{low:.4g}, {high:.4g}]; "
                "zoo models expect [0, 1] pixels and normalise inside the model"
            )

    device = model_device(model)
    x, y = x.to(device), y.to(device).long()
    with torch.no_grad():
        probe = model(x[:1])
    if not isinstance(probe, torch.Tensor):
        raise TypeError(
            f"the model returned {type(probe).__name__}, expected a logits tensor of shape (N, K); "
            "wrap it so that forward returns only the logits, e.g. lambda x: model(x)[0] inside an nn.Module"
        )
    if probe.ndim != 2:
        raise ValueError(f"expected logits of shape (N, K), got {tuple(probe.shape)} for one input")
    num_classes = probe.shape[1]
    if num_classes < 2:
        raise ValueError(f"expected logits for at least 2 classes, got {num_classes}")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] for a {num_classes}-class model, got [{int(y.min())}, {int(y.max())}]")
    return x, y, num_classes
