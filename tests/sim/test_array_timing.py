"""The closed-form fold timing is proved by the register-level reference (every PE, every cycle)."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accel.errors import ConfigError
from sim.array_reference import run_reference
from sim.array_timing import array_schedule, tile_latency_cycles, weight_load_lanes
from sim.engine import run_plan
from sim.pe_view import pe_view
from sim.tiling import plan_op
from tests.sim.helpers import FakePE, design, ideal_design

pytestmark = pytest.mark.property


@st.composite
def cases(draw):
    dataflow = draw(st.sampled_from(["ws", "os", "is"]))
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    s = draw(st.integers(1, 2))
    grouped = draw(st.booleans())
    g_packed = draw(st.integers(1, 7)) if grouped else None
    kp = (g_packed or 1) * draw(st.integers(1, 3)) if grouped else draw(st.integers(1, 12))
    m, n = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    m_block = draw(st.one_of(st.none(), st.integers(1, 11)))
    pe = FakePE(group_size=None if g_packed is None else g_packed * s, macs_per_pe_per_cycle=s,
                dequant="per_group" if grouped else "per_output", weight_bits=draw(st.sampled_from([2, 4, 8])),
                act_bits=draw(st.sampled_from([4, 8])))
    # weight-load path: None (one row per column per cycle) or 1..4 lanes' worth of bits, not always a multiple
    row_bits = s * (pe.act_bits if dataflow == "is" else pe.weight_bits)
    wl = draw(st.one_of(st.none(), st.integers(cols * row_bits, 5 * cols * row_bits - 1)))
    return dataflow, rows, cols, pe, m, n, kp * s, m_block, draw(st.integers(0, 2**31 - 1)), wl


def _operands(m, n, k, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(-8, 8, (m, k)), rng.integers(-8, 8, (k, n))


def _reference(plan, A, W, d, pe, starts, writes):
    """Run the reference on the plan's folds; IS is WS on the transposed product."""
    if plan.dataflow == "is":
        A, W = W.T, A.T
    return run_reference("os" if plan.dataflow == "os" else "ws", A, W, d.array.rows, d.array.cols,
                         plan.geometry, starts, writes, pe.packed_group, pe.macs_per_pe_per_cycle,
                         plan.lanes), A, W


