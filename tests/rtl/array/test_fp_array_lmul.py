"""The R x C lmul array (rtl.array.fp_array.FpWSArray of L-Mul cells) vs ``LMulPE.gemm``, timing vs the simulator."""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.verify.block_checks import check_lmul_array_gemm

pytestmark = pytest.mark.amaranth


@pytest.mark.parametrize("text,rows,cols", [("lmul:realisation=adder", 3, 2),
                                            pytest.param("lmul", 4, 4, marks=pytest.mark.slow)])
def test_array_gemm_bit_exact_and_latency_equals_sim(text, rows, cols):
    """Folds along K (K = 22: the last fold zero-padded), FP32 k-order sums chained through the psum input;
    every fold's latency equals ``sim.array_timing.tile_latency_cycles`` for the same tile."""
    from sim.array_timing import tile_latency_cycles

    spec = parse(text)
    rng = np.random.default_rng(6)
    A = rng.standard_normal((5, 22)) * np.exp(2 * rng.standard_normal((5, 22)))
    report = check_lmul_array_gemm(spec, rows, cols, A, rng.standard_normal((22, cols)))
    assert report.ok, (report.first_mismatch, report.extra)
    folds = -(-22 // rows)
    assert report.results == 5 * cols * folds and report.extra["y_mismatches"] == 0
    design = Design(pe=spec, array=ArraySpec(rows=rows, cols=cols))
    assert report.extra["latency_cycles"] == [tile_latency_cycles(design, 5, cols, rows)] * folds
