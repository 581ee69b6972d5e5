"""Speed of the Kozachenko-Leonenko entropy on 50,000 x 64 float64 latents.

Times lpcbench's entropy (scikit-learn's brute-force candidates above 16 dimensions, then an exact
recomputation of their distances) against scikit-learn's brute-force NearestNeighbors alone on the
same data in the same run, and checks that both give the same k-th neighbour distances.

    python benchmarks/kl_entropy_speed.py --n 50000 --width 64
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.neighbors import NearestNeighbors

from lpcbench.metrics import kl_entropy
from lpcbench.metrics.entropy import kth_neighbour_distances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()

    z = torch.randn(args.n, args.width, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    started = time.perf_counter()
    result = kl_entropy(z, k=args.k)
    ours = time.perf_counter() - started

    started = time.perf_counter()
    distances, _ = NearestNeighbors(n_neighbors=args.k + 1, algorithm="brute").fit(z.numpy()).kneighbors(z.numpy())
    peer = time.perf_counter() - started
    ours_distances = kth_neighbour_distances(z, args.k)
    agree = torch.allclose(ours_distances, torch.from_numpy(distances[:, args.k]), rtol=1e-9)

    print(f"{args.n} x {args.width} float64 latents, k = {args.k}, torch threads {torch.get_num_threads()}")
    print(f"lpcbench kl_entropy: {ours:.1f} s (H / d = {result.value:.4f} nats)")
    print(f"scikit-learn NearestNeighbors(brute) k-NN only: {peer:.1f} s")
    print(f"ratio lpcbench / scikit-learn: {ours / peer:.2f}; k-th distances agree: {agree}")


if __name__ == "__main__":
    main()
