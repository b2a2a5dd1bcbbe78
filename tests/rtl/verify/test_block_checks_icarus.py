"""The block_mac PE's and 4x4 array's generated Verilog under cocotb + Icarus, bit-exact (FP32 bits) vs the golden.

One simulator run per test, many vectors batched (about 2-5 s of build and start-up per run).
"""

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.block_checks import block_corner_dots, block_exhaustive_pairs, block_random_dots, check_block_pe
from tests.rtl.cases import ICARUS_BLOCK_MAC_SPECS

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


@pytest.mark.parametrize("text", ICARUS_BLOCK_MAC_SPECS)
def test_corner_random_and_exhaustive_dots(text, tmp_path):
    """Corners, random dots and, where the element pairs number <= 2^16 / 8, every pair, in one run
    (BFP16 x BFP12: 255 x 15 pairs; FP8 pairs: ``test_every_fp8_element_pair``, slow)."""
    spec = parse(text)
    sets = [block_corner_dots(spec), block_random_dots(spec, 20, seed=2)]
    pairs = block_exhaustive_pairs(spec)
    if len(pairs[0]) <= 2**13:
        sets.append(pairs)
    report = check_block_pe(spec, sets, backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == sum(len(s[0]) for s in sets)


@pytest.mark.slow
def test_every_fp8_element_pair(tmp_path):
    """Every non-NaN MXFP8 E4M3 element pair (2^16 - 1020) as a one-element block (about 40 s)."""
    spec = parse("block_mac")
    qa, qw, ea, ew = block_exhaustive_pairs(spec)
    assert len(qa) == 254 * 254
    report = check_block_pe(spec, [(qa, qw, ea, ew)], backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch


def test_array_4x4_gemm_and_latency(tmp_path):
    """The 4x4 MXFP8 block_mac array's Verilog: ``spec.gemm`` bit for bit (2 blocks = 16 folds), and the last
    fold's latency = the simulator's tile latency + the column edge's conversion register."""
    from accel.design import ArraySpec, Design
    from rtl.array.block_array import BlockMacArray
    from rtl.verify.block_checks import check_block_array_gemm
    from sim.array_timing import tile_latency_cycles

    spec = parse("block_mac")
    rng = np.random.default_rng(11)
    A = rng.standard_normal((6, 64)) * np.exp(2 * rng.standard_normal((6, 64)))
    report = check_block_array_gemm(spec, 4, A, rng.standard_normal((64, 4)), backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 24
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4))
    assert report.extra["latency_cycles"] == tile_latency_cycles(design, 6, 4, 4) + BlockMacArray.edge_latency_cycles
