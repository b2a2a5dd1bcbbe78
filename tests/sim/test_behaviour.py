"""Must-show behaviour of the cycle model on real PE specs and the example designs."""

import dataclasses
from pathlib import Path

import pytest

import sim
from accel import pe as pe_mod
from accel.design import ArraySpec, BufferSpec, DequantSpec, MemorySpec, design_from_dict, load_design
from accel.errors import ConfigError
from tests.sim.helpers import FakePE, design

pytestmark = pytest.mark.unit

DESIGNS = Path(__file__).resolve().parents[2] / "examples" / "designs"


def test_decode_is_memory_bound_and_4bit_weights_win():
    """LLaMA-7B decode projection (1 x 4096 -> 4096) on 128x128 at 64 B/cycle (REFERENCE.md section 6)."""
    d8 = load_design(DESIGNS / "int8_mac_128x128_decode.yaml")
    d4 = load_design(DESIGNS / "mixpe_w4a8_128x128_decode.yaml")
    r8, r4 = sim.simulate((1, 4096, 4096), d8), sim.simulate((1, 4096, 4096), d4)
    for r in (r8, r4):
        assert r.roofline_memory_cycles > 100 * r.roofline_compute_cycles  # memory-bound by > 100x
        assert r.roofline_cycles <= r.cycles <= 1.05 * r.roofline_cycles
        assert r.utilization < 0.01
    assert r8.roofline_memory_cycles == pytest.approx(4096 * 4096 * 8 / 8 / 64, rel=0.01)  # 262 k (REFERENCE)
    assert r8.memory_stall_cycles > r8.compute_cycles / 2
    assert d4.pe.weight_storage_bits < 4.5
    assert r4.cycles < 0.56 * r8.cycles  # at most 4.5 bits per weight (incl. scales) instead of 8
    assert r4.dram_bits_by_operand["weight"] == 4096 * 4096 * d4.pe.weight_storage_bits
    assert r8.dram_bits_by_operand["weight"] == 4096 * 4096 * 8


def test_prefill_is_compute_bound_near_the_roofline():
    d = load_design(DESIGNS / "mixpe_w4a8_32x32.yaml")
    r = sim.simulate((512, 2048, 2048), d)
    assert r.roofline_compute_cycles > 10 * r.roofline_memory_cycles
    assert r.roofline_cycles <= r.cycles <= 1.01 * r.roofline_cycles
    assert r.utilization > 0.99
    assert r.compute_cycles / r.cycles > 0.99


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_small_groups_starve_column_edge_dequant_units(dataflow):
    base = load_design(DESIGNS / "mixpe_w4a8_32x32.yaml").replace(array=ArraySpec(32, 32, dataflow))
    ok = sim.simulate((256, 1024, 1024), base.replace(pe=pe_mod.parse("mixpe_w4a8:group_size=128")))
    starved = sim.simulate((256, 1024, 1024), base.replace(pe=pe_mod.parse("mixpe_w4a8:group_size=16")))
    assert ok.dequant_stall_cycles == 0
    # 32 rows emit 32/16 = 2 group partials per output per cycle into a 1-op/cycle unit: half speed
    assert starved.dequant_stall_cycles > 0.9 * starved.compute_cycles
    assert starved.cycles == pytest.approx(2 * ok.cycles, rel=0.02)
    faster = base.replace(pe=pe_mod.parse("mixpe_w4a8:group_size=16"),
                          dequant=DequantSpec(placement="column_edge", throughput_per_cycle=2))
    assert sim.simulate((256, 1024, 1024), faster).dequant_stall_cycles == 0


def test_shared_vector_unit_starves_and_more_units_help():
    pe = FakePE(group_size=32)
    one = design(pe, 16, 16, "ws", dequant=DequantSpec(placement="vector_unit", count=1))
    many = design(pe, 16, 16, "ws", dequant=DequantSpec(placement="vector_unit", count=16))
    r1, r16 = sim.simulate((64, 256, 256), one), sim.simulate((64, 256, 256), many)
    assert r1.dequant_stall_cycles > 0 and r16.dequant_stall_cycles < r1.dequant_stall_cycles
    assert r16.cycles < r1.cycles


@pytest.mark.parametrize("g", [64, 48, 24])
def test_group_sizes_larger_or_smaller_than_the_array_are_handled(g):
    """Groups that do not match the array's K dimension (32) are handled, not rejected."""
    r = sim.simulate((64, 96, 192), design(FakePE(group_size=g), 32, 32, "ws"))
    assert r.cycles > 0 and r.macs == 64 * 96 * 192