def _expected_partials(plan, A, W, s, group):
    """{(fold, i, c, group): exact integer partial sum} computed directly from the operands."""
    kp = -(-A.shape[1] // s)
    Ap = np.pad(A, ((0, 0), (0, kp * s - A.shape[1]))).reshape(A.shape[0], kp, s)
    Wp = np.pad(W, ((0, kp * s - W.shape[0]), (0, 0))).reshape(kp, s, W.shape[1])
    g = group or 10**9
    out = {}
    for j, (m0, m, k0, tk, n0, tn) in enumerate(plan.geometry):
        for kk in range(k0, k0 + tk):
            prod = Ap[m0:m0 + m, kk, :] @ Wp[kk, :, n0:n0 + tn]
            for i in range(m):
                for c in range(tn):
                    key = (j, i, c, kk // g)
                    out[key] = out.get(key, 0) + int(prod[i, c])
    return out


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_closed_form_equals_register_level_reference(case):
    dataflow, rows, cols, pe, m, n, k, m_block, seed, wl = case
    d = ideal_design(pe, rows, cols, dataflow, wl)
    from sim.tiling import TilingPolicy

    plan = plan_op(m, n, k, d, pe_view(pe), TilingPolicy(m_block=m_block))
    event(f"{dataflow}, weight-load lanes {plan.lanes if dataflow != 'os' else '-'}, "
          f"{'one fold' if plan.n_folds == 1 else 'several folds'}")
    starts, writes, end = array_schedule("os" if dataflow == "os" else "ws", plan.stream, plan.depth, plan.width,
                                         lanes=plan.lanes)
    A, W = _operands(m, n, k, seed)
    run, A2, W2 = _reference(plan, A, W, d, pe_view(pe), starts, writes)
    assert run.hazards == []
    got = {(e.fold, e.i, e.c, e.group): e.value for e in run.emissions}
    assert len(got) == len(run.emissions)
    assert got == _expected_partials(plan, A2, W2, pe.macs_per_pe_per_cycle, pe_view(pe).packed_group)
    assert run.end == end
    # the SimPy engine, with memory that never stalls, reproduces the same cycle count
    assert run_plan(plan, d).cycles == end


@settings(max_examples=40, deadline=None, derandomize=True)
@given(cases(), st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_delayed_folds_stay_correct(case, delays):
    """Memory stalls only delay folds: the reference still sees no hazard and the end matches."""
    dataflow, rows, cols, pe, m, n, k, _, seed, wl = case
    d = ideal_design(pe, rows, cols, dataflow, wl)
    plan = plan_op(m, n, k, d, pe_view(pe))
    extra = (delays * plan.n_folds)[:plan.n_folds]
    starts, writes, end = array_schedule("os" if dataflow == "os" else "ws", plan.stream, plan.depth, plan.width,
                                         extra, plan.lanes)
    A, W = _operands(m, n, k, seed)
    run, A2, W2 = _reference(plan, A, W, d, pe_view(pe), starts, writes)
    assert run.hazards == [] and run.end == end
    got = {(e.fold, e.i, e.c, e.group): e.value for e in run.emissions}
    assert got == _expected_partials(plan, A2, W2, pe.macs_per_pe_per_cycle, pe_view(pe).packed_group)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(cases())
def test_schedule_is_tight(case):
    """Starting any fold after the first one cycle earlier than the closed form allows breaks the array."""
    dataflow, rows, cols, pe, m, n, k, _, seed, wl = case
    d = ideal_design(pe, rows, cols, dataflow, wl)
    plan = plan_op(m, n, k, d, pe_view(pe))
    if plan.n_folds < 2:
        return
    starts, writes, _ = array_schedule("os" if dataflow == "os" else "ws", plan.stream, plan.depth, plan.width,
                                      lanes=plan.lanes)
    early = starts.copy()
    early[1:] -= 1
    if dataflow != "os":
        writes = np.minimum(writes, early - 1)
    A, W = _operands(m, n, k, seed)
    run, A2, W2 = _reference(plan, A, W, d, pe_view(pe), early, writes)
    got = {(e.fold, e.i, e.c, e.group): e.value for e in run.emissions}
    assert run.hazards or got != _expected_partials(plan, A2, W2, pe.macs_per_pe_per_cycle,
                                                    pe_view(pe).packed_group)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 3, 4), (3, 4, 2), (2, 4, 4), (4, 4, 1)])
def test_tile_latency_matches_reference_single_fold(dataflow, shape):
    m, n, k = shape
    pe = FakePE(group_size=None, dequant="per_output")
    d = ideal_design(pe, 4, 4, dataflow)
    plan = plan_op(m, n, k, d, pe_view(pe))
    assert plan.n_folds == 1
    starts, writes, _ = array_schedule("os" if dataflow == "os" else "ws", plan.stream, plan.depth, plan.width,
                                         lanes=plan.lanes)
    A, W = _operands(m, n, k, 7)
    run, _, _ = _reference(plan, A, W, d, pe_view(pe), starts, writes)
    first_input = int(starts[0])
    assert run.end - first_input == tile_latency_cycles(d, m, n, k)


def test_tile_latency_rejects_a_tile_larger_than_the_array():
    d = design(FakePE(group_size=None, dequant="per_output"), 4, 4, "ws")
    with pytest.raises(ConfigError, match=r"^one ws fold must fit the 4x4 array: k \(packed\) must be in 1\.\.4 "):
        tile_latency_cycles(d, 2, 2, 5)


