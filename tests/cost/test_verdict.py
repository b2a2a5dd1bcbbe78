"""The verdict rules on synthetic numbers on both sides of every boundary."""

import math

import pytest

from accel.errors import ConfigError
from cost_models.studies.verdict import (
    DOES_NOT_HOLD,
    EXCEEDS,
    FALLS_SHORT,
    HOLDS,
    MATCHES,
    UNRESOLVED,
    ClaimRecord,
    accuracy_verdict,
    ours_text,
    ratio_verdict,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (-0.03, -0.01, HOLDS),          # wholly below zero: A beats B
    (-0.02, 0.01, UNRESOLVED),      # straddles zero
    (-1e-9, 1e-9, UNRESOLVED),      # straddles zero narrowly
    (0.0, 0.02, UNRESOLVED),        # touches zero
    (0.01, 0.03, DOES_NOT_HOLD),    # wholly above zero
])
def test_accuracy_verdict_against_zero(low, high, verdict):
    assert accuracy_verdict(low, high) == verdict


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (0.01, 0.049, HOLDS),           # worse than B, but surely within the tolerance
    (0.01, 0.051, UNRESOLVED),      # the interval reaches past the tolerance
    (0.049, 0.08, UNRESOLVED),
    (0.051, 0.08, DOES_NOT_HOLD),   # surely beyond the tolerance
])
def test_accuracy_verdict_against_a_tolerance(low, high, verdict):
    assert accuracy_verdict(low, high, tolerance=0.05) == verdict


@pytest.mark.parametrize(("factor", "verdict"), [
    (0.79, FALLS_SHORT), (0.80, MATCHES), (0.81, MATCHES), (1.0, MATCHES),
    (1.19, MATCHES), (1.20, MATCHES), (1.21, EXCEEDS), (0.1, FALLS_SHORT), (4.0, EXCEEDS),
])
@pytest.mark.parametrize("paper", [1.4, 2.6, 0.95, 0.8])
def test_ratio_verdict_at_the_twenty_percent_boundaries(factor, verdict, paper):
    assert ratio_verdict(factor * paper, paper) == verdict


@pytest.mark.parametrize(("call", "message"), [
    (lambda: accuracy_verdict(0.1, -0.1), r"^interval must have low <= high, got low=0\.1, high=-0\.1$"),
    (lambda: accuracy_verdict(math.nan, 0.1), r"^low must be finite, got nan$"),
    (lambda: accuracy_verdict("x", 0.1), r"^low must be a number, got 'x'$"),
    (lambda: ratio_verdict(1.0, 0.0), r"^paper must be > 0 and band in \[0, 1\), got paper=0\.0, band=0\.2$"),
    (lambda: ClaimRecord("c", "s", 1.0, 1.0, None, "partly", ""),
     r"^verdict must be one of holds, does not hold, unresolved, matches, exceeds, falls short, not measured, "
     r"got 'partly'$"),
])
def test_bad_input_is_refused_with_a_specific_message(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_record_keys_and_text():
    r = ClaimRecord("MixPE 2.6x", "MixPE", 2.6, 2.0, [1.5, 2.5], FALLS_SHORT, "same array")
    assert list(r.to_dict()) == ["claim", "source", "paper_value", "ours", "ours_ci95", "verdict", "setting"]
    assert ours_text(r) == "2 [1.5, 2.5]"
