import math

import numpy as np
import pytest

from cost_models.explore.uncertainty import cosine_result, perplexity_result

pytestmark = pytest.mark.unit


def test_perplexity_loss_and_errors_follow_from_the_per_window_log_likelihoods():
    # per-window mean NLLs of the design and of the reference, written out in float64
    nll = np.array([3.9, 4.3, 4.0, 4.6])
    ref = np.array([3.8, 4.1, 4.0, 4.3])
    r = perplexity_result(np.exp(nll), np.exp(ref), tokens=64)
    assert (r.metric, r.windows, r.tokens) == ("perplexity", 4, 64)
    assert r.value == pytest.approx(math.exp(nll.mean()), rel=1e-12)
    assert r.reference == pytest.approx(math.exp(ref.mean()), rel=1e-12)
    # paired differences nll - ref: 0.1, 0.2, 0.0, 0.3 -> mean 0.15, sample sd sqrt(0.05/3)
    assert r.loss == pytest.approx(math.exp(0.15) - 1, rel=1e-12)
    assert r.loss_stderr == pytest.approx(math.exp(0.15) * math.sqrt(0.05 / 3) / 2, rel=1e-12)
    assert r.value_stderr == pytest.approx(r.value * nll.std(ddof=1) / 2, rel=1e-12)
    # a constant shift of every window is resolved exactly: no pairing error
    same = perplexity_result(np.exp(ref + 0.2), np.exp(ref), tokens=64)
    assert same.loss_stderr == pytest.approx(0.0, abs=1e-15) and same.value_stderr > 0


def test_pooled_values_can_be_given_and_one_window_has_no_error():
    r = perplexity_result([50.0], [40.0], tokens=32, value=50.000001, reference=40.0)
    assert (r.value, r.reference) == (50.000001, 40.0)
    assert math.isnan(r.value_stderr) and math.isnan(r.loss_stderr)
    with pytest.raises(ValueError, match=r"^need one reference per window, got 2 and 1 windows$"):
        perplexity_result([1.0, 2.0], [1.0], tokens=8)


def test_cosine_error_is_the_standard_error_of_the_mean():
    c = [0.99, 0.97, 0.98]
    r = cosine_result(c, tokens=16)
    assert r.value == pytest.approx(0.98) and r.loss == pytest.approx(0.02)
    assert r.value_stderr == r.loss_stderr == pytest.approx(0.01 / math.sqrt(3))
