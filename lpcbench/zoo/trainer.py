"""Train one zoo run: AdamW, the gamma ramp, learning-rate halving, per-epoch checkpoints.

Shuffling and augmentation draw from a generator seeded by (seed, epoch), so a
run resumed from its checkpoint at an epoch boundary continues exactly as an
uninterrupted run would on the same device.
"""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from typing import Callable

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

import lpcbench
from lpcbench.data import DatasetSplits, Split
from lpcbench.zoo import losses, schedules, store
from lpcbench.zoo.config import TrainConfig
from lpcbench.zoo.model import ZooModel
from lpcbench.zoo.registry import get_variant

logger = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 1024


def dataset_info(data: DatasetSplits) -> dict:
    """Describe a dataset the way a model card stores it: enough to rebuild the model."""
    return {
        "name": data.name,
        "input_shape": list(data.input_shape),
        "num_classes": data.num_classes,
        "mean": list(data.mean),
        "std": list(data.std),
        "split_rule": data.split_rule,
        "source": data.source,
        "sizes": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
    }


def resolve_device(name: str = "auto") -> torch.device:
    """Return the device for ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}: expected auto, cpu or cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available here; use --device cpu or auto")
    return torch.device(name)


def make_optimizer(model: ZooModel, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with two groups: everything but the last classifier, and the last classifier."""
    classifier_ids = {id(param) for param in model.classifier.parameters()}
    body = [param for param in model.parameters() if id(param) not in classifier_ids]
    return torch.optim.AdamW(
        [
            {"params": body, "lr": config.lr, "name": "body"},
            {"params": list(model.classifier.parameters()), "lr": config.classifier_lr, "name": "classifier"},
        ],
        weight_decay=config.weight_decay,
    )


