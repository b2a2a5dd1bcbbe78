"""The pipelined FP32 datapaths as generated Verilog under cocotb + Icarus: bit-exact vs the golden models.

The depths are the ones that reach 50 MHz on an ECP5-25F (``tests/rtl/synth/test_pnr_pipelined.py``, slow tier):
``pipeline_depth=4`` for the FP32 PEs, ``latency_cycles=24, accumulate_cycles=5`` for the MixPE dequant unit.
"""

import numpy as np
import pytest

from accel.design import ArraySpec, DequantSpec, Design
from accel.pe import parse
from rtl.verify.block_checks import check_lmul_pe, lmul_corner_dots, lmul_random_dots
from rtl.verify.checks import check_mixpe_array, check_mixpe_gemm
from rtl.verify.fp_checks import check_fp_array_gemm, check_fp_pe, random_beats, special_beats, tie_beats
from sim.array_timing import tile_latency_cycles

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


def every(beats: dict, n: int) -> dict:
    step = max(1, len(beats["a"]) // n)
    return {k: v[::step] for k, v in beats.items()}


@pytest.mark.parametrize("text", ["fp16_dequant_first:weight_format=q4_1,pipeline_depth=4",
                                  "minifloat_mac:pipeline_depth=4"])
def test_pipelined_fp_pe(text, tmp_path):
    spec = parse(text)
    sets = [every(special_beats(spec), 200), tie_beats(spec, 32), random_beats(spec, 12, 16, seed=3),
            random_beats(spec, 12, 16, seed=4, wide=True)]
    report = check_fp_pe(spec, sets, backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == sum(len(s["a"]) for s in sets)


def test_pipelined_lmul_pe(tmp_path):
    spec = parse("lmul:pipeline_depth=4")
    report = check_lmul_pe(spec, [lmul_corner_dots(spec), lmul_random_dots(spec, 20, 16, 2)], backend="icarus",
                           workdir=tmp_path)
    assert report.ok, report.first_mismatch


def test_pipelined_block_mac_pe(tmp_path):
    from rtl.verify.block_checks import block_corner_dots, block_random_dots, check_block_pe

    spec = parse("block_mac:pipeline_depth=4")
    report = check_block_pe(spec, [block_corner_dots(spec), block_random_dots(spec, 12, 3, 2)], backend="icarus",
                            workdir=tmp_path)
    assert report.ok, report.first_mismatch


def test_pipelined_fp_array_cycle_equal_to_the_simulator(tmp_path):
    spec = parse("fp16_dequant_first:weight_format=q4_1,pipeline_depth=4")
    rng = np.random.default_rng(1)
    M, K = 6, 2 * spec.group_size
    report = check_fp_array_gemm(spec, 4, 4, rng.standard_normal((M, K)), rng.standard_normal((K, 4)),
                                 backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    want = tile_latency_cycles(Design(pe=spec, array=ArraySpec(rows=4, cols=4)), M, 4, 4)
    assert set(report.extra["latency_cycles"]) == {want}


def test_dequant_unit_with_a_pipelined_accumulator(tmp_path):
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 128)) * np.exp(rng.standard_normal((3, 128)))
    report = check_mixpe_gemm(spec, A, rng.standard_normal((128, 4)), backend="icarus", workdir=tmp_path,
                              dequant_latency=24, accumulate_cycles=5)
    assert report.ok, (report.first_mismatch, report.extra)


def test_mixpe_array_with_a_pipelined_accumulator_cycle_equal_to_the_simulator(tmp_path):
    spec = parse("mixpe_w4a8:weight_format=uint4,group_size=8")
    dq = DequantSpec(latency_cycles=24, accumulate_cycles=5)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 16)) * np.exp(rng.standard_normal((2, 16)))
    report = check_mixpe_array(spec, 4, A, rng.standard_normal((16, 4)), backend="icarus", workdir=tmp_path,
                               dequant=dq)
    assert report.ok, report.first_mismatch
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4), dequant=dq)
    assert report.extra["latency_cycles"] == [tile_latency_cycles(design, 2, 4, 4) + 24]
