"""Regression: pricing and calibration with the REAL committed rtl/reports/synth_table.json present.

PE rows of the report are read through ``pe_hardware``; pricing with the calibrated area model once
re-entered the calibration those very rows feed (infinite recursion).  These run the whole path on the
committed report, with every cache cleared, so the loop cannot come back unnoticed.
"""

import json

import pytest

from cost_models import fpga, pe_cost
from cost_models.cli import main

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh_caches(monkeypatch):
    if not fpga.RTL_REPORT.exists():
        pytest.fail(f"committed synthesis report missing: {fpga.RTL_REPORT}")
    fpga.synth_blocks.cache_clear()
    monkeypatch.setattr(pe_cost, "_REL_CACHE", {})
    yield
    fpga.synth_blocks.cache_clear()


def test_committed_report_has_pe_rows(fresh_caches):
    pes = [b for b in fpga.report_blocks() if b.family == "pe"]
    assert len(pes) >= 4 and all(b.composite and b.ge for b in pes)


def test_price_design_with_committed_report(fresh_caches, capsys):
    code = main(["cost", "--pe", "mixpe_w4a8", "--array", "32x32", "--dataflow", "ws", "--gemm", "64,1536,576",
                 "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["macs"] == 64 * 1536 * 576
    assert d["energy_pj"] > 0 and d["area_um2"] > 0 and d["fpga_luts"] > 0


def test_calibration_with_committed_report(fresh_caches, capsys):
    code = main(["cost", "--show", "calibration", "--json"])
    cal = json.loads(capsys.readouterr().out)
    assert code == 0
    blocks = {r["block"] for r in cal["bases"]["rtl/nand2_cells.lib"]["structural"]["blocks"]}
    assert {b.name for b in fpga.report_blocks() if b.family == "pe"} <= blocks


def test_pe_rows_area_within_15_percent_except_fused_mac(fresh_caches):
    """Structural area of the synthesised PEs (composed from operator families, never fitted to them)."""
    from cost_models.calibration import asic_calibration

    rows = asic_calibration()["bases"]["rtl/nand2_cells.lib"]["structural"]["blocks"]
    pes = {r["block"]: r["error_held_out"] for r in rows if r["family"] == "pe"}
    assert len(pes) >= 4
    for name, err in pes.items():
        # int8_mac: Yosys fuses its `*` and `+` into one $macc (docs/cost_models.md); a known miss
        assert abs(err) <= (0.35 if name.startswith("int8_mac") else 0.15), (name, err)


# Known misses, each measured and explained in docs/cost_models.md ("Synthesised PEs"): Yosys fuses
# int8_mac's `*` and `+` into one $macc (re-synthesised without `alumacc`: 242 iCE40 LUTs, 1131 GE);
# iCE40 maps the saturating mixpe_w4a8's two constant compares onto carry chains (+35 LUTs vs wrap).
LUT_BOUND = {("ice40", "int8_mac"): 0.50, ("xc7", "int8_mac"): 0.50, ("ice40", "mixpe_w4a8"): 0.35}


@pytest.mark.parametrize("target", fpga.TARGETS)
def test_pe_rows_luts_within_15_percent_except_known(fresh_caches, target):
    rows = [r for r in fpga.FpgaModel(target).validation() if r["family"] == "pe"]
    assert len(rows) >= 4
    for r in rows:
        bound = LUT_BOUND.get((target, r["block"].split()[0]), 0.15)
        assert r["held_out"].startswith("predicted") and abs(r["error_held_out"]) <= bound, r
