"""MixPE like for like: the iso-area solver against exhaustive enumeration, the synthesised dequant unit's area,
the folded trace against the full one, and the records of one pair."""

import dataclasses
import json

import pytest

from accel.errors import ConfigError
from cost_models.studies import mixpe as m
from rtl.synth.results import TABLE

pytestmark = pytest.mark.unit
SMALL = dataclasses.replace(m.SETTINGS["smollm2"], prefill_tokens=8, decode_tokens=1)
W4A8 = m.PAIRS[2]


def _brute_force(design, budget, part, max_dim):
    best = None
    for r in range(1, max_dim + 1):
        for c in range(1, max_dim + 1):
            if max(r, c) > m.MAX_ASPECT * min(r, c):
                continue
            d = dataclasses.replace(design, array=dataclasses.replace(design.array, rows=r, cols=c))
            if m.area_split(d)[part] <= budget:
                key = (r * c, -abs(r - c), c)
                best = max(best or (key, (r, c)), (key, (r, c)))
    return best[1]


@pytest.mark.parametrize("part", ["whole", "logic"])
@pytest.mark.parametrize("pe", [W4A8.mixpe, "int8_mac"])
def test_largest_array_equals_exhaustive_enumeration(part, pe):
    design = m.design_for(SMALL, pe, (8, 8))
    for rows, cols in ((6, 9), (10, 7), (12, 12)):
        other = dataclasses.replace(design, array=dataclasses.replace(design.array, rows=rows, cols=cols))
        budget = m.area_split(other)[part]
        assert m.largest_array(design, budget, part, max_dim=24) == _brute_force(design, budget, part, 24)


def test_largest_array_refuses_a_budget_nothing_fits():
    design = m.design_for(SMALL, "int8_mac", (8, 8))
    with pytest.raises(ConfigError, match=r"^no array of 'int8_mac' fits 1\.0 um\^2 \(logic area\)$"):
        m.largest_array(design, 1.0, "logic")
    with pytest.raises(ConfigError, match=r"^part must be 'whole' or 'logic', got 'pes'$"):
        m.largest_array(design, 1e9, "pes")


def test_dequant_unit_area_is_the_synthesised_unit_s():
    rows = json.loads(TABLE.read_text())["rows"]
    ge = next(r["ge"] for r in rows if r["kind"] == "dequant" and r["target"] == "generic"
              and r["pe"] == m.DEQUANT_RTL_PE)
    assert m.synthesised_dequant()["area_um2"] == pytest.approx(ge * 0.798)  # Nangate 45 nm NAND2_X1
    design = m.design_for(SMALL, W4A8.mixpe, (4, 6))
    split = m.area_split(design)
    assert split["dequant_units"] == pytest.approx(6 * ge * 0.798)  # one unit per column
    assert split["whole"] == pytest.approx(split["logic"] + split["buffers"])
    assert split["logic"] == pytest.approx(split["pes"] + split["dequant_units"])
    assert m.area_split(m.design_for(SMALL, W4A8.baseline, (4, 6)))["buffers"] == split["buffers"]


def test_folded_trace_costs_what_the_full_trace_costs():
    from workloads.shapes import shape_trace
    from workloads.trace import Trace

    folded = m.folded_trace(SMALL, "smollm2-135m")
    full = Trace("smollm2-135m", [*shape_trace("smollm2-135m", phase="prefill", tokens=8).ops,
                                  *shape_trace("smollm2-135m", phase="decode", tokens=8).ops], {})
    assert len(folded.ops) < len(full.ops) / 10
    design = m.design_for(SMALL, W4A8.mixpe, (8, 8))
    a, b = m.run(design, folded), m.run(design, full)
    assert (a["cycles"], a["energy_pj"]) == (b["cycles"], pytest.approx(b["energy_pj"], rel=1e-12))


def test_records_of_one_pair_state_the_setting_and_the_iso_area_array(monkeypatch):
    monkeypatch.setitem(m.SETTINGS, "small", dataclasses.replace(SMALL, name="small"))
    recs = m.records(settings=("small",), pairs=(W4A8, m.PAIRS[1]))
    assert [r.claim for r in recs] == [
        "MixPE 2.6x speedup: W4A8 vs INT8 (W8A8), smollm2-135m",
        "MixPE 1.4x energy reduction: W4A8 vs INT8 (W8A8), smollm2-135m",
        "MixPE 2.6x speedup: W4A8 vs conventional W4A8 (INT4 weights dequantized before an INT8 MAC), smollm2-135m",
        "MixPE 1.4x energy reduction: W4A8 vs conventional W4A8 (INT4 weights dequantized before an INT8 MAC), "
        "smollm2-135m"]
    speed, energy, missing = recs[0], recs[1], recs[2]
    assert speed.paper_value == 2.6 and energy.paper_value == 1.4 and speed.ours_ci95 is None
    assert "MixPE on the largest square array within the baseline's whole-design area: " in speed.setting
    assert "within its compute-logic area: " in speed.setting
    assert "most PEs with rows and columns within 2x" in speed.setting
    assert speed.setting.startswith("single-stream smollm2-135m: batch 1, prefill of 8 tokens + 1 decode step(s)")
    assert missing.verdict == "not measured" and missing.setting.startswith("accel.pe has no W4A8 dequant-first PE")


def test_the_paper_setting_is_batched_fc_layers_of_one_token_per_sequence():
    paper = m.SETTINGS["paper"]
    trace = m.folded_trace(paper, "llama2-13b")
    assert {o.phase for o in trace.ops} == {"decode"}
    assert {o.m for o in trace.ops if o.weight_ref is not None} == {64}
    assert {(o.name, o.count) for o in trace.ops if o.name.startswith("ffn")} == {
        ("ffn_gate", 40), ("ffn_up", 40), ("ffn_down", 40)}  # LLaMA-2-13B: 40 blocks
    assert "batch 64, 1 step(s) of one token per sequence (M = 64) after a 128-token context" in paper.describe("x")
