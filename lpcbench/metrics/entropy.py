"""Kozachenko-Leonenko k-nearest-neighbour estimate of differential entropy (natural log).

H = psi(N) - psi(k) + log V_d + (d / N) * sum_i log eps_i, with eps_i the distance from z_i to its
k-th nearest neighbour and V_d the volume of the unit d-ball (Kozachenko and Leonenko, 1987; the form
of Kraskov, Stoegbauer and Grassberger, 2004). The LPC paper's Table I reports H divided by d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from sklearn.neighbors import NearestNeighbors

from lpcbench.metrics.separation import check_latents

CHUNK_ROWS = 1024
KD_TREE_MAX_WIDTH = 16
CANDIDATE_MARGIN = 8  # extra candidates recomputed exactly in the brute-force path


@dataclass(frozen=True)
class KLEntropy:
    """The entropy estimate and how duplicates were handled."""

    value: float | None  # H / d, nats per dimension; None where every k-th distance is 0
    total: float | None  # H in nats
    k: int
    n: int
    width: int
    floored: int  # points whose k-th neighbour distance was 0 and was raised to the floor
    floor: float | None  # the smallest positive k-th neighbour distance in the sample


def kth_neighbour_distances(z: torch.Tensor, k: int) -> torch.Tensor:
    """Return (N,) float64 distances from each row of ``z: (N, d)`` to its k-th nearest other row.

    Exact either way: a k-d tree (scipy) up to ``KD_TREE_MAX_WIDTH`` dimensions, where it is fast;
    above that, scikit-learn's brute-force search picks k + ``CANDIDATE_MARGIN`` candidates per
    point, whose distances are then recomputed directly. The brute-force search works from
    ||a||^2 + ||b||^2 - 2 a.b, which loses about 1e-8 * ||z|| to cancellation; that matters for
    collapsed classes, hence the direct recomputation.
    """
    points = z.numpy()
    n = points.shape[0]
    if z.shape[1] <= KD_TREE_MAX_WIDTH:
        distances, _ = cKDTree(points).query(points, k=k + 1)
        # Column 0 is the point itself, except among duplicates, where any copy may come first;
        # either way the (k + 1)-th smallest distance including self is the k-th neighbour's.
        return torch.from_numpy(distances[:, k].copy())

    neighbours = min(k + 1 + CANDIDATE_MARGIN, n)
    _, candidates = NearestNeighbors(n_neighbors=neighbours, algorithm="brute").fit(points).kneighbors(points)
    candidates = torch.from_numpy(candidates)
    result = torch.empty(n, dtype=torch.float64)
    for start in range(0, n, CHUNK_ROWS):
        block = z[start : start + CHUNK_ROWS]
        chosen = candidates[start : start + CHUNK_ROWS]
        exact = (block[:, None, :] - z[chosen]).norm(dim=2)
        own = chosen == torch.arange(start, start + block.shape[0])[:, None]
        exact[own] = float("inf")  # a point is not its own neighbour
        result[start : start + block.shape[0]] = exact.sort(dim=1).values[:, k - 1]
    return result


def kl_entropy(z: torch.Tensor, k: int = 20) -> KLEntropy:
    """Estimate the entropy of ``z: (N, d)`` with k neighbours, in float64.

    Duplicate points give a k-th neighbour distance of 0 and log 0 = -inf. Rule: such distances are
    raised to the smallest positive k-th neighbour distance of the sample, and their number is
    reported in ``floored``. If no distance is positive, the estimate is undefined (``None``).
    """
    if z.ndim != 2:
        raise ValueError(f"expected z (N, d), got {tuple(z.shape)}")
    z, _ = check_latents(z, torch.zeros(z.shape[0], dtype=torch.long))
    n, width = z.shape
    if not 1 <= k < n:
        raise ValueError(f"k must be between 1 and N - 1 = {n - 1}, got {k}")

    distances = kth_neighbour_distances(z, k)
    positive = distances[distances > 0]
    zero = int((distances == 0).sum())
    if positive.numel() == 0:
        return KLEntropy(None, None, k, n, width, zero, None)
    floor = float(positive.min())
    distances = distances.clamp_min(floor)

    log_unit_ball = (width / 2.0) * math.log(math.pi) - float(gammaln(width / 2.0 + 1.0))
    total = float(digamma(n) - digamma(k)) + log_unit_ball + width * float(distances.log().mean())
    return KLEntropy(total / width, total, k, n, width, zero, floor)
