"""Reports built from leaderboard entries: aggregation, correlation, tables and plots."""

from lpcbench.report.correlation import Correlation, correlation

__all__ = ["Correlation", "correlation"]
