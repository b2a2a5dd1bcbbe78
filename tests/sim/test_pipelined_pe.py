"""Pipelined PEs and dequant accumulator loops in the simulator: the counts the RTL is checked against."""

import pytest

import sim
from accel.design import ArraySpec, DequantSpec, Design
from accel.errors import ConfigError
from accel.pe import parse
from sim.array_timing import tile_latency_cycles

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_tile_latency_adds_depth_plus_one_per_pipeline_register(depth):
    d = Design(pe=parse(f"minifloat_mac:pipeline_depth={depth}"), array=ArraySpec(rows=8, cols=4))
    assert tile_latency_cycles(d, 5, 4, 6) == 5 + 6 + 4 - 1 + (6 + 1) * depth


def test_a_pipelined_schedule_ends_later_and_waits_for_taller_folds():
    from sim.array_timing import ArrayPipeline

    pipe = ArrayPipeline("ws", pipeline_depth=2)
    _, t, s = pipe.propose(3, 4, 2)
    end0 = pipe.commit(s, t, 3, 4, 2)
    assert end0 == s + 3 + 4 + 2 - 2 + (4 + 1) * 2
    _, t1, s1 = pipe.propose(3, 2, 2)
    assert s1 - s >= 3 + (4 - 2) * (2 + 1)  # a shorter fold after a taller one: (P + 1) per row of difference


def test_simulated_gemm_counts_the_pipeline():
    spec = parse("fp16_dequant_first:weight_format=q4_1")
    base = Design(pe=spec, array=ArraySpec(rows=16, cols=16))
    deep = base.replace(pe=parse("fp16_dequant_first:weight_format=q4_1,pipeline_depth=4"))
    r0, r4 = sim.simulate((64, 256, 256), base), sim.simulate((64, 256, 256), deep)
    assert r4.cycles - r0.cycles == (16 + 1) * 4  # paid once, on the last fold's drain


def test_output_stationary_refuses_a_pipelined_pe():
    d = Design(pe=parse("minifloat_mac:pipeline_depth=1"), array=ArraySpec(rows=4, cols=4, dataflow="os"))
    with pytest.raises(ConfigError, match=r"^pe.pipeline_depth 1 needs a weight- or input-stationary array .*"
                                          r"valid with dataflow 'os': 0$"):
        tile_latency_cycles(d, 2, 2, 2)


def test_the_accumulator_loop_spaces_folds_at_the_dequant_units():
    """Decode (one row per fold): each fold's group sums must wait for the previous fold's accumulator loop."""
    from tests.sim.helpers import ideal_memory

    spec = parse("mixpe_w4a8")
    fast = Design(pe=spec, array=ArraySpec(rows=32, cols=32, weight_load_bits_per_cycle=8192), memory=ideal_memory(),
                  dequant=DequantSpec(latency_cycles=16))
    slow = fast.replace(dequant=DequantSpec(latency_cycles=16, accumulate_cycles=8))
    r1, r8 = sim.simulate((1, 1024, 1024), fast), sim.simulate((1, 1024, 1024), slow)
    assert r1.dequant_stall_cycles == 0 and r8.dequant_stall_cycles > 0 and r8.cycles > r1.cycles
    prefill = sim.simulate((256, 1024, 1024), slow)  # 256 rows per fold: the loop never binds
    assert prefill.dequant_stall_cycles == sim.simulate((256, 1024, 1024), fast).dequant_stall_cycles == 0


def test_accumulate_cycles_must_fit_the_latency():
    with pytest.raises(ConfigError, match=r"^invalid dequant spec: dequant.accumulate_cycles must be an integer in "
                                          r"1\.\.latency_cycles \+ 1 = 3, got 4$"):
        DequantSpec(latency_cycles=2, accumulate_cycles=4)


def test_pipeline_depth_is_validated():
    with pytest.raises(ConfigError, match=r"^invalid PE spec 'lmul': pipeline_depth must be in 0\.\.8, got 9$"):
        parse("lmul:pipeline_depth=9")
    assert parse("lmul:pipeline_depth=3").to_string() == "lmul:pipeline_depth=3"
    assert parse("lmul").to_string() == "lmul"
