"""lpcbench: benchmark and certify the adversarial robustness of image classifiers.

Built around latent point collapse (Sbailo and Ghiringhelli, 2025): a strong
penalty gamma * ||z||^2 on a low-dimensional linear penultimate layer z.
"""

__version__ = "0.1.0"
