"""lpcbench: benchmark and certify the adversarial robustness of image classifiers.

Built around latent point collapse (Sbailo and Ghiringhelli, 2025): a strong
penalty gamma * ||z||^2 on a low-dimensional linear penultimate layer z.
"""

__version__ = "0.1.0"

__all__ = ["benchmark", "BenchmarkResult", "Normalize"]


def __getattr__(name: str):
    # Imported on first use, so that 'import lpcbench' and 'lpcbench --help' stay fast.
    if name in ("benchmark", "BenchmarkResult"):
        from lpcbench import evaluate

        return getattr(evaluate, name)
    if name == "Normalize":
        from lpcbench.zoo.model import Normalize

        return Normalize
    raise AttributeError(f"module 'lpcbench' has no attribute {name!r}")
