"""evaluate(design, sim_result) -> CostReport: components, provenance, independent energy checks."""

import json
from dataclasses import dataclass, field

import pytest

import accel.pe as pe_mod
from accel.activity import Activity
from accel.design import ArraySpec, Design
from accel.errors import ConfigError
from cost_models import evaluate
from cost_models.evaluation import price
from cost_models.memory import MemoryModel
from cost_models.usage import Usage, usage_for_gemm

pytestmark = pytest.mark.unit


@dataclass
class FakeSimResult:
    """The attributes of sim.SimResult that cost_models reads (test-local stand-in)."""

    activity: Activity
    cycles: int
    macs: int
    sram_read_bits: dict = field(default_factory=dict)
    sram_write_bits: dict = field(default_factory=dict)
    dram_bits: int = 0
    tokens: int | None = None

    def to_dict(self):
        return {}


def design(pe="int8_mac", rows=4, cols=4):
    return Design(pe=pe_mod.parse(pe), array=ArraySpec(rows, cols))


def test_int8_mac_arithmetic_energy_is_horowitz_times_counts():
    d = design()
    m, n, k = 3, 5, 7
    sim = FakeSimResult(d.pe.activity_for(m, n, k), cycles=100, macs=m * n * k)
    r = evaluate(d, sim)
    # every MAC is one 8x8 multiply (0.2 pJ, Horowitz) and one 32-bit add (0.1 pJ, Horowitz)
    assert r.energy_breakdown_pj["pe.int_mul"].value == pytest.approx(m * n * k * 0.2, rel=1e-12)
    assert r.energy_breakdown_pj["pe.int_add"].value == pytest.approx(m * n * k * 0.1, rel=1e-12)


def test_memory_components_priced_from_traffic():
    d = design()
    sim = FakeSimResult(Activity(), cycles=10, macs=0, sram_read_bits={"weight": 640}, sram_write_bits={"input": 64},
                        dram_bits=6400)
    r = evaluate(d, sim)
    mem = MemoryModel()
    wcap, icap = d.memory.weight_buffer.capacity_bits, d.memory.input_buffer.capacity_bits
    assert r.energy_breakdown_pj["sram.weight_buffer"].value == pytest.approx(640 * mem.sram_read_pj_per_bit(wcap))
    assert r.energy_breakdown_pj["sram.input_buffer"].value == pytest.approx(64 * mem.sram_write_pj_per_bit(icap))
    assert r.energy_breakdown_pj["dram"].value == pytest.approx(6400 * 1950 / 64)
    assert r.energy_breakdown_pj["sram.output_buffer"].value == 0


def test_report_totals_provenance_and_json():
    d = design("mixpe_w4a8")
    r = price(d, usage_for_gemm(d, 16, 64, 128))
    out = r.to_dict()
    assert out["energy_pj"] == pytest.approx(sum(i["value"] for i in out["energy_breakdown_pj"].values()))
    assert out["area_um2"] == pytest.approx(sum(i["value"] for i in out["area_breakdown_um2"].values()))
    for section in ("energy_breakdown_pj", "area_breakdown_um2"):
        for name, item in out[section].items():
            assert item["source"] and item["node_nm"] == 45, name
    assert {"pe.shift_add_mul", "pe.int_add", "pe.registers", "dequant.dequant_mul", "sram.weight_buffer",
            "sram.input_buffer", "sram.output_buffer", "dram", "leakage"} <= set(out["energy_breakdown_pj"])
    assert set(out["area_breakdown_um2"]) == {"pes", "dequant_units", "weight_load_path", "buffers.weight_buffer",
                                              "buffers.input_buffer", "buffers.output_buffer"}
    assert out["fpga_luts"] > 0 and out["energy_per_mac_pj"] == pytest.approx(out["energy_pj"] / (16 * 64 * 128))
    assert out["energy_delay_product_pj_s"] == pytest.approx(out["energy_pj"] * out["delay_s"])
    assert out["provenance"]["table"] == "horowitz45" and "analytic" in out["provenance"]["usage"]
    json.dumps(out)


def test_energy_linear_in_repeated_work():
    d = design("mixpe_w4a8")
    one, four = usage_for_gemm(d, 8, 32, 64), usage_for_gemm(d, 8, 32, 64, count=4)
    e1, e4 = price(d, one).energy_breakdown_pj, price(d, four).energy_breakdown_pj
    for k in e1:
        assert e4[k].value == pytest.approx(4 * e1[k].value, rel=1e-12), k


