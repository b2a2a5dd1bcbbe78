"""Pipelined FP32 PEs (``pipeline_depth``): the same bits as the golden models at every depth (Amaranth simulator).

The accumulator loop of a pipelined PE holds P + 1 interleaved dot products; the checks feed them beat by beat
in turn.  Feeding one dot product's beats back to back must fail (the checks can catch a wrong schedule).
"""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.config import binding
from rtl.verify.block_checks import (
    check_lmul_array_gemm,
    check_lmul_gemm,
    check_lmul_pe,
    lmul_corner_dots,
    lmul_random_dots,
)
from rtl.verify.fp_checks import (
    check_fp_array_gemm,
    check_fp_gemm,
    check_fp_pe,
    random_beats,
    special_beats,
    tie_beats,
)
from sim.array_timing import tile_latency_cycles

pytestmark = pytest.mark.amaranth

FP_PIPELINED = ["fp16_dequant_first:weight_format=q4_1,pipeline_depth=1",
                "fp16_dequant_first:weight_format=q4_1,pipeline_depth=4",
                "fp16_dequant_first:weight_format=uint4,pipeline_depth=3",
                "minifloat_mac:pipeline_depth=2",
                "minifloat_mac:act_format=float8_e5m2,weight_format=float8_e5m2,pipeline_depth=4"]


def every(beats: dict, n: int) -> dict:
    step = max(1, len(beats["a"]) // n)
    return {k: v[::step] for k, v in beats.items()}


@pytest.mark.parametrize("text", FP_PIPELINED)
def test_pipelined_fp_pe_bit_exact(text):
    spec = parse(text)
    sets = [every(special_beats(spec), 40), tie_beats(spec, 6), random_beats(spec, 7, 8, seed=1),
            random_beats(spec, 5, 8, seed=2, wide=True)]
    report = check_fp_pe(spec, sets)
    assert report.ok, report.first_mismatch
    assert report.results == sum(len(s["a"]) for s in sets)
    rng = np.random.default_rng(3)
    A, W = rng.standard_normal((3, 64)), rng.standard_normal((64, 2))
    report = check_fp_gemm(spec, A, W)
    assert report.ok, report.extra


def test_pe_latency_and_interleave():
    spec = parse("fp16_dequant_first:weight_format=q4_1,pipeline_depth=3")
    pe, plain = binding(spec).pe(spec), binding(parse("minifloat_mac")).pe(parse("minifloat_mac"))
    pe._MustUse__silence = plain._MustUse__silence = True  # built to be inspected, not elaborated
    assert (pe.interleave, pe.latency_cycles) == (4, 3 * (3 + 1) + 1)  # three roundings to the product, the add
    assert (plain.interleave, plain.latency_cycles) == (1, 1)


def test_back_to_back_beats_of_one_dot_product_are_caught(monkeypatch):
    """A schedule that ignores the interleave (one dot product's beats on consecutive cycles) must fail."""
    import rtl.verify.fp_checks

    spec = parse("minifloat_mac:pipeline_depth=2")
    beats = random_beats(spec, 6, 8, seed=4)
    assert check_fp_pe(spec, [beats]).ok
    real = rtl.verify.fp_checks.pe_cycles
    monkeypatch.setattr(rtl.verify.fp_checks, "pe_cycles", lambda b, interleave=1: real(b, 1))
    assert not check_fp_pe(spec, [beats]).ok


@pytest.mark.parametrize("text", ["lmul:pipeline_depth=2", "lmul:realisation=adder,pipeline_depth=4"])
def test_pipelined_lmul_pe_bit_exact(text):
    spec = parse(text)
    report = check_lmul_pe(spec, [lmul_corner_dots(spec), lmul_random_dots(spec, 7, 9, 1)])
    assert report.ok, report.first_mismatch
    rng = np.random.default_rng(0)
    report = check_lmul_gemm(spec, rng.standard_normal((3, 40)), rng.standard_normal((40, 2)))
    assert report.ok, report.first_mismatch


@pytest.mark.parametrize("text", ["minifloat_mac:pipeline_depth=2", "fp16_dequant_first:weight_format=q4_1,"
                                  "pipeline_depth=1", "lmul:pipeline_depth=3"])
def test_pipelined_fp_array_bit_exact_and_cycle_equal_to_the_simulator(text):
    """Every fold's latency (first activation row through last output) equals ``tile_latency_cycles`` of the
    design with the same ``pe.pipeline_depth``: M + R + C - 1 + (R + 1) P."""
    spec = parse(text)
    rng = np.random.default_rng(0)
    R, C, M = 4, 3, 5
    K = 2 * spec.group_size if text.startswith("fp16") else 9
    A, W = rng.standard_normal((M, K)), rng.standard_normal((K, C))
    check = check_lmul_array_gemm if text.startswith("lmul") else check_fp_array_gemm
    report = check(spec, R, C, A, W)
    assert report.ok, report.first_mismatch
    want = tile_latency_cycles(Design(pe=spec, array=ArraySpec(rows=R, cols=C)), M, C, R)
    assert want == M + R + C - 1 + (R + 1) * spec.pipeline_depth
    assert set(report.extra["latency_cycles"]) == {want}


@pytest.mark.parametrize("text", ["block_mac:pipeline_depth=2",
                                  "block_mac:act_format=mxfp8_e5m2,weight_format=mxfp8_e5m2,pipeline_depth=4"])
def test_pipelined_block_mac_pe_bit_exact(text):
    from rtl.verify.block_checks import block_corner_dots, block_random_dots, check_block_gemm, check_block_pe

    spec = parse(text)
    report = check_block_pe(spec, [block_corner_dots(spec), block_random_dots(spec, 7, 3, 1)])
    assert report.ok, report.first_mismatch
    rng = np.random.default_rng(0)
    report = check_block_gemm(spec, rng.standard_normal((2, 64)), rng.standard_normal((64, 3)))
    assert report.ok, report.first_mismatch


@pytest.mark.parametrize(("text", "array"), [("int8_mac:pipeline_depth=1", False),
                                             ("mixpe_w4a8:pipeline_depth=2", False),
                                             ("block_mac:pipeline_depth=1", True)])
def test_rtl_without_pipeline_registers_refuses_a_depth(text, array):
    from accel.errors import ConfigError

    spec = parse(text)
    with pytest.raises(ConfigError, match=r"^pipeline_depth is built for the FP32 datapaths only; .* valid "
                                          r"pipeline_depth: 0, got \d$"):
        binding(spec).array(spec, 4, 4) if array else binding(spec).pe(spec)
