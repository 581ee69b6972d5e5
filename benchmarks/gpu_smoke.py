"""GPU smoke test: train a ResNet-18 LPC model for two epochs on random CIFAR-shaped data under CUDA.

Prints images/s of the training epochs (timed with CUDA events). Exits 0 with a message where
no GPU exists, so it can sit in any script.

    python benchmarks/gpu_smoke.py --images 10000 --batch-size 128
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from lpcbench.data import DatasetSplits, Split
from lpcbench.zoo.config import load_spec, resolve_config
from lpcbench.zoo.trainer import train_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: no CUDA device found (torch.cuda.is_available() is False)")
        return 0

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(args.images, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (args.images,), generator=generator)
    data = DatasetSplits(
        name="cifar10",
        train=Split(x, y),
        val=Split(x[:512], y[:512]),
        test=Split(x[:512], y[:512]),
        num_classes=10,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        source="random tensors",
        split_rule="random",
    )
    config = resolve_config(load_spec("cifar10"), "lpc", seed=0, epochs=2, overrides={"batch_size": args.batch_size})
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with tempfile.TemporaryDirectory() as folder:
        start.record()
        card = train_run(config, data, Path(folder) / "run", device="cuda", progress=False)
        end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000.0
    print(f"device {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"resnet18 LPC, 2 epochs x {args.images} images, batch {args.batch_size}")
    print(f"training epochs: {2 * args.images / card['wall_time_s']:.0f} images/s; whole run incl. checkpoints and evaluation: {2 * args.images / seconds:.0f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
