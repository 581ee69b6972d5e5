import math

import numpy as np
import pytest
from scipy import stats

from lpcbench.report import correlation


def test_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = 2 * x + rng.normal(scale=0.5, size=30)
    result = correlation(x, y)
    assert result.pearson == pytest.approx(stats.pearsonr(x, y)[0], rel=1e-12)
    assert result.spearman == pytest.approx(stats.spearmanr(x, y)[0], rel=1e-12)
    assert result.pearson_ci95[0] < result.pearson < result.pearson_ci95[1]
    assert result.n == 30
    assert result.note is None


def test_perfect_monotone_but_not_linear():
    x = np.arange(1, 8, dtype=float)
    result = correlation(x, np.exp(x))
    assert result.spearman == pytest.approx(1.0)
    assert result.pearson < 1.0


def test_two_points_undefined():
    result = correlation([1.0, 2.0], [3.0, 4.0])
    assert result.pearson is None
    assert result.spearman is None
    assert result.n == 2
    assert "fewer than 3 points (2)" in result.note


def test_constant_column_undefined():
    result = correlation([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert result.pearson is None
    assert "constant" in result.note


def test_nan_pairs_dropped_and_counted():
    result = correlation([1.0, 2.0, math.nan, 4.0, 5.0], [1.0, 2.5, 3.0, math.inf, 5.5])
    assert result.n == 3
    assert result.note.startswith("2 pairs with a NaN or infinite value dropped")
    assert result.pearson == pytest.approx(stats.pearsonr([1, 2, 5], [1, 2.5, 5.5])[0])


def test_length_mismatch():
    with pytest.raises(ValueError, match=r"x and y must have the same length, got 3 and 2"):
        correlation([1, 2, 3], [1, 2])
