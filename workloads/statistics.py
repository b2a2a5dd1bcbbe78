"""Confidence intervals for token-level accuracy metrics: bootstrap over windows (clusters).

Tokens of one evaluation window share their context, so their metrics are correlated; windows are
disjoint and each runs from an empty KV cache, so windows are the independent units.  Every interval
here resamples whole windows (``scipy.stats.bootstrap``, paired: a window's sum and its token count
move together) and reports the pooled ratio ``sum over windows / tokens over windows``.

The plain 95% percentile bootstrap is too narrow with few units (with 8 windows it covers about 89%),
so the interval is Hesterberg's *expanded percentile* interval: the percentile interval at the level
whose normal quantile equals ``sqrt(n / (n - 1)) * t_{n-1}`` (T. Hesterberg, "What teachers should know
about the bootstrap", The American Statistician 69 (2015)).  Its coverage is tested on synthetic data
with correlated noise inside windows (nominal within binomial tolerance from 8 windows; with 4 windows
the bootstrap distribution is too coarse and covers about 86%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accel.errors import WorkloadError

CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A pooled per-token mean and its confidence interval (NaN bounds with a single window)."""

    value: float
    low: float
    high: float

    @property
    def ci(self) -> list[float]:
        return [self.low, self.high]


def expanded_level(n: int, confidence: float = CONFIDENCE) -> float:
    """Percentile level of the expanded bootstrap interval for ``n`` independent units."""
    from scipy import stats

    z = math.sqrt(n / (n - 1)) * stats.t.ppf(0.5 + confidence / 2, n - 1)
    return float(1 - 2 * stats.norm.sf(z))


def window_mean(values: Sequence[np.ndarray], confidence: float = CONFIDENCE, *, resamples: int = RESAMPLES,
                seed: int = SEED) -> Estimate:
    """Pooled mean of per-token ``values`` (one array per window) with a bootstrap-over-windows interval."""
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]
    if not arrays or any(a.size == 0 for a in arrays):
        raise WorkloadError(f"need at least one window with at least one value, got sizes "
                            f"{[a.size for a in arrays]!r}")
    sums = np.array([a.sum() for a in arrays])
    counts = np.array([float(a.size) for a in arrays])
    value = float(sums.sum() / counts.sum())
    if len(arrays) < 2:
        return Estimate(value, math.nan, math.nan)
    means = sums / counts
    if np.ptp(means) == 0.0:  # every window agrees: every resample gives the same value
        return Estimate(value, value, value)
    from scipy import stats

    res = stats.bootstrap((sums, counts), _ratio, paired=True, vectorized=True, n_resamples=resamples,
                          confidence_level=expanded_level(len(arrays), confidence), method="percentile",
                          rng=np.random.default_rng(seed))
    return Estimate(value, float(res.confidence_interval.low), float(res.confidence_interval.high))


def _ratio(sums: np.ndarray, counts: np.ndarray, axis: int = -1) -> np.ndarray:
    return sums.sum(axis=axis) / counts.sum(axis=axis)


def paired_difference(a: Sequence[np.ndarray], b: Sequence[np.ndarray], confidence: float = CONFIDENCE
                      ) -> Estimate:
    """Mean of ``b - a`` per token (the same tokens in the same windows), with a window-bootstrap interval."""
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b, strict=True)):
        raise WorkloadError(f"paired values need the same windows and tokens, got window sizes "
                            f"{[np.size(x) for x in a]!r} and {[np.size(y) for y in b]!r}")
    return window_mean([np.asarray(y, np.float64) - np.asarray(x, np.float64) for x, y in zip(a, b, strict=True)],
                       confidence)
