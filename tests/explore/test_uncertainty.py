import math

import numpy as np
import pytest

from cost_models.explore.uncertainty import cosine_result, decoder_result, routes_summary

pytestmark = pytest.mark.unit


def _res(nll, ref, **extra):
    nll, ref = np.asarray(nll), np.asarray(ref)
    base = {"perplexity": math.exp(nll.mean()), "reference_perplexity": math.exp(ref.mean()),
            "perplexity_ci95": [1.0, 2.0], "windows": nll.size, "tokens": 64, "score": "half",
            "tokens_scored": 31 * nll.size, "kld": 0.01, "kld_ci95": [0.005, 0.02], "top1_agreement": 0.9,
            "top1_agreement_ci95": [0.85, 0.95], "delta_nll": float((nll - ref).mean()),
            "delta_nll_ci95": [0.05, 0.25], "per_window": nll.tolist(), "reference_per_window": ref.tolist()}
    return base | extra


def test_decoder_loss_interval_and_errors_follow_from_the_paired_nlls():
    nll = np.array([3.9, 4.3, 4.0, 4.6])  # per-window mean NLLs of the design and of the reference
    ref = np.array([3.8, 4.1, 4.0, 4.3])
    r = decoder_result(_res(nll, ref), {"a": "PE, stored q4_1 blocks", "b": "PE, stored q4_1 blocks",
                                        "token_embd.weight": "float64 reference, stored q8_0 values"})
    assert (r.metric, r.windows, r.tokens, r.score, r.tokens_scored) == ("perplexity", 4, 64, "half", 124)
    # paired differences nll - ref: 0.1, 0.2, 0.0, 0.3 -> mean 0.15, sample sd sqrt(0.05/3)
    assert r.loss == pytest.approx(math.exp(0.15) - 1, rel=1e-12)
    assert (r.loss_low, r.loss_high) == (math.expm1(0.05), math.expm1(0.25))
    assert r.loss_stderr == pytest.approx(math.exp(0.15) * math.sqrt(0.05 / 3) / 2, rel=1e-12)
    assert r.value_stderr == pytest.approx(r.value * nll.std(ddof=1) / 2, rel=1e-12)
    assert (r.kld, r.kld_low, r.kld_high, r.top1_low) == (0.01, 0.005, 0.02, 0.85)
    assert r.per_window == tuple(nll) and r.reference_per_window == tuple(ref)
    assert r.routes == "PE, stored q4_1 blocks: a, b; float64 reference, stored q8_0 values: token_embd.weight"


def test_routes_summary_counts_large_groups():
    routes = {f"blk.{i}.w": "PE, stored q4_1 blocks" for i in range(5)} | {"h": "float64 reference"}
    assert routes_summary(routes) == "PE, stored q4_1 blocks: 5 tensors; float64 reference: h"


def test_cosine_error_is_the_standard_error_of_the_mean_and_the_loss_interval_mirrors_it():
    c = [0.99, 0.97, 0.98]
    r = cosine_result(c, [0.975, 0.985])
    assert r.value == pytest.approx(0.98) and r.loss == pytest.approx(0.02)
    assert r.value_stderr == r.loss_stderr == pytest.approx(0.01 / math.sqrt(3))
    assert (r.loss_low, r.loss_high) == pytest.approx((0.015, 0.025))
