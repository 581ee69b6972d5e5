"""Attacks that measure robustness: our batched DeepFool and adapters to peer libraries."""

from lpcbench.attacks.deepfool import DeepFoolResult, deepfool, deepfool_paper_compat

__all__ = ["DeepFoolResult", "deepfool", "deepfool_paper_compat"]
