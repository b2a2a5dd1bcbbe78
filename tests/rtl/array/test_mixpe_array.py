"""The MixPE array with pipelined column-edge dequant, in Amaranth's simulator: bit-exact vs ``spec.gemm`` and
cycle counts equal to the simulator's, for groups larger than, equal to and smaller than the array rows.

Timing convention (``rtl.array.mixpe_array``): from the cycle in which the last fold's first activation row is
presented (weights loaded) through, inclusive, the first cycle in which the last output is valid.  The
simulator (``sim.engine``) pays ``design.dequant.latency_cycles`` once after the array's last output, so its
count is ``tile_latency_cycles + latency_cycles``; for one-fold GEMMs the full ``sim.simulate`` run is read
directly: its cycles minus memory stalls minus the weight-preload cycle before the first activation.
"""

import numpy as np
import pytest

from accel.design import ArraySpec, DequantSpec, Design
from accel.errors import ConfigError
from accel.pe import parse
from rtl.array.mixpe_array import taps
from rtl.verify.checks import check_mixpe_array
from sim.array_timing import tile_latency_cycles

pytestmark = pytest.mark.amaranth

# (spec, rows, cols, dequant latency, M)
CASES = [
    ("mixpe_w4a8:group_size=4", 4, 4, 4, 5),  # g = R
    ("mixpe_w4a8:weight_format=uint4,group_size=2", 4, 4, 4, 6),  # g < R: 2 taps per column
    ("mixpe_w4a8:weight_format=q4_1", 4, 4, 3, 3),  # g = 32: 8 folds per group
    ("mixpe_w4a8:group_size=1", 4, 3, 0, 4),  # 4 taps, combinational dequant
    ("mixpe_w4a8:weight_format=uint4,group_size=8", 4, 4, 1, 7),
    ("mixpe_w4a8:weight_format=q4_0", 2, 5, 7, 2),  # g = 32 on 2 rows
    ("mixpe_w4a8:weight_format=uint4,group_size=3", 6, 2, 5, 4),  # 2 taps of 3 rows
    ("mixpe_w4a16:group_size=8", 4, 4, 4, 3),
    ("mixpe_w4a16:weight_format=uint4,group_size=2", 4, 4, 2, 4),
    ("mixpe_w4a16:weight_format=q4_1", 4, 4, 4, 2),
]


def operands(spec, rows, cols, m, seed=0):
    """Heavy-tailed activations, an all-zero weight group and a zero activation row: K = two folds or groups."""
    rng = np.random.default_rng(seed)
    K = 2 * max(spec.group_size, rows)
    A = rng.standard_normal((m, K)) * np.exp(rng.standard_normal((m, K)))
    if m > 2:
        A[-1, :] = 0
    W = rng.standard_normal((K, cols))
    W[:spec.group_size, -1] = 0
    return A, W


def design_for(spec, rows, cols, latency):
    dq = DequantSpec(latency_cycles=latency, throughput_per_cycle=taps(rows, spec.group_size))
    return Design(pe=spec, array=ArraySpec(rows=rows, cols=cols, dataflow="ws"), dequant=dq)


def sim_one_fold_cycles(design, m):
    """``sim.simulate`` of an (m, cols, rows) GEMM: first activation to last output, memory stalls removed."""
    from sim import simulate

    row = simulate((m, design.array.cols, design.array.rows), design).per_op.iloc[0]
    return int(row["cycles"] - row["memory_stall_cycles"] - 1)


@pytest.mark.parametrize("text,rows,cols,latency,m", CASES, ids=[f"{c[0]}-{c[1]}x{c[2]}-L{c[3]}" for c in CASES])
def test_mixpe_array_bit_exact_and_cycles_equal_sim(text, rows, cols, latency, m):
    spec = parse(text)
    design = design_for(spec, rows, cols, latency)
    A, W = operands(spec, rows, cols, m)
    report = check_mixpe_array(spec, rows, A, W, dequant=design.dequant)
    assert report.ok, report.first_mismatch
    assert report.results == m * cols
    want = tile_latency_cycles(design, m, cols, rows) + design.dequant.latency_cycles
    assert report.extra["latency_cycles"] == [want]


