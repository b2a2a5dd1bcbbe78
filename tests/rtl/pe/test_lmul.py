"""lmul PE RTL vs accel's golden LMulPE / lmul_core in Amaranth's simulator (fast tier): FP32 bits, exactly."""

import dataclasses

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.block_checks import (
    check_lmul_gemm,
    check_lmul_pe,
    f32_bits,
    lmul_corner_dots,
    lmul_exhaustive_pairs,
    lmul_random_dots,
)
from rtl.verify.block_golden import golden_lmul_dots, lmul_config, lmul_formats
from tests.rtl.cases import LMUL_SPECS

pytestmark = pytest.mark.amaranth


@pytest.mark.parametrize("text", LMUL_SPECS)
def test_corner_and_random_dots_bit_exact(text):
    spec = parse(text)
    corners = lmul_corner_dots(spec)
    report = check_lmul_pe(spec, [corners, lmul_random_dots(spec, 6, seed=1)])
    assert report.ok, report.first_mismatch
    assert report.results == 2 * (len(corners[0]) + 6)  # acc and y (unit scales) per dot


FP6_ADDER = "lmul:act_format=float6_e2m3fn,weight_format=float6_e2m3fn,realisation=adder"


@pytest.mark.parametrize("text", ["lmul", FP6_ADDER], ids=["e4m3", "e2m3_adder"])
def test_gemm_end_to_end_bit_exact(text):
    """``spec.gemm`` (per-token/per-channel FP32 scales, L-Mul products, FP32 k-order sum, dequant) by the RTL."""
    spec = parse(text)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((2, 48)) * np.exp(2 * rng.standard_normal((2, 48)))
    A[1, :4] = 0.0
    report = check_lmul_gemm(spec, A, rng.standard_normal((48, 3)))
    assert report.ok, report.first_mismatch
    assert report.results == 6


@pytest.mark.parametrize("realisation", ["formula", "adder"])
def test_every_fp4_operand_pair(realisation):
    """Every FP4 E2M1 pair (fp6 and fp8 pairs run on the generated Verilog:
    tests/rtl/verify/test_block_checks_lmul_icarus.py)."""
    spec = parse(f"lmul:act_format=float4_e2m1fn,weight_format=float4_e2m1fn,realisation={realisation}")
    n = 16 * 16
    qa, qw = lmul_exhaustive_pairs(spec)
    assert len(qa) == n  # fp4 has no NaN/Inf codes
    report = check_lmul_pe(spec, [(qa, qw)])
    assert report.ok, report.first_mismatch


def test_golden_composition_is_the_specs_gemm():
    """With unit scales (each row/column holds the format's max) the gemm's y is its FP32 accumulator, which
    must equal the k-order composition of ``lmul_core.lmul`` products the PE checks use."""
    for text in LMUL_SPECS:
        spec = parse(text)
        fa, fw = lmul_formats(spec)
        rng = np.random.default_rng(3)
        ca, cw = (f.codes()[np.isfinite(f.decode(f.codes()))].astype(np.int64) for f in (fa, fw))
        qa, qw = rng.choice(ca, (4, 40)), rng.choice(cw, (40, 5))
        qa[:, 0] = int(fa.encode(np.array([fa.max]))[0])
        qw[0, :] = int(fw.encode(np.array([fw.max]))[0])
        A, W = fa.decode(qa.astype(fa.code_dtype)), fw.decode(qw.astype(fw.code_dtype))
        Y, _ = spec.gemm(A, W)
        acc = golden_lmul_dots(spec, np.repeat(qa, 5, axis=0), np.tile(qw.T, (4, 1)))
        np.testing.assert_array_equal(f32_bits(acc), f32_bits(Y).reshape(-1))


def test_realisations_differ_and_a_swap_is_caught(monkeypatch):
    """formula and adder differ whenever x_m + y_m + 2^-l > 1: the check sees a swapped realisation."""
    import rtl.verify.block_checks

    spec = parse("lmul")
    wrong = dataclasses.replace(lmul_config(spec), realisation="adder")
    from rtl.pe.lmul import LmulPE

    monkeypatch.setattr(rtl.verify.block_checks, "lmul_pe", lambda s: LmulPE(wrong))
    report = check_lmul_pe(spec, [lmul_random_dots(spec, 4, seed=5)])
    assert report.mismatches > 0 and not report.ok


def test_config_comes_from_the_spec():
    from accel.pe.lmul_core import l_of_m

    for text in LMUL_SPECS:
        spec = parse(text)
        cfg = lmul_config(spec)
        assert (cfg.act_bits, cfg.weight_bits) == (spec.act_bits, spec.weight_bits)
        assert (cfg.mbits, cfg.l, cfg.realisation) == (spec.mbits, l_of_m(spec.mbits), spec.realisation)


def test_gemm_output_stage_overflow_and_underflow():
    """Huge per-token/per-channel scales overflow y to +-inf, tiny ones reach FP32 subnormals and zero: the
    RTL's two output multiplies round (and overflow) as the golden's float32 ones."""
    spec = parse("lmul:realisation=adder")
    rng = np.random.default_rng(7)
    A = rng.standard_normal((3, 12))
    A[0] *= 1e30
    A[1] *= 1e-20
    A[2] *= 1e-30
    W = rng.standard_normal((12, 2)) * np.r_[1e10, 1e-20]
    Y, _ = spec.gemm(A, W)
    assert np.isinf(Y).any() and ((Y != 0) & (np.abs(Y) < 2.0**-126)).any()
    report = check_lmul_gemm(spec, A, W)
    assert report.ok, report.first_mismatch


@pytest.mark.parametrize("text", ["lmul", "lmul:act_format=float8_e5m2,weight_format=float8_e5m2,realisation=adder"])
def test_fp32_accumulation_ties_round_to_even(text):
    """Two-product dots whose exact sum is halfway between two FP32 values (both signs): bit-exact, and the
    golden really rounds them (the tie set is not empty and every sum is a tie)."""
    from accel.pe.lmul_core import lmul
    from rtl.verify.block_checks import fp32_tie, lmul_tie_dots

    spec = parse(text)
    qa, qw = lmul_tie_dots(spec, n=16)
    fa, fw = lmul_formats(spec)
    p = lmul(fa.decode(qa.astype(fa.code_dtype)), fw.decode(qw.astype(fw.code_dtype)), spec.mbits, spec.realisation)
    assert len(qa) == 16 and fp32_tie(p.sum(axis=1)).all() and (p.sum(axis=1) < 0).sum() == 8
    report = check_lmul_pe(spec, [(qa, qw)])
    assert report.ok, report.first_mismatch
