"""Latent-geometry metrics: pure functions of latents ``z: (N, P)`` and labels ``(N,)``, in float64."""

from lpcbench.metrics.binarity import Binarity, binarity
from lpcbench.metrics.collapse import NeuralCollapse, neural_collapse
from lpcbench.metrics.covariance import WithinClassCovariance, within_class_covariance
from lpcbench.metrics.entropy import KLEntropy, kl_entropy
from lpcbench.metrics.norms import NormVariation, norm_variation
from lpcbench.metrics.separation import SeparationRatio, class_centroids, separation_ratio

__all__ = [
    "Binarity",
    "KLEntropy",
    "NeuralCollapse",
    "NormVariation",
    "SeparationRatio",
    "WithinClassCovariance",
    "binarity",
    "class_centroids",
    "kl_entropy",
    "neural_collapse",
    "norm_variation",
    "separation_ratio",
    "within_class_covariance",
]
