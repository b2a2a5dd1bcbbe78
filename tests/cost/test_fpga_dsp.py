"""DSP blocks per operator/PE when the flow may use them, against Yosys with DSPs allowed (the oracle)."""

import json

import pytest

from accel.cli import main
from cost_models.fpga import blocks as fpga_blocks
from cost_models.fpga import dsp

pytestmark = pytest.mark.unit


def test_rule_equals_synthesis_on_every_probe_and_report_row():
    rows = fpga_blocks.dsp_validation()
    by_target = {t: [r for r in rows if r["target"] == t] for t in dsp.DSP_TARGETS}
    # 15 multipliers + 8 PEs on each target (sweep), + the RTL report's ECP5 multipliers and PEs
    assert len(by_target["xc7"]) >= 23 and len(by_target["ecp5"]) >= 40
    assert [r for r in rows if r["measured_dsps"] != r["predicted_dsps"]] == []
    # the rule is not trivially 0 or 1: wide products tile, narrow ones stay in LUTs
    assert {r["measured_dsps"] for r in rows} >= {0, 1, 2, 4, 8}


@pytest.mark.parametrize("key,xc7,ecp5", [
    ("int_mul:4x4", 0, 1),  # XC7: products under 9 bits stay in LUTs
    ("int_mul:8x2", 1, 1),
    ("int_mul:19x18", 1, 1),  # ECP5: the 1-bit top piece goes to LUTs
    ("int_mul:26x18", 2, 2),
    ("int_mul:uint24xuint24", 2, 4),  # XC7 is signed only: an unsigned 24-bit operand needs 25 bits
    ("fp_mul:fp32xfp32", 2, 4),  # significand product 24 x 24, unsigned
    ("macc:8x8x32", 1, 1),
    ("shift_add_mul:8x4", 0, 0),
    ("lmul_add:8", 0, 0),
])
def test_dsps_per_operator(key, xc7, ecp5):
    assert (dsp.dsps(key, "xc7"), dsp.dsps(key, "ecp5"), dsp.dsps(key, "ice40")) == (xc7, ecp5, 0)


def test_report_arrays_are_sixteen_pes():
    """The RTL report's 4x4 arrays on ECP5 hold 16 times their PE's DSPs (arrays are not model rows)."""
    if not fpga_blocks.RTL_REPORT.exists():
        pytest.fail(f"committed synthesis report missing: {fpga_blocks.RTL_REPORT}")
    rows = json.loads(fpga_blocks.RTL_REPORT.read_text())["rows"]
    arrays = {r["pe"]: r["dsps"] for r in rows if r["kind"] == "array4x4" and r["target"] == "ecp5" and r.get("dsps")
              is not None}
    pes = {b.name: b for b in fpga_blocks.synth_blocks() if b.family == "pe"}
    assert arrays["int8_mac"] == 16 * dsp.block_dsps(pes["int8_mac PE (int32 acc)"].ops, "ecp5")
    assert arrays["minifloat_mac:accumulate=kulisch"] == 16 * dsp.block_dsps(
        pes["minifloat_mac PE (e4m3, Kulisch K<=4096)"].ops, "ecp5")
    assert arrays["mixpe_w4a8:weight_format=q4_1"] == 0


def test_design_reports_dsps_if_allowed(capsys):
    for pe, per_pe in (("int8_mac", 1), ("mixpe_w4a8", 0)):
        assert main(["cost", "--pe", pe, "--array", "8x4", "--dataflow", "ws", "--gemm", "16,64,64", "--json"]) == 0
        d = json.loads(capsys.readouterr().out)["fpga"]
        assert d["dsps"] == 0  # the LUT counts are for LUT-only mapping
        x = d["dsps_if_allowed"]["xc7"]
        assert x["per_pe"] == per_pe and x["total"] >= 32 * per_pe
