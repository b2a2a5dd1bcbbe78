"""FP32-accumulating PE RTL (minifloat_mac:accumulate=fp32, fp16_dequant_first) vs golden, Amaranth simulator.

Small vector sets per spec (the full corner sets and exhaustive pairs run on Icarus, test_fp_icarus.py).
"""

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.fp_checks import (
    act_values,
    check_fp_gemm,
    check_fp_pe,
    exhaustive_beats,
    golden_beats,
    random_beats,
    special_beats,
    tie_beats,
    weight_values,
)
from tests.rtl.cases import FP_E4M3, FP_E5M2, FP_FP4_INT4, FP_PE_SPECS

pytestmark = pytest.mark.amaranth


def every(beats: dict, n: int) -> dict:
    """About ``n`` groups of a beat set, evenly strided (deterministic)."""
    step = max(1, len(beats["a"]) // n)
    return {k: v[::step] for k, v in beats.items()}


@pytest.mark.parametrize("text", [s for s in FP_PE_SPECS if not s.startswith("mixpe_w4a16")])  # = fp16_dequant_first
def test_corner_tie_random_groups_bit_exact(text):
    spec = parse(text)
    sets = [every(special_beats(spec), 40), tie_beats(spec, 6), random_beats(spec, 4, 8, seed=1),
            random_beats(spec, 4, 8, seed=2, wide=True)]
    report = check_fp_pe(spec, sets)
    assert report.ok, report.first_mismatch
    assert report.results == sum(len(s["a"]) for s in sets)


def test_fp4_int4_every_operand_pair():
    spec = parse(FP_FP4_INT4)
    beats = exhaustive_beats(spec)
    assert len(beats["a"]) == 16 * 16
    report = check_fp_pe(spec, [beats])
    assert report.ok, report.first_mismatch


@pytest.mark.parametrize("text", [FP_E4M3, "fp16_dequant_first:weight_format=q4_1,group_size=32"])
def test_gemm_through_the_pe_equals_spec_gemm(text):
    """Real-valued A, W through the spec's own quantizers; the PE's sums give spec.gemm's Y bits."""
    rng = np.random.default_rng(11)
    K = 32
    A = rng.standard_normal((2, K)) * np.exp(rng.standard_normal((2, K)))
    report = check_fp_gemm(parse(text), A, rng.standard_normal((K, 2)))
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.extra == {"acc_mismatches": 0, "y_mismatches": 0} and report.results == 4


def test_tie_vectors_are_exact_ties_rounding_both_ways():
    """The tie set must hold real RNE ties (float64 midpoints), some rounding up and some down."""
    spec = parse(FP_E4M3)
    b = tie_beats(spec, 32)
    p = act_values(spec, b["a"]).astype(np.float64) * weight_values(spec, b).astype(np.float64)
    s = p[:, 0] + p[:, 1]  # exact in float64
    r = s.astype(np.float32)
    lo = np.where(r.astype(np.float64) <= s, r, np.nextafter(r, np.float32(-np.inf)))
    hi = np.nextafter(lo, np.float32(np.inf))
    assert len(s) >= 16
    assert np.all(s == (lo.astype(np.float64) + hi.astype(np.float64)) / 2)  # midway between neighbours
    assert (r == hi).any() and (r == lo).any()  # RNE goes up for some, down for others


def test_special_vectors_reach_nan_inf_zero_and_subnormal_operands():
    spec = parse(FP_E5M2)
    b = special_beats(spec)
    want = golden_beats(spec, b).astype(np.uint32).view(np.float32)
    assert np.isnan(want).any() and np.isposinf(want).any() and np.isneginf(want).any()
    assert (want == 0).any() and not np.signbit(want[want == 0]).any()  # starts at +0: never -0
    va = act_values(spec, b["a"])
    assert ((va != 0) & (np.abs(va) < 2.0**-14)).any()  # e5m2 subnormals


def test_fp16_dequant_specials_reach_saturation_subnormals_and_negative_zero():
    spec = parse("fp16_dequant_first:weight_format=q4_1")
    b = special_beats(spec)
    w = weight_values(spec, b)
    assert (np.abs(w) == 65504).any() and ((w != 0) & (np.abs(w) < 2.0**-14)).any()
    assert ((w == 0) & np.signbit(w)).any()


def test_a_wrong_accumulator_is_caught(monkeypatch):
    """An adder that gives +Inf where IEEE 754 gives NaN (Inf - Inf, NaN operands) must fail the checks."""
    from amaranth.hdl import Mux

    import rtl.arith.binary32
    import rtl.pe.fp_mac

    def no_nan_add(m, a, b, name="fadd", pipe=None):
        out = rtl.arith.binary32.fp32_add(m, a, b, name, pipe)
        return Mux(out == rtl.arith.binary32.QNAN, rtl.arith.binary32.INF, out)

    spec = parse(FP_E5M2)
    b = every(special_beats(spec), 200)
    assert check_fp_pe(spec, [b]).ok
    monkeypatch.setattr(rtl.pe.fp_mac, "fp32_add", no_nan_add)
    assert check_fp_pe(spec, [b]).mismatches > 0


def test_a_non_saturating_dequant_is_caught(monkeypatch):
    """FP16 dequantization that overflows to inf (instead of saturating like the golden) must fail."""
    import rtl.pe.fp_mac

    spec = parse("fp16_dequant_first")
    b = special_beats(spec)
    real = rtl.pe.fp_mac.round_to_float
    monkeypatch.setattr(rtl.pe.fp_mac, "round_to_float", lambda *a, **k: real(*a, **{**k, "overflow": "inf"}))
    report = check_fp_pe(spec, [b])
    assert report.mismatches > 0


def test_spec_strings_and_messages():
    from accel.errors import ConfigError
    from rtl.config import fp_accumulating, fp_mac_config, mac_config

    assert fp_mac_config(parse("mixpe_w4a16:dequant=in_loop")) == fp_mac_config(parse("fp16_dequant_first"))
    assert not fp_accumulating(parse("mixpe_w4a16")) and fp_accumulating(parse("minifloat_mac"))
    with pytest.raises(ConfigError, match=r"^'minifloat_mac' accumulates in FP32: its RTL config is "):
        mac_config(parse("minifloat_mac"))
    with pytest.raises(ConfigError, match=r"^'minifloat_mac:accumulate=kulisch' does not accumulate in FP32 "
                                          r"\(valid: minifloat_mac:accumulate=fp32, fp16_dequant_first"):
        fp_mac_config(parse("minifloat_mac:accumulate=kulisch"))


def _fp16_ties(x: np.ndarray) -> int:
    """How many float64 values lie exactly midway between two finite FP16 neighbours (RNE decides)."""
    x = x[np.isfinite(x) & (np.abs(x) < 65504)]
    r = x.astype(np.float16)
    lo = np.where(r.astype(np.float64) <= x, r, np.nextafter(r, np.float16(-np.inf)))
    hi = np.nextafter(lo, np.float16(np.inf))
    return int(((r.astype(np.float64) != x) & (x == (lo.astype(np.float64) + hi.astype(np.float64)) / 2)).sum())


def test_dequant_vectors_contain_fp16_rounding_ties():
    """The wide random beats the PE tests use must hit RNE ties in both FP16 roundings (s q, then + m)."""
    spec = parse("fp16_dequant_first:weight_format=q4_1")
    b = random_beats(spec, 4, 8, seed=2, wide=True)
    s = b["scale"].astype(np.uint16).view(np.float16).astype(np.float64)
    m = b["min"].astype(np.uint16).view(np.float16).astype(np.float64)
    sq = s * b["w"]
    assert _fp16_ties(sq) > 0
    w16 = np.clip(sq, -65504, 65504).astype(np.float16).astype(np.float64)
    assert _fp16_ties(w16 + m) > 0


def test_dequant_first_gemm_with_the_inputs_the_golden_accepts():
    """NaN, +-inf (saturated to +-65504 by the golden), huge, FP16-subnormal and -0 activations: Y bits."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 8))
    A[0, :4] = [np.nan, np.inf, -np.inf, 1e6]
    A[1, :4] = [1e-7, -0.0, 3e-8, -65519.0]  # subnormal FP16 values; -65519 rounds (saturating) to -65504
    W = rng.standard_normal((8, 2)) * 1e3
    report = check_fp_gemm(parse("fp16_dequant_first:weight_format=uint4,group_size=4"), A, W)
    assert report.ok, (report.first_mismatch, report.extra)
    from rtl.verify.fp_checks import gemm_operands

    Y = gemm_operands(parse("fp16_dequant_first:weight_format=uint4,group_size=4"), A, W)["Y"]
    assert np.isnan(Y.astype(np.uint32).view(np.float32)[0]).all()  # the NaN row really is NaN
