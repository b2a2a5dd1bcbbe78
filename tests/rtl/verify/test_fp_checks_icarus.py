"""The generated Verilog of the FP32-accumulating PEs and the FP32 array under cocotb + Icarus, bit-exact vs golden.

Each test is one simulator run with many vectors batched.  Exhaustive pairs of the 8-bit formats
(2^16 each) and every FP16 activation / scale code of fp16_dequant_first are in the slow tier.
"""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.verify.fp_checks import (
    check_fp_array_gemm,
    check_fp_pe,
    exhaustive_beats,
    random_beats,
    special_beats,
    tie_beats,
)
from tests.rtl.cases import FP_E4M3, FP_E4M3FNUZ, FP_E5M2, FP_FP6

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


def every(beats: dict, n: int) -> dict:
    step = max(1, len(beats["a"]) // n)
    return {k: v[::step] for k, v in beats.items()}


@pytest.mark.parametrize("text,n_special", [(FP_E5M2, 800), ("fp16_dequant_first:weight_format=q4_1", 300)])
def test_pe_corner_tie_random(text, n_special, tmp_path):
    spec = parse(text)
    sets = [every(special_beats(spec), n_special), tie_beats(spec, 64), random_beats(spec, 20, 16, seed=3),
            random_beats(spec, 20, 16, seed=4, wide=True)]
    report = check_fp_pe(spec, sets, backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == sum(len(s["a"]) for s in sets)


def test_pe_fp6_every_operand_pair(tmp_path):
    spec = parse(FP_FP6)
    beats = exhaustive_beats(spec)
    assert len(beats["a"]) == 64 * 64
    report = check_fp_pe(spec, [beats], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch


@pytest.mark.slow
@pytest.mark.parametrize("text", [FP_E4M3, FP_E5M2, FP_E4M3FNUZ, "fp16_dequant_first",
                                  "fp16_dequant_first:weight_format=uint4", "fp16_dequant_first:weight_format=q4_1"])
def test_pe_exhaustive_and_every_corner(text, tmp_path):
    """Every code pair incl. NaN/Inf (8-bit formats), every FP16 activation and scale code (dequant-first)."""
    spec = parse(text)
    report = check_fp_pe(spec, [exhaustive_beats(spec), special_beats(spec)], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch


@pytest.mark.parametrize("text,K,N", [pytest.param(FP_E4M3, 10, 5, marks=pytest.mark.slow),
                                       ("fp16_dequant_first:weight_format=q4_1", 32, 4)])
def test_array_4x4_gemm_bit_exact_and_latency_equals_sim(text, K, N, tmp_path):
    spec = parse(text)
    rng = np.random.default_rng(8)
    M = 6
    A = rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, K)))
    report = check_fp_array_gemm(spec, 4, 4, A, rng.standard_normal((K, N)), backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.extra["y_mismatches"] == 0
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4))
    from sim.array_timing import tile_latency_cycles

    assert set(report.extra["latency_cycles"]) == {tile_latency_cycles(design, M, 4, 4)}
