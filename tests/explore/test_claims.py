import json

import numpy as np
import pandas as pd
import pytest

from cost_models.explore.claims import CLAIMS_FILE, arith_kind, claims_lines, claims_table
from cost_models.explore.records import AccuracyResult, PerfResult, Point, Workload
from cost_models.explore.report import md_table
from cost_models.explore.store import accuracy_row, derive_metrics, point_row

pytestmark = pytest.mark.unit

#: Per-window mean NLLs of the reference: every design's windows are these plus its own offsets.
REF = np.array([2.9, 2.2, 2.2, 3.0, 3.4, 2.6, 2.8, 3.1])


def _row(pe, size, energy, nll_shift, schemes=("int4_g32", "int8_per_token"), bits=(4, 8), kv=None, noise=0.0):
    """A results row whose per-window NLLs are REF + ``nll_shift`` + ``noise`` x (an alternating +-1 pattern)."""
    p = Point(Workload(), pe, array_rows=size, array_cols=size, kv_cache_format=kv)
    perf = PerfResult(cycles=100, prefill_cycles=50, decode_cycles=50, compute_cycles=100, fill_drain_cycles=0,
                      memory_stall_cycles=0, dequant_stall_cycles=0, utilization=0.5, macs=1000, dram_bits=8000,
                      tokens=10, energy_pj=energy, area_um2=size * 100.0, fpga_luts=size * 10.0,
                      peak_macs_per_cycle=size * size, weight_scheme=schemes[0], act_scheme=schemes[1],
                      weight_bits=bits[0], act_bits=bits[1])
    nll = REF + nll_shift + noise * np.resize([1.0, -1.0], REF.size)
    acc = AccuracyResult("perplexity", float(np.exp(nll.mean())), float(np.exp(REF.mean())), windows=REF.size,
                         per_window=tuple(nll), reference_per_window=tuple(REF))
    return {**point_row(p, perf), **{k: v for k, v in acc_row(p, acc).items() if k.startswith("accuracy")}}


def acc_row(p, acc):
    return accuracy_row(p.arith().key, acc)


def _by_claim(df, front=None, studies=()):
    front = np.zeros(len(df), dtype=bool) if front is None else front
    return {c.claim: c for c in claims_table(df, front, "test front", studies)}


E4M3 = ("float8_e4m3fn_per_channel_fp32", "float8_e4m3fn_per_channel_fp32")
INT8 = ("int8_per_channel_fp32", "int8_per_channel_fp32")


def test_every_record_has_the_keys_and_the_json_holds_the_table(tmp_path):
    rows = [_row("int8_mac", 16, 10.0, 0.02, INT8, (8, 8)), _row("minifloat_mac", 16, 12.0, 0.01, E4M3, (8, 8))]
    records = claims_table(derive_metrics(pd.DataFrame(rows)), np.array([True, True]), "test front")
    lines = claims_lines(records, tmp_path, md_table)
    data = json.loads((tmp_path / CLAIMS_FILE).read_text())
    assert [list(d) for d in data] == [["claim", "source", "paper_value", "ours", "ours_ci95", "verdict",
                                        "setting"]] * len(records)
    assert [d["claim"] for d in data] == [r.claim for r in records]
    table = [ln for ln in "\n".join(lines).splitlines() if ln.startswith("| ")]
    assert table[0] == "| claim | source | paper | ours [95% CI] | verdict | how we tested it |"
    assert len(table) == 1 + len(records)
    mixpe = data[0]
    assert (mixpe["verdict"], mixpe["ours"]) == ("not measured", None)
    assert "add `studies: [mixpe]`" in mixpe["setting"]


