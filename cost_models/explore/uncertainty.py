"""Accuracy with its uncertainty over evaluation windows: standard errors of perplexity and of the loss.

Every window has the same number of predicted tokens, so the pooled perplexity is the geometric mean of
the per-window perplexities, ``exp(mean_i log p_i)``.  The loss against the reference is paired per
window: ``d_i = log p_i - log r_i`` (the same text through both forwards), ``loss = exp(mean d) - 1``,
and its standard error follows by the delta method, ``exp(mean d) * sd(d) / sqrt(n)``.  One window
gives no standard error (NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cost_models.explore.records import AccuracyResult


def _sem(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size >= 2 else math.nan


def perplexity_result(per_window: Sequence[float], reference_per_window: Sequence[float], tokens: int, *,
                      value: float | None = None, reference: float | None = None) -> AccuracyResult:
    """Pooled perplexity, the pooled reference, and both standard errors from per-window perplexities.

    ``value`` / ``reference``: the pooled perplexities as the evaluation computed them (from all tokens'
    log-likelihoods; equal to the geometric means up to rounding), used instead of the geometric means.
    """
    p = np.log(np.asarray(per_window, dtype=np.float64))
    r = np.log(np.asarray(reference_per_window, dtype=np.float64))
    if p.shape != r.shape or p.size == 0:
        raise ValueError(f"need one reference per window, got {p.size} and {r.size} windows")
    d = p - r
    value = math.exp(p.mean()) if value is None else float(value)
    reference = math.exp(r.mean()) if reference is None else float(reference)
    return AccuracyResult("perplexity", value, reference, windows=int(p.size), tokens=int(tokens),
                          value_stderr=value * _sem(p), loss_stderr=math.exp(d.mean()) * _sem(d))


def cosine_result(per_window: Sequence[float], tokens: int) -> AccuracyResult:
    """Mean cosine similarity to the reference (1.0) and its standard error (that of the loss too)."""
    c = np.asarray(per_window, dtype=np.float64)
    se = _sem(c)
    return AccuracyResult("cosine", float(c.mean()), 1.0, higher_is_better=True, windows=int(c.size),
                          tokens=int(tokens), value_stderr=se, loss_stderr=se)