def test_bandwidth_is_enforced():
    pe = FakePE(group_size=None, dequant="per_output", weight_storage_bits=8)
    runs = {}
    for bw in (8.0, 16.0):
        r = sim.simulate((1, 2048, 2048), design(pe, 32, 32, "ws", MemorySpec(dram_bandwidth_bytes_per_cycle=bw)))
        assert r.dram_bits / 8 / bw <= r.cycles <= 1.01 * r.dram_bits / 8 / bw  # memory-bound: at DRAM speed
        runs[bw] = r
    assert runs[8.0].cycles == pytest.approx(2 * runs[16.0].cycles, rel=0.01)
    assert runs[8.0].memory_stall_cycles > runs[16.0].memory_stall_cycles > 0


def test_double_buffering_and_latency_matter():
    pe = FakePE(group_size=None, dequant="per_output")
    on = design(pe, 16, 16, "ws", MemorySpec(dram_latency_cycles=200))
    off = design(pe, 16, 16, "ws", MemorySpec(dram_latency_cycles=200, double_buffered=False))
    r_on, r_off = sim.simulate((64, 512, 512), on), sim.simulate((64, 512, 512), off)
    assert r_off.cycles > 2 * r_on.cycles
    assert r_off.dram_bits >= r_on.dram_bits  # single buffering never lets more stay on chip


def test_sram_bandwidth_stalls():
    pe = FakePE(group_size=None, dequant="per_output")
    narrow = MemorySpec(output_buffer=BufferSpec(128 * 8192, banks=1, bandwidth_bits_per_cycle=64))
    r = sim.simulate((256, 256, 256), design(pe, 16, 16, "ws", narrow))
    wide = sim.simulate((256, 256, 256), design(pe, 16, 16, "ws"))
    assert r.memory_stall_cycles > wide.memory_stall_cycles and r.cycles > wide.cycles


# ------------------------------------------------------------------------------------------ bad designs
def test_zero_sized_array():
    with pytest.raises(ConfigError, match=r"^invalid array spec: array\.rows must be an integer in 1\.\.4096, got 0"):
        ArraySpec(rows=0)
    with pytest.raises(ConfigError, match=r"array\.cols must be an integer in 1\.\.4096, got 0"):
        design_from_dict({"pe": "int8_mac", "array": {"cols": 0}})


def test_buffer_too_small_for_one_tile():
    tiny = MemorySpec(weight_buffer=BufferSpec(1000))
    with pytest.raises(ConfigError, match=r"^op 'gemm' \(layer 0, 64x64->64\): memory\.weight_buffer\.capacity_bits="
                                          r"1000 is too small for one tile \(32x32 stationary elements at 4\.5 bits\): "
                                          r"valid range >= 9216 bits"):
        sim.simulate((64, 64, 64), design(FakePE(), 32, 32, "ws", tiny))
    tiny_out = MemorySpec(output_buffer=BufferSpec(100))
    with pytest.raises(ConfigError, match=r"memory\.output_buffer\.capacity_bits=100 is too small for one tile"):
        sim.simulate((64, 64, 64), design(FakePE(), 32, 32, "ws", tiny_out))
    with pytest.raises(ConfigError, match=r"memory\.input_buffer\.capacity_bits=100 is too small for one tile"):
        sim.simulate((64, 64, 64), design(FakePE(), 32, 32, "os", MemorySpec(input_buffer=BufferSpec(100))))


def test_group_size_not_dividing_k():
    d = load_design(DESIGNS / "mixpe_w4a8_32x32.yaml")
    with pytest.raises(ConfigError, match=r"pe\.group_size=32 must divide the GEMM's K=48; valid group sizes: "
                                          r"divisors of 48$"):
        sim.simulate((4, 8, 48), d)


def test_unknown_pe(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("pe: no_such_pe\narray: {rows: 8, cols: 8}\n")
    with pytest.raises(ConfigError, match=r"pe: unknown PE variant 'no_such_pe'; valid variants: .*mixpe_w4a8"):
        load_design(f)
    with pytest.raises(ConfigError, match=r"^design\.pe 'xyz' is not an accel\.pe spec: missing attribute\(s\) "
                                          r"weight_bits, act_bits, weight_storage_bits, .*; expected weight_bits, "
                                          r"act_bits, weight_storage_bits, act_storage_bits"):
        sim.simulate((1, 1, 1), design("xyz"))


def test_invalid_pe_attributes():
    bad = dataclasses.replace(FakePE(), macs_per_pe_per_cycle=0, dequant="later")
    with pytest.raises(ConfigError, match=r"^invalid PE for simulation: pe\.macs_per_pe_per_cycle must be an integer "
                                          r">= 1, got 0; pe\.dequant must be one of in_loop, per_group, per_output, "
                                          r"got 'later'$"):
        sim.simulate((1, 1, 1), design(bad))


@pytest.mark.parametrize("path", sorted(DESIGNS.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_designs_load_and_simulate(path):
    d = load_design(path)
    r = sim.simulate((64, 256, 256), d)
    assert r.cycles >= r.roofline_cycles