def test_mixpe_cheaper_than_dequant_first_per_gemm():
    a = design("mixpe_w4a16", 32, 32)
    b = design("fp16_dequant_first", 32, 32)
    ea = price(a, usage_for_gemm(a, 64, 1536, 576))
    eb = price(b, usage_for_gemm(b, 64, 1536, 576))
    assert ea.energy_pj < eb.energy_pj
    assert ea.hardware.pe_area_um2 < eb.hardware.pe_area_um2


def test_post_accumulation_ops_go_to_the_dequant_unit():
    d = design("mixpe_w4a8")
    hw = evaluate(d, usage_for_gemm(d, 4, 4, 64)).hardware
    assert d.pe.overflow == "saturate"  # the group accumulator clamps
    assert {u.key for u in hw.pe_units} == {"shift_add_mul:8x4", f"int_add:{hw.acc_bits}", f"clamp:{hw.acc_bits}"}
    assert all(u.instances == 1 for u in hw.pe_units)
    assert {"dequant_mul:fp32", "fp_add:fp32"} <= {u.key for u in hw.dequant_units}


def test_unsigned_weight_group_correction_is_not_a_second_accumulator():
    # uint4 weights: int_add:17 counts 1 + 1/32 per MAC (the per-group correction); one adder in the PE
    from accel import pe as pe_mod
    from cost_models.operators import OperatorModel
    from cost_models.pe_cost import pe_hardware

    spec = pe_mod.parse("mixpe_w4a8:weight_format=uint4")
    act = spec.activity_for(1, 1, 32 * 16)
    assert 1 < act[f"int_add:{spec.group_acc_bits}"] / (32 * 16) < 2
    hw = pe_hardware(spec, OperatorModel())
    adders = [u for u in hw.pe_units if u.key == f"int_add:{spec.group_acc_bits}"]
    assert [u.instances for u in adders] == [1]
    assert f"int_add:{spec.group_acc_bits}" in {u.key for u in hw.dequant_units}


def test_kulisch_float_mac_is_an_exact_product_plus_integer_add():
    from accel import pe as pe_mod
    from cost_models.datapath import exact_product_keys
    from cost_models.operators import OperatorModel
    from cost_models.pe_cost import pe_hardware

    hw = pe_hardware(pe_mod.parse("minifloat_mac:accumulate=kulisch"), OperatorModel())
    keys = {u.key for u in hw.pe_units}
    assert not any(k.startswith(("fp_mul:", "kulisch_add:")) for k in keys)
    assert set(exact_product_keys("e4m3", "e4m3")) | {f"int_add:{hw.acc_bits}"} == keys


def test_sim_result_missing_fields():
    class Bare:
        def to_dict(self):
            return {"cycles": 3}

    with pytest.raises(ConfigError, match=r"^simulator result lacks activity; cost_models needs activity and cycles$"):
        evaluate(design(), Bare())
    bad = FakeSimResult(Activity(), 1, 0, sram_read_bits={"l2": 5})
    with pytest.raises(ConfigError, match=r"^simulator sram_read_bits has unknown buffer/operand 'l2'; valid: "):
        evaluate(design(), bad)


def test_usage_record_accepted_directly():
    d = design()
    u = Usage(Activity({"int_mul:8x8": 10}), cycles=5, macs=10, sram_read_bits={}, sram_write_bits={}, dram_bits=0)
    r = evaluate(d, u, tokens=5)
    assert r.energy_breakdown_pj["pe.int_mul"].value == pytest.approx(2.0)
    assert r.energy_per_token_pj == pytest.approx(r.energy_pj / 5)


def test_evaluate_real_simulator_result():
    from sim import simulate

    d = design("mixpe_w4a8", 8, 8)
    s = simulate((4, 32, 64), d)
    r = evaluate(d, s)
    assert r.cycles == s.cycles and r.macs == 4 * 32 * 64
    assert r.energy_breakdown_pj["dram"].value == pytest.approx(s.dram_bits * 1950 / 64)
    assert "simulator (SimResult)" in r.provenance["usage"]
    arith = {k: v.value for k, v in r.energy_breakdown_pj.items() if k.startswith("pe.shift")}
    assert arith["pe.shift_add_mul"] == pytest.approx(4 * 32 * 64 * 3 * 0.03)  # 3 adds of 8 bits per MAC


