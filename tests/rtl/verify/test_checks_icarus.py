"""The generated Verilog under cocotb + Icarus: every PE variant and a 4x4 array, bit-exact vs golden.

Each test is one simulator run with many vectors batched (about 2 s of overhead per run).
"""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.verify.checks import check_array, check_pe, corner_groups, exhaustive_pairs, random_groups
from tests.rtl.cases import FP4_INT4, FP8_E4M3, FP8_E5M2, ICARUS_SPECS

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


@pytest.mark.parametrize("text", ICARUS_SPECS)
def test_pe_corner_and_random_groups(text, tmp_path):
    spec = parse(text)
    corners = corner_groups(spec)
    report = check_pe(spec, [corners, random_groups(spec, 40, seed=2)], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == len(corners[0]) + 40


@pytest.mark.parametrize("text", ["int8_mac", "mixpe_w4a8:weight_format=uint4", FP4_INT4,
                                  pytest.param(FP8_E4M3, marks=pytest.mark.slow),
                                  pytest.param(FP8_E5M2, marks=pytest.mark.slow)])
def test_pe_every_operand_pair(text, tmp_path):
    """Exhaustive: 2^16 pairs for INT8 x INT8, 2^12 for INT8 x UINT4, every non-NaN/Inf FP8 pair (slow)."""
    spec = parse(text)
    qa, qw = exhaustive_pairs(spec)
    report = check_pe(spec, [(qa, qw)], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == len(qa)


@pytest.mark.parametrize("text", ["int8_mac", "mixpe_w4a8:weight_format=q4_1"])
def test_array_4x4_bit_exact_and_latency_equals_sim(text, tmp_path):
    spec = parse(text)
    rng = np.random.default_rng(7)
    (alo, ahi) = (-128, 127)
    wlo, whi = (-128, 127) if text == "int8_mac" else (0, 15)
    tiles = [(rng.integers(alo, ahi + 1, (50, 4)), rng.integers(wlo, whi + 1, (4, 4))),
             (np.full((3, 4), alo), np.full((4, 4), wlo)), (np.full((3, 4), ahi), np.full((4, 4), whi))]
    report = check_array(spec, 4, 4, tiles, backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4))
    assert report.extra["latency_cycles"] == [tile_latency(design, m) for m in (50, 3, 3)]


def tile_latency(design, m):
    from sim.array_timing import tile_latency_cycles

    return tile_latency_cycles(design, m, design.array.cols, design.array.rows)


def test_waves_written(tmp_path):
    spec = parse("mixpe_w4a8")
    report = check_pe(spec, [random_groups(spec, 2)], backend="icarus", workdir=tmp_path, waves=True)
    assert report.ok
    assert report.extra["waves"] and (tmp_path / "build_icarus" / "mixpe_w4a8.fst").stat().st_size > 0


def test_mixpe_gemm_end_to_end_q4_1(tmp_path):
    """Generated Verilog of the PE and the FP32 dequant unit reproduce ``spec.gemm`` bit for bit."""
    from rtl.verify.checks import check_mixpe_gemm

    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 64)) * np.exp(rng.standard_normal((2, 64)))
    W = rng.standard_normal((64, 4))
    report = check_mixpe_gemm(spec, A, W, backend="icarus", workdir=tmp_path)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 8


def test_mixpe_4x4_array_with_dequant_q4_1(tmp_path):
    """The 4x4 MixPE array with column-edge FP32 dequant, Q4_1 (g = 32: 8 folds per group), vs spec.gemm."""
    from rtl.verify.checks import check_mixpe_array

    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 64)) * np.exp(rng.standard_normal((4, 64)))
    report = check_mixpe_array(spec, 4, A, rng.standard_normal((64, 4)), backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 16
