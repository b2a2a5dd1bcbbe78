"""Bootstrap-over-windows intervals: coverage on synthetic data with a known mean and correlated tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from accel.errors import WorkloadError
from workloads import statistics as st

TRUE_MEAN = 2.0


def _dataset(rng, windows: int, tokens: int) -> list[np.ndarray]:
    """Per-token values: a shared window effect plus AR(1) noise along the window (rho 0.8)."""
    effect = rng.normal(0.0, 1.0, (windows, 1))
    e = np.empty((windows, tokens))
    e[:, 0] = rng.normal(size=windows)
    for t in range(1, tokens):
        e[:, t] = 0.8 * e[:, t - 1] + 0.6 * rng.normal(size=windows)
    return list(TRUE_MEAN + effect + e)


def _coverage(windows: int, datasets: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(datasets):
        est = st.window_mean(_dataset(rng, windows, 32), resamples=2000)
        hits += est.low <= TRUE_MEAN <= est.high
    return hits, datasets


def _binomial_band(n: int, p: float = 0.95) -> tuple[float, float]:
    """Central 99.9% range of the number of covering intervals out of n, if the true coverage is p."""
    return sps.binom.ppf(0.0005, n, p), sps.binom.ppf(0.9995, n, p)


@pytest.mark.unit
def test_coverage_with_eight_windows_is_nominal():
    hits, n = _coverage(windows=8, datasets=2000, seed=1)
    lo, hi = _binomial_band(n)
    assert lo <= hits <= hi, (hits / n, lo / n, hi / n)


@pytest.mark.unit
def test_token_level_resampling_would_undercover():
    """Why windows are resampled: treating the 8 x 32 correlated tokens as independent covers far less."""
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(300):
        x = np.concatenate(_dataset(rng, 8, 32))
        half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
        hits += abs(x.mean() - TRUE_MEAN) <= half
    assert hits / 300 < 0.5  # about 0.30 measured over 2000 data sets


@pytest.mark.slow
@pytest.mark.parametrize("windows", [8, 16, 32])
def test_coverage_is_nominal_big(windows):
    hits, n = _coverage(windows=windows, datasets=4000, seed=windows)
    lo, hi = _binomial_band(n)
    assert lo <= hits <= hi, (hits / n, lo / n, hi / n)


@pytest.mark.unit
def test_pooled_value_weights_windows_by_their_tokens():
    est = st.window_mean([[1.0, 1.0, 1.0], [4.0]])
    assert est.value == 1.75 and est.low <= est.value <= est.high


@pytest.mark.unit
def test_degenerate_cases():
    one = st.window_mean([[1.0, 2.0]])
    assert one.value == 1.5 and math.isnan(one.low) and math.isnan(one.high)
    same = st.window_mean([[0.0, 0.0], [0.0, 0.0]])
    assert same.ci == [0.0, 0.0]
    with pytest.raises(WorkloadError, match=r"^need at least one window with at least one value, got sizes \[2, 0\]$"):
        st.window_mean([[1.0, 2.0], []])
    with pytest.raises(WorkloadError, match=r"^paired values need the same windows and tokens, got window sizes "
                                            r"\[2\] and \[3\]$"):
        st.paired_difference([[1.0, 2.0]], [[1.0, 2.0, 3.0]])


@pytest.mark.unit
def test_paired_difference_is_the_mean_difference_and_deterministic():
    rng = np.random.default_rng(3)
    a = _dataset(rng, 8, 16)
    b = [x + 0.1 + 0.01 * rng.normal(size=x.size) for x in a]
    d = st.paired_difference(a, b)
    assert d.value == pytest.approx(float(np.mean(np.concatenate(b) - np.concatenate(a))), rel=1e-12)
    assert 0.09 < d.low < d.value < d.high < 0.11  # pairing removes the large shared variation
    assert st.paired_difference(a, b) == d
