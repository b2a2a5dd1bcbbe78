import math

import numpy as np
import pandas as pd
import pytest

from cost_models.explore.claims import arith_kind, claims_table
from cost_models.explore.records import AccuracyResult, PerfResult, Point, Workload
from cost_models.explore.store import accuracy_row, derive_metrics, point_row

pytestmark = pytest.mark.unit


def _row(pe, size, cycles, energy, loss, schemes=("int4_g32", "int8_per_token"), bits=(4, 8), kv=None, area=None):
    p = Point(Workload(), pe, array_rows=size, array_cols=size, kv_cache_format=kv)
    perf = PerfResult(cycles=cycles, prefill_cycles=cycles // 2, decode_cycles=cycles - cycles // 2,
                      compute_cycles=cycles, fill_drain_cycles=0, memory_stall_cycles=0, dequant_stall_cycles=0,
                      utilization=0.5, macs=1000, dram_bits=8000, tokens=10, energy_pj=energy,
                      area_um2=area or size * 100.0,
                      fpga_luts=size * 10.0, peak_macs_per_cycle=size * size, weight_scheme=schemes[0],
                      act_scheme=schemes[1], weight_bits=bits[0], act_bits=bits[1])
    acc = accuracy_row(p.arith().key, AccuracyResult("perplexity", 10 * (1 + loss), 10.0))
    return {**point_row(p, perf), **{k: v for k, v in acc.items() if k.startswith("accuracy")}}


def _by_claim(df, front=None):
    front = np.zeros(len(df), dtype=bool) if front is None else front
    return {c.claim: c for c in claims_table(df, front, "test front")}


def test_mixpe_ratios_are_iso_area_and_take_each_familys_best():
    rows = [_row("fp16_dequant_first", 16, 300, 14.0, 0.01, ("int4_g32", "float16"), (4, 16)),  # area 1600
            _row("fp16_dequant_first", 32, 200, 10.5, 0.01, ("int4_g32", "float16"), (4, 16)),  # area 3200
            _row("mixpe_w4a8", 16, 100, 10.0, 0.02),  # area 1600
            _row("mixpe_w4a8:group_size=128", 16, 150, 9.0, 0.03),  # area 1600: worse cycles, better energy
            _row("mixpe_w4a8", 32, 100, 10.0, 0.02, area=3000.0),
            _row("mixpe_w4a8", 64, 50, 12.0, 0.02, area=3150.0),  # fits the 32x32 FP16 budget
            _row("int8_mac", 16, 110, 9.5, 0.02, ("int8_per_channel", "int8_per_token"), (8, 8))]
    df = derive_metrics(pd.DataFrame(rows))
    c = _by_claim(df)
    speed = c["MixPE speedup 2.6x vs quantization accelerators (ours: vs fp16_dequant_first, iso-area)"]
    # iso-area: 300/100 in the 16x16 budget, 200/50 in the 32x32 budget; same array: 300/100 and 200/100
    assert speed.ours == f"{math.sqrt(3.0 * 4.0):.2f}x (range 3.00-4.00x over 2 fp16_dequant_first design(s))"
    assert speed.verdict == "holds" and speed.reason.startswith(f"same array size: {math.sqrt(3.0 * 2.0):.2f}x")
    energy = c["MixPE energy reduction 1.4x vs quantization accelerators (ours: vs fp16_dequant_first, iso-area)"]
    assert energy.ours.startswith(f"{math.sqrt(14 / 9 * 10.5 / 9):.2f}x (range 1.17-1.56x")
    assert energy.verdict == "holds"
    vs_int8 = c["MixPE speedup 2.6x vs quantization accelerators (ours: vs int8_mac, iso-area)"]
    assert vs_int8.ours == "1.10x (range 1.10-1.10x over 1 int8_mac design(s))"
    assert vs_int8.verdict == "partly" and "baseline is unnamed" in vs_int8.reason
    assert _by_claim(df)["L-Mul saves 80% energy per dot product at near-equal accuracy"].verdict == "not measured"


def test_integer_vs_minifloat_front_and_zeroquant_rows():
    rows = [_row("int8_mac", 16, 100, 10.0, 0.02, ("int8_per_channel", "int8_per_token"), (8, 8)),
            _row("minifloat_mac", 16, 100, 12.0, 0.01, ("float8_e4m3fn", "float8_e4m3fn"), (8, 8)),
            _row("minifloat_mac:w=fp4", 16, 100, 8.0, 0.05, ("float4_e2m1fn", "float8_e4m3fn"), (4, 8)),
            _row("mixpe_w4a8", 16, 100, 7.0, 0.04)]
    df = derive_metrics(pd.DataFrame(rows))
    front = np.array([True, True, False, True])
    c = _by_claim(df, front)
    mf = c["over 3-8 bits, integer quantization often remains Pareto-optimal (accuracy vs hardware cost)"]
    assert (mf.ours, mf.verdict) == ("front (test front): 2 integer, 1 minifloat of 3 designs", "holds")
    assert _by_claim(df, np.array([False, True, True, False]))[mf.claim].verdict == "does not hold"
    fp8 = c["FP8 activations beat INT8 activations (gap grows past 1B parameters)"]
    assert (fp8.ours, fp8.verdict) == ("accuracy loss FP8 act vs INT8 act: 0.01 vs 0.02 (best of each)", "holds")
    assert fp8.reason.startswith("unpaired: no weight scheme is swept with both")
    fp4 = c["FP4 weights match or beat INT4 weights"]
    assert (fp4.ours, fp4.verdict) == ("accuracy loss FP4 vs INT4 weights: 0.05 vs 0.04 (best of each)",
                                       "does not hold")
    # pairs on the other operand: an FP4-weight design and an INT4-weight design with the same FP8 activations
    rows.append(_row("minifloat_mac:w=int4", 16, 100, 8.0, 0.046, ("int4_per_channel", "float8_e4m3fn"), (4, 8)))
    rows.append(_row("minifloat_mac:a=int8", 16, 100, 8.0, 0.005, ("float8_e4m3fn", "int8_per_channel"), (8, 8)))
    c = _by_claim(derive_metrics(pd.DataFrame(rows)), np.array([True, True, False, True, False, False]))
    fp4 = c["FP4 weights match or beat INT4 weights"]
    assert (fp4.ours, fp4.verdict) == ("accuracy loss FP4 vs INT4 weights: with float8_e4m3fn: 0.05 vs 0.046",
                                       "holds")  # 0.05 <= 1.1 * 0.046
    assert fp4.reason == "'match' = FP4 loss <= 1.1x INT4 loss; paired on the same act scheme"
    fp8 = c["FP8 activations beat INT8 activations (gap grows past 1B parameters)"]
    assert (fp8.ours, fp8.verdict) == ("accuracy loss FP8 act vs INT8 act: with float8_e4m3fn: 0.01 vs 0.005",
                                       "does not hold")


