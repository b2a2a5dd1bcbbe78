"""The PE datapath as operators (structure only): fused multiply-accumulate, clamp, and the synthesis rows."""

import json

import pytest

import accel.pe as pe_mod
from cost_models import datapath, pe_cost
from cost_models.fpga import blocks as fpga_blocks
from cost_models.fpga import model
from cost_models.operators import OperatorModel, macc_parts, split_key

pytestmark = pytest.mark.unit

# The PE variants other engineers are adding RTL for; their synthesis rows must find operators.
NEW_VARIANTS = ("block_mac", "lmul", "minifloat_mac:accumulate=fp32", "fp16_dequant_first")


def test_integer_multiplier_into_accumulator_is_one_fused_macc():
    dp = datapath.pe_datapath(pe_mod.parse("int8_mac"))
    assert [(o.key, o.instances) for o in dp.pe_ops] == [("macc:8x8x32", 1)]
    # maccmap: 8 partial products sign-extended to 32 bits, so 7 rows of adders run on over 32 - 16 columns
    assert macc_parts("macc:8x8x32") == ("int_mul:8x8", "int_add:32", "sext:7x16")
    assert macc_parts("macc:8x4x12") == ("int_mul:8x4", "int_add:12")  # accumulator no wider than the product


def test_fusion_only_where_the_product_feeds_the_accumulator():
    # shift-add (MixPE), an exact float product placed by a shifter (Kulisch): no $macc
    for spec in ("mixpe_w4a8", "minifloat_mac:accumulate=kulisch", "mixpe_w4a16"):
        kinds = {split_key(o.key)[0] for o in datapath.pe_datapath(pe_mod.parse(spec)).pe_ops}
        assert "macc" not in kinds, spec
    dp = datapath.pe_datapath(pe_mod.parse("mixpe_w4a8"))
    assert dp.pe_ops[-1].key == f"clamp:{dp.acc_bits}" and dp.pe_ops[-1].role == "saturation clamp"


def test_fused_macc_energy_is_its_multiply_plus_add():
    m = OperatorModel()
    macc, mul, add = m.price("macc:8x8x32"), m.price("int_mul:8x8"), m.price("int_add:32")
    assert macc.energy_pj == pytest.approx(mul.energy_pj + add.energy_pj, rel=1e-12)
    # run energy still comes from the activity counts (int_mul and int_add), unchanged by the fusion
    hw = pe_cost.pe_hardware(pe_mod.parse("int8_mac"), m)
    assert [u.key for u in hw.pe_units] == ["macc:8x8x32"] and "fused" in hw.pe_units[0].law


