"""A user's model on the leaderboard: load it safely, check its input contract, bench it, rank it."""

from lpcbench.evaluate.api import BenchmarkResult, Ranking, benchmark
from lpcbench.evaluate.loading import ModelContractError

__all__ = ["BenchmarkResult", "ModelContractError", "Ranking", "benchmark"]
