"""Properties of the cycle model over random designs and GEMMs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from accel.design import DequantSpec, MemorySpec
from tests.sim.helpers import FakePE, design

pytestmark = pytest.mark.property


@st.composite
def setups(draw):
    s = draw(st.sampled_from([1, 2]))
    g = draw(st.sampled_from([None, 2, 4, 8, 16]))
    kmul = draw(st.integers(1, 8))
    k = (g or 1) * s * kmul if g else draw(st.integers(1, 100))
    pe = FakePE(group_size=None if g is None else g * s, macs_per_pe_per_cycle=s,
                dequant=draw(st.sampled_from(["per_group"])) if g else draw(st.sampled_from(["per_output", "in_loop"])),
                weight_storage_bits=draw(st.sampled_from([4.25, 4.5, 8.0])))
    mem = MemorySpec(dram_bandwidth_bytes_per_cycle=draw(st.sampled_from([4.0, 32.0, 256.0])),
                     dram_latency_cycles=draw(st.integers(0, 50)), double_buffered=draw(st.booleans()))
    dq = DequantSpec(placement=draw(st.sampled_from(["per_pe", "column_edge", "vector_unit"])),
                     throughput_per_cycle=draw(st.integers(1, 3)))
    cols, dataflow = draw(st.integers(1, 16)), draw(st.sampled_from(["ws", "os", "is"]))
    row_bits = s * (pe.act_bits if dataflow == "is" else pe.weight_bits)
    wl = draw(st.one_of(st.none(), st.integers(cols * row_bits, 8 * cols * row_bits)))
    d = design(pe, draw(st.integers(1, 16)), cols, dataflow, mem, dq, wl)
    return d, (draw(st.integers(1, 80)), draw(st.integers(1, 80)), k)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(setups())
def test_never_beats_the_roofline_and_breakdown_adds_up(case):
    d, gemm = case
    r = sim.simulate(gemm, d)
    assert r.cycles >= r.roofline_compute_cycles
    assert r.cycles >= r.roofline_memory_cycles * (1 - 1e-12)
    assert r.cycles >= r.dram_bits / 8 / d.memory.dram_bandwidth_bytes_per_cycle - 1e-9
    assert r.cycles == r.compute_cycles + r.fill_drain_cycles + r.memory_stall_cycles + r.dequant_stall_cycles
    assert min(r.compute_cycles, r.fill_drain_cycles, r.memory_stall_cycles, r.dequant_stall_cycles) >= 0
    assert 0 < r.utilization <= 1


@settings(max_examples=40, deadline=None, derandomize=True)
@given(setups())
def test_more_dram_bandwidth_never_hurts(case):
    import dataclasses

    d, gemm = case
    faster = d.replace(memory=dataclasses.replace(d.memory, dram_bandwidth_bytes_per_cycle=
                                                  2 * d.memory.dram_bandwidth_bytes_per_cycle))
    assert sim.simulate(gemm, faster).cycles <= sim.simulate(gemm, d).cycles


@settings(max_examples=80, deadline=None, derandomize=True)
@given(setups())
def test_no_op_beats_its_compute_weight_load_dram_or_dequant_limit(case):
    """Each of these limits is a lower bound the engine enforces; the one named binding is the largest."""
    d, gemm = case
    r = sim.simulate(gemm, d)
    (op,) = r.ops
    for k in ("compute", "weight_load", "dram", "dequant"):
        assert op.cycles >= op.limits[k] - 1e-9, k
    assert op.limits[r.bound["binding"]] == max(op.limits.values())
    assert r.bound["simulated_cycles"] == r.cycles == sum(r.bound["simulated_cycles_by_binding"].values())