def test_report_rows_list_operators_without_pricing(tmp_path, monkeypatch):
    """Reading PE rows must not price anything (pricing with the calibrated area model re-enters the
    calibration these rows feed)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a synthesis row was priced while being read")

    monkeypatch.setattr(OperatorModel, "price", refuse)
    monkeypatch.setattr(pe_cost, "unit_area", refuse)
    path = tmp_path / "synth_table.json"
    path.write_text(json.dumps({"meta": {}, "rows": [
        {"block": "int8_mac PE", "pe": "int8_mac", "kind": "pe", "multiplier": "array", "target": "generic",
         "nodsp": False, "ge": 1500},
        {"block": "mixpe mul", "pe": "mixpe_w4a8", "kind": "mul", "multiplier": None, "target": "generic",
         "nodsp": False, "ge": 230}]}))
    got = {b.name: b for b in fpga_blocks.report_blocks(path)}
    assert got["int8_mac PE"].ops == ("macc:8x8x32", "macc_gate:32") and got["int8_mac PE"].register_bits == 33
    assert got["mixpe mul"].ops == ("shift_add_mul:8x4",)


@pytest.mark.parametrize("spec", NEW_VARIANTS)
def test_new_variants_have_operator_lists(spec):
    row = {"name": spec, "pe": spec, "kind": "pe", "ge": 1000.0, "xc7_luts": 300, "ice40_luts": 400}
    b = fpga_blocks._report_block(row, "test")
    assert b is not None and b.composite and b.ops and b.register_bits > 0
    assert any(split_key(k)[0] in ("fp_add", "lmul_add", "int_add", "macc") for k in b.ops)  # an accumulator
    rows = model.FpgaModel("xc7", blocks=fpga_blocks.synth_blocks() + (b,)).validation()
    (r,) = [r for r in rows if r["block"] == spec]
    assert r["predicted_luts"] > 0 and r["held_out"].startswith("predicted")


# Exact products of the RTL (``rtl.arith.grid_products.exact_product_shape``: the two's-complement width) against the
# model's alignment (a P-bit product at offsets 0..R, negated over P + R + 1 bits): independent derivations.
EXACT_PAIRS = [("float8_e4m3fn", "float8_e4m3fn"), ("float8_e5m2", "float8_e5m2"), ("float6_e2m3fn", "float6_e2m3fn"),
               ("float6_e3m2fn", "float6_e3m2fn"), ("float4_e2m1fn", "float4_e2m1fn"), ("float4_e2m1fn", "int4"),
               ("fp16", "int4")]


@pytest.mark.parametrize(("a", "w"), EXACT_PAIRS)
def test_alignment_matches_rtl_exact_product_width(a, w):
    from amaranth.hdl import signed

    from cost_models.datapath import alignment_keys
    from cost_models.operators import operand
    from rtl.arith.floats import FloatFields
    from rtl.arith.grid_products import exact_product_shape

    def fields(t):
        o = operand(t)
        return (FloatFields(o.ebits, o.mbits) if o.is_float else None), signed(o.bits)

    (fa, sa), (fw, sw) = fields(a), fields(w)
    keys = alignment_keys(a, w)
    assert keys[-1] == f"negate:{exact_product_shape(sa, fa, sw, fw).width}"
    shift = [k for k in keys if k.startswith("shift:")]
    p = operand(a).significand_bits + operand(w).significand_bits
    max_shift = sum(x.max_shift for x in (fa, fw) if x is not None)  # rtl.arith.floats.FloatFields.max_shift
    assert shift == ([f"shift:{p}x{max_shift}"] if max_shift else [])


def test_kulisch_alignment_takes_the_product_width():
    """MixPE W4A16's Kulisch add aligns the 15-bit fp16 x int4 product, not a 50-bit barrel shift of the accumulator;
    block_mac's integer (BFP) elements share one grid: a fused multiply-accumulate, no shifter."""
    dp = datapath.pe_datapath(pe_mod.parse("mixpe_w4a16"))
    keys = dp.pe_keys()
    assert not [k for k in keys if k.startswith("kulisch_add")]
    assert "shift:15x30" in keys and "negate:46" in keys and f"int_add:{dp.acc_bits}" in keys
    bfp = datapath.pe_datapath(pe_mod.parse("block_mac:act_format=bfp16_b16,weight_format=bfp12_b16"))
    assert [o.key for o in bfp.pe_ops] == ["macc:8x4x15"]


@pytest.mark.parametrize("spec", ["block_mac", "block_mac:act_format=mxfp4,weight_format=mxfp4", "lmul"])
def test_own_rtl_pes_hold_their_dequantization(spec):
    """The stand-alone block_mac / lmul PEs contain the post-accumulation path (conversion + FP32 add; the FP32
    dequant multiplies), which the array PE's datapath leaves to the dequant unit."""
    p = pe_mod.parse(spec)
    dp = datapath.pe_datapath(p)
    ops, _ = fpga_blocks._rtl_pe_structure(spec, dp)
    assert [o.key for o in dp.dequant_ops] and all(o.key in ops for o in dp.dequant_ops)
    if p.name == "lmul":
        assert ops.count("dequant_mul:fp32") == 2 and "gate:32" in ops
    else:
        assert {"fp_add:fp32", "gate:32", f"gate:{dp.acc_bits}", f"convert:{dp.acc_bits}"} <= set(ops)


def test_registers_match_synthesised_flip_flops():
    """The model's register bits of every synthesised PE row equal the flip-flops Yosys counted (RTL report)."""
    if not fpga_blocks.RTL_REPORT.exists():
        pytest.fail(f"committed synthesis report missing: {fpga_blocks.RTL_REPORT}")
    rows = json.loads(fpga_blocks.RTL_REPORT.read_text())["rows"]
    ffs = {r["block"]: r["ffs"] for r in rows if r.get("kind") == "pe" and r.get("target") == "generic"}
    blocks = {b.name: b for b in fpga_blocks.report_blocks() if b.family == "pe"}
    assert len(ffs) >= 5 and set(ffs) == set(blocks)
    assert {n: blocks[n].register_bits for n in ffs} == ffs
