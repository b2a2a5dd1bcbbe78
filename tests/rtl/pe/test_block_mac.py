"""block_mac PE RTL vs accel's golden BlockMAC in Amaranth's simulator (fast tier): FP32 bits, exactly."""

import dataclasses

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.block_checks import (
    block_corner_dots,
    block_exhaustive_pairs,
    block_random_dots,
    check_block_gemm,
    check_block_pe,
    f32_bits,
)
from rtl.verify.block_golden import block_config, block_gemm_operands, golden_block_dots
from tests.rtl.cases import BLOCK_MAC_SPECS

pytestmark = pytest.mark.amaranth


def _per_output(spec, qa, qw, ea, ew):
    """The gemm's operands regrouped as one dot product per output (m, n)."""
    M, K = qa.shape
    N, b = qw.shape[1], spec.group_size
    J = K // b
    return (np.repeat(qa.reshape(M, 1, J, b), N, axis=1).reshape(M * N, J, b),
            np.broadcast_to(qw.T.reshape(1, N, J, b), (M, N, J, b)).reshape(M * N, J, b),
            np.repeat(ea.reshape(M, 1, J), N, axis=1).reshape(M * N, J),
            np.broadcast_to(ew.T.reshape(1, N, J), (M, N, J)).reshape(M * N, J))


def _gemm_inputs(K, N, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, K)) * np.exp(scale * rng.standard_normal((2, K)))
    A[0, :5] = 0.0  # zero elements (and with K = b, zero-padded blocks)
    return A, rng.standard_normal((K, N)) * np.exp(rng.standard_normal((K, N)))


@pytest.mark.parametrize("text", BLOCK_MAC_SPECS)
def test_golden_composition_is_the_specs_gemm(text):
    """The block-level oracle (accel's cores, per block) reproduces ``spec.gemm``'s bits, so checks on codes and
    exponents that no float input can produce still compare with the golden semantics."""
    spec = parse(text)
    A, W = _gemm_inputs(3 * spec.group_size, 5, seed=1)
    A[1, -spec.group_size:] = 0.0  # an all-zero block
    Y, _ = spec.gemm(A, W)
    ops = _per_output(spec, *block_gemm_operands(spec, A, W))
    np.testing.assert_array_equal(f32_bits(golden_block_dots(spec, *ops)), f32_bits(Y).reshape(-1))


@pytest.mark.parametrize("text", BLOCK_MAC_SPECS)
def test_corner_and_random_dots_bit_exact(text):
    spec = parse(text)
    corners = block_corner_dots(spec)
    report = check_block_pe(spec, [corners, block_random_dots(spec, 3, seed=2)])
    assert report.ok, report.first_mismatch
    assert report.results == len(corners[0]) + 3 >= 10 + 3


@pytest.mark.parametrize("text", BLOCK_MAC_SPECS[:1] + BLOCK_MAC_SPECS[4:5])
def test_gemm_end_to_end_bit_exact(text):
    """``spec.gemm`` (its own quantizer, real-valued inputs over many binades) computed by the PE RTL."""
    spec = parse(text)
    A, W = _gemm_inputs(2 * spec.group_size, 3, seed=3)
    report = check_block_gemm(spec, A, W)
    assert report.ok, report.first_mismatch
    assert report.results == 6


def test_corners_reach_every_fp32_regime():
    """The corner set produces (golden) +inf, NaN, subnormals, +0 from -0 blocks, and rounds exact ties."""
    spec = parse("block_mac")
    y = f32_bits(golden_block_dots(spec, *block_corner_dots(spec)))
    assert 0x7F800000 in y and any((v & 0x7FFFFFFF) > 0x7F800000 for v in y)
    assert any(0 < (v & 0x7FFFFFFF) < 0x00800000 for v in y) and 0 in y
    assert f32_bits(1.0) in y and f32_bits(1 + 2**-22) in y  # 1 + 2^-24 -> 1 (even); 1 + 2^-23 + 2^-24 -> up
    assert f32_bits(2.0**24) in y and f32_bits(2.0**24 + 4) in y  # D = 2^24 + 1 -> 2^24; 2^24 + 3 -> 2^24 + 4


@pytest.mark.parametrize("text,n", [("block_mac:act_format=mxfp4,weight_format=mxfp4", 16 * 16),
                                    ("block_mac:act_format=mxfp6_e2m3,weight_format=mxfp4", 64 * 16),
                                    ("block_mac:act_format=bfp12_b16,weight_format=bfp12_b16", 15 * 15)])
def test_every_element_pair(text, n):
    """Every element pair (one-element blocks), exponent bytes cycling over 0..254 (int4 excludes -8,
    which the symmetric BFP quantizer never produces)."""
    spec = parse(text)
    qa, qw, ea, ew = block_exhaustive_pairs(spec)
    assert len(qa) == n and len(set(ea.ravel())) == len(set(ew.ravel())) == min(n, 255)
    report = check_block_pe(spec, [(qa, qw, ea, ew)])
    assert report.ok, report.first_mismatch


def test_exponent_offset_is_the_formats_scale():
    """Independent of the RTL: grid-LSB elements with stored exponents 127 are worth min_subnormal^2 times the
    scales OCP MX (E8M0 bias 127: 1.0) and BFP (E = 0: step 2^-(n-2)) define."""
    for text, want in [("block_mac", 2.0**-9 * 2.0**-9),
                       ("block_mac:act_format=bfp16_b16,weight_format=bfp12_b16", 2.0**-6 * 2.0**-2),
                       ("block_mac:act_format=mxint8,weight_format=mxfp4", 2.0**-6 * 0.5)]:
        spec = parse(text)
        one = np.ones((1, 1, 1), dtype=np.int64)  # code 1: the smallest positive element (int: 1)
        got = golden_block_dots(spec, one, one, np.full((1, 1), 127), np.full((1, 1), 127))
        assert got[0] == np.float32(want)
        assert 2.0 ** (block_config(spec).exp_offset + 254) == want


def test_a_wrong_exponent_offset_is_caught(monkeypatch):
    """The check fails when the RTL's exponent add is off by one (the tests can fail)."""
    import rtl.verify.block_checks

    spec = parse("block_mac")
    cfg = block_config(spec)
    wrong = dataclasses.replace(cfg, exp_offset=cfg.exp_offset + 1)
    from rtl.pe.block_mac import BlockMacPE

    monkeypatch.setattr(rtl.verify.block_checks, "block_pe", lambda s: BlockMacPE(wrong))
    report = check_block_pe(spec, [block_random_dots(spec, 2, seed=4)])
    assert report.mismatches == 2 and not report.ok


def test_widths_come_from_the_spec():
    for text in BLOCK_MAC_SPECS:
        spec = parse(text)
        cfg = block_config(spec)
        assert (cfg.elements.acc_bits, cfg.block_size) == (spec.block_acc_bits, spec.group_size)
        assert (cfg.elements.act_bits, cfg.elements.weight_bits) == (spec.act_bits, spec.weight_bits)
