"""Regression: pricing and calibration with the REAL committed rtl/reports/synth_table.json present.

PE rows of the report are read through ``pe_datapath`` (operators, never priced); pricing them with the
calibrated area model once re-entered the calibration those very rows feed (infinite recursion).  These run
the whole path on the committed report, with every cache cleared, so the loop cannot come back unnoticed.
"""

import json

import pytest

from accel.cli import main
from cost_models import pe_cost
from cost_models.fpga import blocks as fpga_blocks
from cost_models.fpga import model, structure

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh_caches(monkeypatch):
    if not fpga_blocks.RTL_REPORT.exists():
        pytest.fail(f"committed synthesis report missing: {fpga_blocks.RTL_REPORT}")
    fpga_blocks.synth_blocks.cache_clear()
    monkeypatch.setattr(pe_cost, "_REL_CACHE", {})
    yield
    fpga_blocks.synth_blocks.cache_clear()


def test_committed_report_has_pe_rows(fresh_caches):
    pes = [b for b in fpga_blocks.report_blocks() if b.family == "pe"]
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
    assert {b.name for b in fpga_blocks.report_blocks() if b.family == "pe"} <= blocks


#: PE rows that must be in the committed report (every PE row present is checked against the bounds below).
REQUIRED = ("int8_mac PE (int32 acc)", "mixpe_w4a8 PE (int4, g=32)", "mixpe_w4a8 PE (uint4 + S_a, g=32)",
            "minifloat_mac PE (e4m3, Kulisch K<=4096)", "mixpe_w4a16 PE (int4, g=32, exact group sum)")


def test_pe_rows_area_within_15_percent(fresh_caches):
    """Structural area of every synthesised PE (composed from operator families, never fitted to them)."""
    from cost_models.fpga.calibration import asic_calibration

    rows = asic_calibration()["bases"]["rtl/nand2_cells.lib"]["structural"]["blocks"]
    pes = {r["block"]: r for r in rows if r["family"] == "pe"}
    assert set(REQUIRED) <= set(pes)
    for name, r in pes.items():
        assert r["calibrated_ge"] > 0 and r["held_out"].startswith("predicted"), r
        assert abs(r["error_held_out"]) <= 0.15, (name, r["error_held_out"])


@pytest.mark.parametrize("target", structure.TARGETS)
def test_pe_rows_luts_within_15_percent(fresh_caches, target):
    rows = [r for r in model.FpgaModel(target).validation() if r["family"] == "pe"]
    assert set(REQUIRED) <= {r["block"] for r in rows}
    for r in rows:
        assert r["predicted_luts"] > 0 and r["held_out"].startswith("predicted"), r
        assert abs(r["error_held_out"]) <= 0.15, r