def training_loss(model: ZooModel, config: TrainConfig, x: torch.Tensor, y: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (loss, scores) of one batch. ``scores: (N, K)`` decide the running training accuracy."""
    variant = model.variant
    outputs = model.forward_train(x)
    if variant.margin == "arcface":
        margin, scale = schedules.margin_at(config, epoch)
        logits = losses.arcface_logits(outputs.scores, y, margin, scale)
    elif variant.margin == "cosface":
        margin, scale = schedules.margin_at(config, epoch)
        logits = losses.cosface_logits(outputs.scores, y, margin, scale)
    else:
        logits = outputs.scores
    loss = F.cross_entropy(logits, y)
    if variant.l2_penalty:
        loss = loss + schedules.gamma_at(config, epoch) * losses.l2_penalty(outputs.z, config.l2_reduction)
    if variant.supcon:
        loss = loss + config.supcon_weight * losses.supcon_loss(outputs.h, y, config.supcon_temperature)
    return loss, outputs.scores


def flip_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random horizontal flip and random crop from a zero-padded copy, per image. ``x: (N, C, H, W)``."""
    n, channels, height, width = x.shape
    flips = torch.rand(n, generator=generator) < 0.5
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    x = torch.where(flips.to(x.device)[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = (offsets[:, 0:1] + torch.arange(height)).to(x.device)
    cols = (offsets[:, 1:2] + torch.arange(width)).to(x.device)
    batch_index = torch.arange(n, device=x.device)[:, None, None, None]
    channel_index = torch.arange(channels, device=x.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffle ``n`` indices into batches. A last batch of one is dropped, since BatchNorm cannot train on it."""
    order = torch.randperm(n, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


@torch.no_grad()
def accuracy(model: ZooModel, split: Split, device: torch.device) -> float:
    """Return the fraction of ``split`` classified correctly, in eval mode."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(split), EVAL_BATCH_SIZE):
        x = split.x[start : start + EVAL_BATCH_SIZE].to(device)
        y = split.y[start : start + EVAL_BATCH_SIZE].to(device)
        correct += int((model(x).argmax(dim=1) == y).sum())
    model.train(was_training)
    return correct / max(1, len(split))


def train_run(
    config: TrainConfig,
    data: DatasetSplits,
    run_dir: Path,
    *,
    device: torch.device | str = "cpu",
    progress: bool = True,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train (or resume, or skip) one run and return its model card.

    A run whose card exists with the same config hash is skipped. Otherwise the
    run resumes from ``checkpoint.pt`` if there is one, writes a checkpoint
    atomically after every epoch, and finally writes the weights and the card.
    ``on_epoch_end(epoch, record)`` is called after each epoch's checkpoint.
    """
    device = torch.device(device)
    run_dir = Path(run_dir)
    config_hash = config.config_hash()
    finished = store.read_card(run_dir)
    if finished is not None and finished.get("config_hash") == config_hash:
        return dict(finished, status="skipped")

    info = dataset_info(data)
    torch.manual_seed(config.seed)
    model = store.build_model(config, info).to(device)
    optimizer = make_optimizer(model, config)
    history: list[dict] = []
    start_epoch = 0
    elapsed = 0.0

    checkpoint = store.load_checkpoint(run_dir, config_hash)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        history = list(checkpoint["history"])
        start_epoch = int(checkpoint["epoch"]) + 1
        elapsed = float(checkpoint["elapsed_s"])
        logger.info("resuming %s at epoch %d", run_dir, start_epoch)

    train_x, train_y = data.train.x.to(device), data.train.y.to(device)
    bar = tqdm(
        range(start_epoch, config.epochs),
        initial=start_epoch,
        total=config.epochs,
        desc=f"{config.model_id} seed {config.seed} lr {config.lr:g}",
        disable=not progress,
        leave=False,
        dynamic_ncols=True,
    )
    for epoch in bar:
        started = time.perf_counter()
        record = _train_epoch(model, optimizer, config, train_x, train_y, epoch)
        elapsed += time.perf_counter() - started
        history.append(record)
        store.save_checkpoint(
            run_dir,
            {
                "config_hash": config_hash,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "elapsed_s": elapsed,
            },
        )
        bar.set_postfix(loss=f"{record['loss']:.3g}", acc=f"{record['train_acc']:.3f}", gamma=f"{record['gamma']:.3g}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    bar.close()

    card = {
        "lpcbench_version": lpcbench.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "git_commit": store.git_commit(),
        "model_id": config.model_id,
        "display_name": get_variant(config.model_id).display_name,
        "dataset": config.dataset,
        "seed": config.seed,
        "lr": config.lr,
        "epochs": config.epochs,
        "config": config.to_dict(),
        "config_hash": config_hash,
        "dataset_info": info,
        "device": str(device),
        "wall_time_s": elapsed,
        "accuracy": {
            "train": accuracy(model, data.train, device),
            "val": accuracy(model, data.val, device),
            "test": accuracy(model, data.test, device),
        },
        "history": history,
    }
    card = store.save_model(run_dir, model, card)
    store.remove_checkpoint(run_dir)
    return dict(card, status="resumed" if start_epoch > 0 else "trained")


def _train_epoch(
    model: ZooModel,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    epoch: int,
) -> dict:
    # One generator per (seed, epoch): resuming needs no saved random state.
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    factor = schedules.lr_factor_at(config, epoch)
    for group in optimizer.param_groups:
        group["lr"] = config.lr * factor if group["name"] == "body" else config.classifier_lr

    model.train()
    loss_sum = torch.zeros((), device=train_x.device)
    correct = torch.zeros((), dtype=torch.long, device=train_x.device)
    seen = 0
    for index in epoch_batches(len(train_y), config.batch_size, generator):
        index = index.to(train_x.device)
        x, y = train_x[index], train_y[index]
        if config.augment == "flip-crop":
            x = flip_crop(x, generator)
        loss, scores = training_loss(model, config, x, y, epoch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(y)
        correct += (scores.detach().argmax(dim=1) == y).sum()
        seen += len(y)
    return {
        "epoch": epoch,
        "loss": float(loss_sum) / seen,
        "train_acc": int(correct) / seen,
        "gamma": schedules.gamma_at(config, epoch) if model.variant.l2_penalty else 0.0,
        "lr": config.lr * factor,
    }
