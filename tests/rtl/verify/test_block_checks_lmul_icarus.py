"""The lmul PE's generated Verilog under cocotb + Icarus, bit-exact (FP32 bits) vs the golden LMulPE.

One simulator run per test, many vectors batched (about 2 s of overhead per run).
"""

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.block_checks import (
    check_lmul_gemm,
    check_lmul_pe,
    lmul_corner_dots,
    lmul_exhaustive_pairs,
    lmul_random_dots,
    lmul_tie_dots,
)
from tests.rtl.cases import ICARUS_LMUL_SPECS

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


@pytest.mark.parametrize("text", ICARUS_LMUL_SPECS)
def test_corner_and_random_dots(text, tmp_path):
    spec = parse(text)
    sets = [lmul_corner_dots(spec), lmul_tie_dots(spec, n=16), lmul_random_dots(spec, 40, seed=2)]
    report = check_lmul_pe(spec, sets, backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 2 * sum(len(s[0]) for s in sets)


@pytest.mark.parametrize("text,n", [
    ("lmul:act_format=float6_e2m3fn,weight_format=float6_e2m3fn,realisation=adder", 64 * 64),
    pytest.param("lmul:act_format=float6_e3m2fn,weight_format=float6_e3m2fn", 64 * 64, marks=pytest.mark.slow),
    pytest.param("lmul", 254 * 254, marks=pytest.mark.slow),
    pytest.param("lmul:realisation=adder", 254 * 254, marks=pytest.mark.slow)])
def test_every_operand_pair(text, n, tmp_path):
    """Every operand pair (FP6 E2M3 adder by default; FP6 E3M2 and every non-NaN FP8 pair: slow, ~30 s each)."""
    spec = parse(text)
    qa, qw = lmul_exhaustive_pairs(spec)
    assert len(qa) == n
    report = check_lmul_pe(spec, [(qa, qw)], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch


def test_gemm_end_to_end(tmp_path):
    """``spec.gemm`` (adder realisation, with its per-output FP32 dequant) by the generated Verilog."""
    spec = parse("lmul:realisation=adder")
    rng = np.random.default_rng(4)
    A = rng.standard_normal((2, 64)) * np.exp(2 * rng.standard_normal((2, 64)))
    report = check_lmul_gemm(spec, A, rng.standard_normal((64, 4)), backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 8


@pytest.mark.slow
def test_array_4x4_gemm_and_latency(tmp_path):
    """The 4x4 lmul array's Verilog: ``spec.gemm`` bit for bit, fold latency = the simulator's (slow: the
    Amaranth tier runs the same check, tests/rtl/array/test_fp_array_lmul.py)."""
    from accel.design import ArraySpec, Design
    from rtl.verify.block_checks import check_lmul_array_gemm
    from sim.array_timing import tile_latency_cycles

    spec = parse("lmul")
    rng = np.random.default_rng(8)
    A = rng.standard_normal((6, 16)) * np.exp(2 * rng.standard_normal((6, 16)))
    report = check_lmul_array_gemm(spec, 4, 4, A, rng.standard_normal((16, 4)), backend="icarus", workdir=tmp_path)
    assert report.ok, (report.first_mismatch, report.extra)
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4))
    assert report.extra["latency_cycles"] == [tile_latency_cycles(design, 6, 4, 4)] * 4