def test_arith_kind():
    assert arith_kind("int4_g32", "int8_per_token") == "integer"
    assert arith_kind("q4_1", "int8_per_token") == "integer"
    assert arith_kind("float4_e2m1fn", "float8_e4m3fn") == "minifloat"
    assert arith_kind("int4_g32", "float16") == "other"
    assert arith_kind("int4_g32", "float8_e4m3fn") == "minifloat"
    assert arith_kind("mxfp4", "mxfp8_e4m3") == "other"


def test_bfp_kv_compares_the_sorted_small_format_with_the_large_one():
    from accel import formats

    fp16 = ("q4_1", "float16")
    rows = [_row("fp16_dequant_first", 32, 100, 10.0, 0.100, fp16, (4, 16), kv=None),
            _row("fp16_dequant_first", 32, 100, 10.0, 0.101, fp16, (4, 16), kv="bfp16_b32"),
            _row("fp16_dequant_first", 32, 100, 10.0, 0.150, fp16, (4, 16), kv="bfp12_b32"),
            _row("fp16_dequant_first", 32, 100, 10.0, 0.105, fp16, (4, 16), kv="bfp12_b32")]
    df = derive_metrics(pd.DataFrame(rows))
    df["kv_sort_k_channels"] = [False, False, False, True]
    lo, hi = formats.get("bfp12_b32").bits_per_element, formats.get("bfp16_b32").bits_per_element
    c = _by_claim(df)["BFP KV cache with K-channel sorting: 2x memory saving without significant accuracy loss"]
    assert c.ours == (f"best small format bfp12_b32 sorted ({lo:g} bits/element) vs {hi:g}: {hi / lo:.2f}x less "
                      "KV memory; accuracy loss 0.105 vs 0.101 (unsorted bfp12_b32: 0.15)")
    assert c.verdict == "holds"  # 0.105 - 0.101 < 0.01
    df.loc[3, "accuracy_loss"] = 0.2
    assert _by_claim(df)[c.claim].verdict == "does not hold"


def test_lmul_is_compared_with_the_exact_pe_of_the_same_formats():
    e4m3 = ("float8_e4m3fn_per_channel_fp32", "float8_e4m3fn_per_channel_fp32")
    rows = [_row("minifloat_mac", 16, 100, 10.0, 0.08, e4m3, (8, 8)),
            _row("lmul", 16, 100, 8.0, 0.09, e4m3, (8, 8)),
            _row("int8_mac", 16, 100, 1.0, 0.5, ("int8_per_channel_fp32", "int8_per_channel_fp32"), (8, 8))]
    c = _by_claim(derive_metrics(pd.DataFrame(rows)))["L-Mul saves 80% energy per dot product at near-equal accuracy"]
    assert c.ours == "design energy saving 20.0%, accuracy loss change +0.01"  # 1 - 8/10; int8_mac is not a peer
    assert c.verdict == "partly" and c.reason.startswith("'near-equal' = accuracy loss at most 0.05 above")
    rows[1] = _row("lmul", 16, 100, 8.0, 0.14, e4m3, (8, 8))  # 0.06 worse than exact: not near-equal
    c = _by_claim(derive_metrics(pd.DataFrame(rows)))[c.claim]
    assert c.verdict == "does not hold"


def test_lmul_reports_each_attention_mode_when_both_are_swept():
    e4m3 = ("float8_e4m3fn_per_channel_fp32", "float8_e4m3fn_per_channel_fp32")
    rows = [_row("minifloat_mac", 16, 100, 10.0, 0.08, e4m3, (8, 8)),
            _row("lmul", 16, 100, 8.0, 0.09, e4m3, (8, 8)),
            _row("minifloat_mac", 16, 100, 10.0, 0.10, e4m3, (8, 8)),
            _row("lmul", 16, 100, 5.0, 0.20, e4m3, (8, 8))]
    df = derive_metrics(pd.DataFrame(rows))
    df["attention"] = ["reference", "reference", "pe", "pe"]
    c = _by_claim(df)["L-Mul saves 80% energy per dot product at near-equal accuracy"]
    assert c.ours == ("every product incl. attention: design energy saving 50.0%, accuracy loss change +0.1; "
                      "weight products only: design energy saving 20.0%, accuracy loss change +0.01")
    assert c.verdict == "does not hold"  # the attention mode loses 0.1 > 0.05; the weights-only mode is "partly"
    df.loc[3, "accuracy_loss"] = 0.12
    assert _by_claim(df)[c.claim].verdict == "partly"
