"""Latent-geometry metrics: pure functions of latents ``z: (N, P)`` and labels ``(N,)``."""

from lpcbench.metrics.separation import SeparationRatio, class_centroids, separation_ratio

__all__ = ["SeparationRatio", "class_centroids", "separation_ratio"]