def test_lmul_rows_per_multiply_and_per_dot_product_at_fp32_come_from_the_operator_energies():
    c = _by_claim(derive_metrics(pd.DataFrame([_row("int8_mac", 16, 10.0, 0.02, INT8, (8, 8))])))
    mul, dot = c["L-Mul saves 95% energy per multiply (fp32)"], c["L-Mul saves 80% energy per dot product (fp32)"]
    # Horowitz 45 nm: fp32 multiply 3.7 pJ, fp32 add 0.9 pJ, 32-bit int add 0.1 pJ (L-Mul adds 31 bits)
    assert mul.ours == pytest.approx(1 - 0.1 / 3.7, abs=2e-3) and mul.verdict == "matches"
    assert dot.ours == pytest.approx(1 - (0.1 + 0.9) / (3.7 + 0.9), abs=2e-3) and dot.verdict == "matches"
    assert {"L-Mul saves 95% energy per multiply (bf16)", "L-Mul saves 80% energy per dot product (e4m3)"} <= set(c)
    assert "e4m3 is our extension" in c["L-Mul saves 80% energy per dot product (e4m3)"].setting


def test_lmul_design_saving_and_accuracy_per_attention_mode():
    rows = [_row("minifloat_mac", 16, 10.0, 0.08, E4M3, (8, 8), noise=0.002),
            _row("lmul", 16, 8.0, 0.081, E4M3, (8, 8), noise=0.001),  # +0.001 nats: within 0.01, surely
            _row("minifloat_mac", 32, 20.0, 0.10, E4M3, (8, 8)),
            _row("lmul", 32, 10.0, 0.20, E4M3, (8, 8), noise=0.001),  # +0.1 nats: surely beyond 0.01
            _row("int8_mac", 16, 1.0, 0.5, INT8, (8, 8))]  # not a peer of L-Mul
    df = derive_metrics(pd.DataFrame(rows))
    df["attention"] = ["reference", "reference", "pe", "pe", "reference"]
    c = _by_claim(df)
    design = c["L-Mul's 80% per dot product, as a whole-design energy saving"]
    assert design.ours == pytest.approx(0.35) and design.ours_ci95 == pytest.approx([0.2, 0.5])
    assert design.verdict == "falls short"
    weights = c["L-Mul is near lossless (L-Mul in weight products only)"]
    assert weights.ours == pytest.approx(0.001) and weights.ours_ci95[1] < 0.01 and weights.verdict == "holds"
    attn = c["L-Mul is near lossless (L-Mul in every product incl. attention)"]
    assert attn.ours == pytest.approx(0.1) and attn.ours_ci95[0] > 0.01 and attn.verdict == "does not hold"
    paper = c["L-Mul is near lossless (L-Mul in attention products only (weights exact))"]
    assert paper.verdict == "not measured" and "attention: pe_only" in paper.setting
    df.loc[2:3, "attention"] = "pe_only"  # the paper's setting: L-Mul in attention only, weight products exact
    paper = _by_claim(df)[paper.claim]
    assert paper.verdict == "does not hold" and paper.setting.startswith(
        "L-Mul in attention products only (weights exact): lmul minus minifloat_mac, paired over 8 windows")


def test_zeroquant_rows_pair_designs_that_differ_in_one_operand_and_can_be_unresolved():
    rows = [_row("minifloat_mac", 16, 12.0, 0.010, E4M3, (8, 8), noise=0.03),
            _row("minifloat_mac:a=int8", 16, 10.0, 0.012, ("float8_e4m3fn_per_channel_fp32", INT8[1]), (8, 8),
                 noise=-0.03)]
    c = _by_claim(derive_metrics(pd.DataFrame(rows)))
    fp8 = c["FP8 activations beat INT8 activations (with float8_e4m3fn)"]
    lo, hi = fp8.ours_ci95
    assert fp8.ours == pytest.approx(-0.002) and lo < 0 < hi and fp8.verdict == "unresolved"
    assert fp8.setting.startswith("same weight scheme float8_e4m3fn_per_channel_fp32: minifloat_mac minus "
                                  "minifloat_mac:a=int8, paired over 8 windows")
    assert c["FP4 weights match or beat INT4 weights"].verdict == "not measured"


