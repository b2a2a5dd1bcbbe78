"""The R x C block_mac array (WSArray integer columns + column-edge block conversion and FP32 accumulation)
vs ``BlockMAC.gemm`` in Amaranth's simulator, and its timing vs the simulator's."""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.array.block_array import BlockMacArray
from rtl.verify.block_checks import check_block_array_gemm

pytestmark = pytest.mark.amaranth


def _latency(spec, rows, cols, m):
    """The simulator's fold latency for the same tile, plus the column edge's conversion register."""
    from sim.array_timing import tile_latency_cycles

    design = Design(pe=spec, array=ArraySpec(rows=rows, cols=cols))
    return tile_latency_cycles(design, m, cols, rows) + BlockMacArray.edge_latency_cycles


@pytest.mark.parametrize("text,rows,cols", [("block_mac:act_format=bfp16_b16,weight_format=bfp12_b16", 4, 3),
                                            ("block_mac", 8, 2)])
def test_array_gemm_bit_exact_and_latency(text, rows, cols):
    spec = parse(text)
    rng = np.random.default_rng(9)
    K = 2 * spec.group_size
    A = rng.standard_normal((5, K)) * np.exp(2 * rng.standard_normal((5, K)))
    report = check_block_array_gemm(spec, rows, A, rng.standard_normal((K, cols)))
    assert report.ok, report.first_mismatch
    assert report.results == 5 * cols
    assert report.extra["latency_cycles"] == _latency(spec, rows, cols, 5)


def test_array_corner_rows():
    """Rows whose blocks are all zero, overflow FP32 (inf and inf - inf = NaN) or land in its subnormals."""
    spec = parse("block_mac")
    rng = np.random.default_rng(10)
    A = rng.standard_normal((4, 64))
    A[0] = 0.0
    A[1] = np.abs(A[1]) * 1e37
    A[2, :32], A[2, 32:] = 3e38, -3e38
    A[3] *= 1e-30
    W = np.abs(rng.standard_normal((64, 2))) * np.r_[1e6, 1e-15]
    Y, _ = spec.gemm(A, W)
    assert np.isinf(Y).any() and np.isnan(Y).any() and ((Y != 0) & (np.abs(Y) < 2.0**-126)).any()
    report = check_block_array_gemm(spec, 4, A, W)
    assert report.ok, report.first_mismatch


def test_rows_must_divide_the_block_size():
    from accel.errors import ConfigError
    from rtl.build import Target

    with pytest.raises(ConfigError, match=r"^the block_mac array needs rows dividing the block size 32, got "
                                          r"rows=3 \(valid: 1, 2, 4, 8, 16, 32\)$"):
        Target(parse("block_mac"), 3, 4).component()
