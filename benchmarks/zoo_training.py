"""Images per second of the lpcbench trainer against a plain PyTorch loop, same model, same run.

Both train LPC (small CNN, digits, the default profile's batch size and L2 penalty) for the same
number of epochs from the same initial weights. The trainer's figure includes what it adds: the
per-epoch atomic checkpoint and the running accuracy. Target: the trainer within 10% of the loop.

    python benchmarks/zoo_training.py --epochs 20 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from lpcbench.data import load_dataset
from lpcbench.zoo import losses, schedules, store
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.trainer import dataset_info, epoch_batches, make_optimizer, resolve_device, train_run


def plain_loop(config, data, device) -> float:
    """Train with a minimal loop; return seconds spent in the epochs."""
    torch.manual_seed(config.seed)
    model = store.build_model(config, dataset_info(data)).to(device)
    optimizer = make_optimizer(model, config)
    x_all, y_all = data.train.x.to(device), data.train.y.to(device)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        generator = torch.Generator().manual_seed(epoch)
        gamma = schedules.gamma_at(config, epoch)
        model.train()
        for index in epoch_batches(len(y_all), config.batch_size, generator):
            index = index.to(device)
            outputs = model.forward_train(x_all[index])
            loss = F.cross_entropy(outputs.scores, y_all[index]) + gamma * losses.l2_penalty(outputs.z)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)
    return time.perf_counter() - started


def trainer(config, data, device) -> float:
    with tempfile.TemporaryDirectory() as folder:
        card = train_run(config, data, Path(folder) / "run", device=device, progress=False)
    return float(card["wall_time_s"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats of each; the median is reported")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    device = resolve_device(args.device)
    data = load_dataset("digits")
    config = resolve_config(load_spec("digits"), "lpc", seed=0, epochs=args.epochs)
    images = args.epochs * len(data.train)

    plain_times, trainer_times = [], []
    for _ in range(args.repeats):
        plain_times.append(plain_loop(config, data, device))
        trainer_times.append(trainer(config, data, device))
    plain = images / statistics.median(plain_times)
    ours = images / statistics.median(trainer_times)
    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.epochs} epochs x {len(data.train)} images, median of {args.repeats}")
    print(f"{'loop':14} {'images/s':>10}")
    print(f"{'plain PyTorch':14} {plain:10.0f}")
    print(f"{'lpcbench':14} {ours:10.0f}")
    print(f"ratio lpcbench / plain: {ours / plain:.3f} (target >= 0.90)")


if __name__ == "__main__":
    main()