@pytest.mark.parametrize("text,rows,cols,latency,m", [c for c in CASES if parse(c[0]).group_size <= c[1]])
def test_one_fold_gemm_cycles_equal_sim_simulate(text, rows, cols, latency, m):
    """K = rows (whole groups): the RTL's count is what ``sim.simulate`` says, dequant latency included."""
    spec = parse(text)
    design = design_for(spec, rows, cols, latency)
    rng = np.random.default_rng(1)
    A, W = rng.standard_normal((m, rows)), rng.standard_normal((rows, cols))
    report = check_mixpe_array(spec, rows, A, W, dequant=design.dequant)
    assert report.ok, report.first_mismatch
    assert report.extra["latency_cycles"] == [sim_one_fold_cycles(design, m)]


def test_results_do_not_depend_on_the_pipeline_depth_and_latency_adds_one_cycle_per_stage():
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    A, W = operands(spec, 4, 2, 3, seed=3)
    reports = [check_mixpe_array(spec, 4, A, W, dequant=DequantSpec(latency_cycles=L)) for L in (0, 5, 9)]
    assert all(r.ok for r in reports), [r.first_mismatch for r in reports]
    lat = [r.extra["latency_cycles"][0] for r in reports]
    assert [x - lat[0] for x in lat] == [0, 5, 9]


def test_a_swapped_tap_order_is_caught(monkeypatch):
    """Adding a fold's group terms in the wrong order breaks bit-exactness (FP32 addition is not associative)."""
    import rtl.verify.checks

    spec = parse("mixpe_w4a8:group_size=1")
    rng = np.random.default_rng(8)
    A = rng.standard_normal((6, 8)) * np.exp(3 * rng.standard_normal((6, 8)))
    W = rng.standard_normal((8, 3)) * np.exp(3 * rng.standard_normal((8, 3)))
    perm = np.array([0, 2, 1, 3, 4, 6, 5, 7])  # taps 1 <-> 2 of both folds
    assert np.any(spec.gemm(A[:, perm], W[perm])[0] != spec.gemm(A, W)[0])  # the order matters for these
    real = rtl.verify.checks.mixpe_array_operands

    def swapped(spec_, A_, W_):  # the golden keeps the original order, the RTL gets the swapped one
        qa, sa, gw = real(spec_, A_, W_)
        gw2 = type(gw)(gw.codes[perm], gw.scales[perm], gw.zeros, gw.mins, gw.group_size, gw.bits, gw.signed, gw.fmt)
        return qa[:, perm], sa, gw2

    monkeypatch.setattr(rtl.verify.checks, "mixpe_array_operands", swapped)
    report = check_mixpe_array(spec, 4, A, W)
    assert report.mismatches > 0


@pytest.mark.parametrize("dequant,message", [
    (DequantSpec(placement="per_pe", throughput_per_cycle=2),
     r"dequant\.placement must be 'column_edge' \(valid for the RTL array: column_edge\), got 'per_pe'"),
    (DequantSpec(count=2, throughput_per_cycle=2), r"dequant\.count must be omitted or 4 \(one unit per column\), "
                                                   r"got 2"),
    (DequantSpec(throughput_per_cycle=1), r"dequant\.throughput_per_cycle must be >= 2 \(the 2-row taps deliver 2 "
                                          r"group sums per row per column, group_size=2\), got 1"),
])
def test_dequant_specs_the_rtl_cannot_time_like_sim_are_refused(dequant, message):
    from rtl.config import mixpe_array

    with pytest.raises(ConfigError, match=rf"^the RTL MixPE array cannot realise this dequant spec: {message}$"):
        mixpe_array(parse("mixpe_w4a8:group_size=2"), 4, 4, dequant=dequant)


def test_default_dequant_spec_is_the_design_default_with_the_taps_throughput():
    from amaranth.hdl import Fragment

    from rtl.config import mixpe_array

    arr = mixpe_array(parse("mixpe_w4a8:group_size=1"), 4, 4)
    Fragment.get(arr, None)  # elaborated (an unused component warns when collected)
    assert arr.dequant.latency_cycles == DequantSpec().latency_cycles
    assert arr.latency_cycles == 4 + 4 - 1 + DequantSpec().latency_cycles
    assert arr.taps == 4