@st.composite
def wide_path_cases(draw):
    """WS/IS cases whose weight-load path has 2..4 lanes and that need several folds."""
    case = list(draw(cases()))
    case[0] = draw(st.sampled_from(["ws", "is"]))
    pe, cols = case[3], case[2]
    row_bits = pe.macs_per_pe_per_cycle * (pe.act_bits if case[0] == "is" else pe.weight_bits)
    case[9] = draw(st.integers(2 * cols * row_bits, 5 * cols * row_bits - 1))
    return tuple(case)


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(wide_path_cases())
def test_wide_weight_path_closed_form_equals_reference_and_is_tight(case):
    dataflow, rows, cols, pe, m, n, k, m_block, seed, wl = case
    d = ideal_design(pe, rows, cols, dataflow, wl)
    from sim.tiling import TilingPolicy

    plan = plan_op(m, n, k, d, pe_view(pe), TilingPolicy(m_block=m_block))
    assert plan.lanes == wl // (cols * pe.macs_per_pe_per_cycle * (pe.act_bits if dataflow == "is" else pe.weight_bits))
    event(f"{dataflow}, lanes {plan.lanes}, {'one fold' if plan.n_folds == 1 else 'several folds'}")
    starts, writes, end = array_schedule("ws", plan.stream, plan.depth, plan.width, lanes=plan.lanes)
    A, W = _operands(m, n, k, seed)
    run, A2, W2 = _reference(plan, A, W, d, pe_view(pe), starts, writes)
    want = _expected_partials(plan, A2, W2, pe.macs_per_pe_per_cycle, pe_view(pe).packed_group)
    assert run.hazards == []
    assert {(e.fold, e.i, e.c, e.group): e.value for e in run.emissions} == want
    assert run.end == end
    assert run_plan(plan, d).cycles == end
    # never slower than the one-lane bus
    assert end <= array_schedule("ws", plan.stream, plan.depth, plan.width)[2]
    if plan.n_folds >= 2:  # one cycle earlier for every later fold breaks the array
        early = starts.copy()
        early[1:] -= 1
        run, _, _ = _reference(plan, A, W, d, pe_view(pe), early, np.minimum(writes, early - 1))
        got = {(e.fold, e.i, e.c, e.group): e.value for e in run.emissions}
        assert run.hazards or got != want


def test_weight_load_lanes_pack_by_element_width():
    """The same path carries twice as many 4-bit rows as 8-bit ones; the default is one row."""
    assert weight_load_lanes(None, 32, 8) == 1
    assert weight_load_lanes(4096, 32, 8) == 16
    assert weight_load_lanes(4096, 32, 4) == 32
    assert weight_load_lanes(4096 + 255, 32, 8) == 16
    with pytest.raises(ConfigError, match=r"^array\.weight_load_bits_per_cycle must carry at least one PE row "
                                          r"\(8 bits\) per column per cycle on 32 columns: valid values >= 256 or "
                                          r"omitted, got 255$"):
        weight_load_lanes(255, 32, 8)


@pytest.mark.parametrize("bad", [0, -8, 2.5, True, "wide"])
def test_weight_load_bits_is_validated(bad):
    from accel.design import ArraySpec

    with pytest.raises(ConfigError, match=r"^invalid array spec: array\.weight_load_bits_per_cycle must be an integer "
                                          rf">= 1 or omitted, got {re.escape(repr(bad))}$"):
        ArraySpec(weight_load_bits_per_cycle=bad)


def test_a_gemv_on_a_wide_path_is_paced_by_its_lanes():
    """m = 1, many k-tiles: one lane needs tk cycles per fold, L lanes tk / L."""
    pe = FakePE(group_size=None, dequant="per_output", weight_bits=4)
    ends = {}
    for wl in (None, 8 * 4 * 2, 8 * 4 * 4):
        d = ideal_design(pe, 8, 8, "ws", wl)
        plan = plan_op(1, 8, 8 * 40, d, pe_view(pe))
        ends[plan.lanes] = run_plan(plan, d).cycles
    # 40 folds of depth 8: fold j = L q + r writes from 8 q + r (each lane busy 8 cycles per fold) and streams
    # one cycle later; the last output is valid stream + depth + width - 1 = 16 cycles after the last start
    assert ends == {lanes: 8 * (39 // lanes) + 39 % lanes + 1 + 16 for lanes in (1, 2, 4)}
    assert ends[1] / ends[4] > 3.5