def test_bfp_kv_memory_ratio_and_paired_accuracy_of_the_sorted_small_format():
    from accel import formats

    fp16 = ("q4_1", "float16")
    rows = [_row("fp16_dequant_first", 32, 10.0, 0.0, fp16, (4, 16), kv=None),
            _row("fp16_dequant_first", 32, 10.0, 0.001, fp16, (4, 16), kv="bfp16_b32"),
            _row("fp16_dequant_first", 32, 10.0, 0.150, fp16, (4, 16), kv="bfp12_b32"),
            _row("fp16_dequant_first", 32, 10.0, 0.040, fp16, (4, 16), kv="bfp12_b32", noise=0.001)]
    df = derive_metrics(pd.DataFrame(rows))
    df["kv_sort_k_channels"] = [False, False, False, True]
    c = _by_claim(df)
    mem = c["BFP KV cache: 2x memory saving"]
    lo, hi = formats.get("bfp12_b32").bits_per_element, formats.get("bfp16_b32").bits_per_element
    assert mem.ours == pytest.approx(hi / lo) and mem.verdict == "matches"  # within 20% of 2x
    acc = c["BFP KV cache with K-channel sorting: no significant accuracy loss"]
    assert acc.ours == pytest.approx(0.04) and acc.verdict == "does not hold"
    assert "KV cache bfp12_b32 with K channels sorted vs unquantized: " in acc.setting
    df = df.drop(index=0)  # without an unquantized cache, against the largest BFP format
    acc = _by_claim(df)[acc.claim]
    assert acc.ours == pytest.approx(0.039) and "bfp12_b32 with K channels sorted vs bfp16_b32" in acc.setting


def test_integer_vs_minifloat_front():
    rows = [_row("int8_mac", 16, 10.0, 0.02, INT8, (8, 8)),
            _row("minifloat_mac", 16, 12.0, 0.01, E4M3, (8, 8)),
            _row("minifloat_mac:w=fp4", 16, 8.0, 0.05, ("float4_e2m1fn", "float8_e4m3fn"), (4, 8))]
    df = derive_metrics(pd.DataFrame(rows))
    claim = "over 3-8 bits, integer quantization often remains Pareto-optimal (accuracy vs hardware cost)"
    c = _by_claim(df, np.array([True, True, False]))[claim]
    assert (c.ours, c.verdict) == ("front: 1 integer, 1 minifloat of 2 designs", "holds")
    assert _by_claim(df, np.array([False, True, True]))[claim].verdict == "does not hold"


def test_arith_kind():
    assert arith_kind("int4_g32", "int8_per_token") == "integer"
    assert arith_kind("q4_1", "int8_per_token") == "integer"
    assert arith_kind("float4_e2m1fn", "float8_e4m3fn") == "minifloat"
    assert arith_kind("int4_g32", "float16") == "other"
    assert arith_kind("int4_g32", "float8_e4m3fn") == "minifloat"
    assert arith_kind("mxfp4", "mxfp8_e4m3") == "other"


def test_a_sweep_lists_its_cost_studies_and_unknown_ones_are_refused():
    from accel.errors import ConfigError
    from cost_models.explore.spec import load_preset, sweep_from_dict

    base = {"workload": {"model": "toy"}, "axes": {"pe": ["int8_mac"], "array": "8x8"}}
    assert sweep_from_dict({**base, "studies": ["mixpe"]}).studies == ("mixpe",)
    assert sweep_from_dict(base).studies == ()
    assert load_preset("default").studies == ("mixpe",)
    for bad in (["nope"], "mixpe", [{"a": 1}]):
        with pytest.raises(ConfigError, match=r"^<dict>: 1 problem\(s\): .*studies must be a list of study names "
                                              r"from mixpe, got "):
            sweep_from_dict({**base, "studies": bad})