def test_mixpe_comparison_covers_weight_gemms_only():
    from cost_models.studies.claims import mixpe_vs_conventional
    from workloads.trace import GemmOp, Trace

    ops = [GemmOp(0, "ffn_up", "prefill", 16, 64, 128, weight_ref="0.ffn_up"),
           GemmOp(0, "attn_qk", "prefill", 16, 16, 64, count=3)]
    res = mixpe_vs_conventional(Trace("tiny", ops, {"phase": "prefill", "tokens": 16}), array=(8, 8))
    (pair,) = res["pairs"]
    assert [r["op"] for r in pair["rows"]] == ["ffn_up"]
    assert pair["total_ratio"] > 1 and pair["rows"][0]["arith_ratio"] > pair["total_ratio"]


def test_energy_components_group_the_breakdown_and_sum_to_the_total():
    from cost_models.evaluation import ENERGY_COMPONENTS
    from sim import simulate

    d = design("mixpe_w4a8", 8, 8)
    s = simulate((4, 32, 64), d)
    r = evaluate(d, s, tokens=4)
    comp, items = r.energy_components_pj, r.energy_breakdown_pj
    assert tuple(comp) == ENERGY_COMPONENTS == ("pe_arith", "dequant", "array", "sram", "dram", "leakage")
    assert sum(comp.values()) == r.energy_pj
    mem = MemoryModel()
    # independent of the grouping: DRAM from the simulator's bits at Horowitz's 1950 pJ per 64-bit access
    assert comp["dram"] == pytest.approx(s.dram_bits * 1950 / 64, rel=1e-12)
    wcap = d.memory.weight_buffer.capacity_bits
    assert comp["sram"] >= s.sram_bits_by_operand["weight"] * mem.sram_read_pj_per_bit(wcap) > 0
    assert comp["pe_arith"] == pytest.approx(sum(v.value for k, v in items.items()
                                                 if k.startswith("pe.") and k != "pe.registers"), rel=1e-12)
    assert comp["dequant"] == pytest.approx(sum(v.value for k, v in items.items() if k.startswith("dequant.")))
    assert comp["dequant"] > 0 and comp["array"] == items["pe.registers"].value
    assert comp["leakage"] == items["leakage"].value > 0
    assert r.to_dict()["energy_components_pj"] == comp



def test_wider_weight_load_path_is_charged_and_the_one_lane_bus_is_not():
    from accel.design import ArraySpec
    from sim import simulate

    def run(bits, dataflow="ws"):
        d = Design(pe=pe_mod.parse("int8_mac"), array=ArraySpec(4, 4, dataflow, weight_load_bits_per_cycle=bits))
        return evaluate(d, simulate((8, 16, 64), d))

    default, one_lane, four = run(None), run(4 * 8), run(4 * 4 * 8)
    for r in (default, one_lane):
        assert r.area_breakdown_um2["weight_load_path"].value == 0
        assert r.energy_breakdown_pj["array.weight_load"].value == 0
    assert one_lane.energy_components_pj == default.energy_components_pj  # one row per column: today's path
    # four lanes of one 8-bit row per column on 4x4: per PE 3 x 8 write-port MUX2, per column 3 x 8 x 4 repeaters
    # (Nangate 45 nm: MUX2_X1 1.862 um^2, AND2_X1 1.064 um^2)
    assert four.area_breakdown_um2["weight_load_path"].value == pytest.approx(16 * 24 * 1.862 + 4 * 96 * 1.064)
    loaded = four.energy_breakdown_pj["array.weight_load"]
    w_bits = 64 * 16 * 8  # the 64x16 int8 weights, each written into the array once (one m-block)
    assert loaded.value == pytest.approx(w_bits * 2 * 0.003125 * 1.862 / 4.522)  # log2(4) mux levels per bit
    assert four.area_um2 > default.area_um2
    assert four.energy_components_pj["array"] == pytest.approx(default.energy_components_pj["array"] + loaded.value)
    os_wide = run(4 * 4 * 8, "os")  # output stationary streams both operands: no write path to widen
    assert os_wide.area_breakdown_um2["weight_load_path"].value == 0


def test_weight_load_path_cost_grows_with_its_width():
    from accel.design import ArraySpec
    from cost_models.datapath import weight_load_path

    areas = []
    for lanes in (1, 2, 3, 4, 8, 16):
        d = Design(pe=pe_mod.parse("mixpe_w4a8"), array=ArraySpec(32, 32, weight_load_bits_per_cycle=lanes * 32 * 4))
        assert weight_load_path(d).lanes == lanes
        areas.append(price(d, usage_for_gemm(d, 1, 64, 64)).area_breakdown_um2["weight_load_path"].value)
    assert areas[0] == 0 and all(a < b for a, b in zip(areas, areas[1:], strict=False))
