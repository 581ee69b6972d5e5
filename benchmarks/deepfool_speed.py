"""DeepFool speed and quality: lpcbench against foolbox and torchattacks, same models, same inputs.

Attacks the trained digits zoo models `nopen` and `lpc_narrow` (train them first with
`lpcbench train-zoo`) on the same seeded test inputs, five times each, and prints per model and
implementation: the median wall time, the success rate on correctly classified inputs, the median
relative L2 norm, and the forward and backward passes counted through the model.

    python benchmarks/deepfool_speed.py --n 200 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from lpcbench.attacks import deepfool
from lpcbench.attacks.peers import foolbox_deepfool, torchattacks_deepfool
from lpcbench.data import load_dataset
from lpcbench.data.sampling import sample_indices
from lpcbench.paths import zoo_dir as resolve_zoo_dir
from lpcbench.zoo import store


class Counting(nn.Module):
    """Counts forward calls, images forwarded, and backward passes reaching the model's output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.forwards = self.images = self.backwards = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forwards += 1
        self.images += x.shape[0]
        out = self.model(x)
        if out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backwards += 1


IMPLEMENTATIONS = {
    "lpcbench": lambda model, x, y: deepfool(model, x, y),
    "foolbox": lambda model, x, y: foolbox_deepfool(model, x, y),
    "torchattacks": lambda model, x, y: torchattacks_deepfool(model, x, y),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="test inputs (default: 200)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", default="nopen,lpc_narrow")
    parser.add_argument("--zoo-dir", default=None)
    args = parser.parse_args()

    data = load_dataset("digits")
    indices, _ = sample_indices(len(data.test), args.n, 0)
    x, y = data.test.x[indices], data.test.y[indices]
    zoo = resolve_zoo_dir(args.zoo_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(indices)} digits test inputs, median of {args.repeats} runs")
    print(f"{'model':11} {'implementation':14} {'time s':>8} {'vs ours':>8} {'success':>8} {'median rel':>11} {'forwards':>9} {'images':>8} {'backwards':>10}")
    for model_id in args.models.split(","):
        record = store.list_runs(zoo, "digits").get(model_id)
        if not record:
            raise SystemExit(f"no trained {model_id} in {zoo}: run 'lpcbench train-zoo --models {model_id}' first")
        model, _ = store.load_model(Path(zoo) / "digits" / model_id / record[0]["selected_run"])
        ours_time = None
        for name, attack in IMPLEMENTATIONS.items():
            times = []
            for _ in range(args.repeats):
                counted = Counting(model).eval()
                started = time.perf_counter()
                result = attack(counted, x, y)
                times.append(time.perf_counter() - started)
            median_time = statistics.median(times)
            ours_time = ours_time or median_time
            attacked = ~result.misclassified
            success = float(result.success[attacked].float().mean())
            median_norm = float(result.relative_norm[attacked & result.success].quantile(0.5))
            print(
                f"{model_id:11} {name:14} {median_time:8.3f} {median_time / ours_time:7.1f}x {success:8.1%} {median_norm:11.5f} "
                f"{counted.forwards:9d} {counted.images:8d} {counted.backwards:10d}"
            )


if __name__ == "__main__":
    main()
