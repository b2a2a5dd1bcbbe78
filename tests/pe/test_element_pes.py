"""minifloat_mac, lmul and block_mac against scalar references, exact-rational oracles and proven bounds."""

from fractions import Fraction

import numpy as np
import pytest

import accel.pe as pe
from accel.pe.elementwise import scaled_operands
from accel.pe.fp32 import U64, gamma
from accel.pe.lmul_core import lmul
from accel.quant import quantize
from tests.pe.oracles import rne_fp32

pytestmark = pytest.mark.unit


def _data(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_t(3, (m, k)), rng.standard_normal((k, n))


@pytest.mark.parametrize("fmts", [("float8_e4m3fn", "float8_e4m3fn"), ("float4_e2m1fn", "int4"),
                                  ("e5m2", "float6_e3m2fn")])
def test_minifloat_fp32_accumulation_bit_exact_and_bounded(fmts):
    A, W = _data(3, 48, 4, seed=1)
    spec = pe.get("minifloat_mac", act_format=fmts[0], weight_format=fmts[1])
    y, _ = spec.gemm(A, W)
    ea, sa, ew, sw = scaled_operands(A, W, *fmts)
    for i in range(3):
        for j in range(4):
            acc = np.float32(0)
            for k in range(48):
                acc = np.float32(acc + np.float32(ea[i, k]) * np.float32(ew[k, j]))
            assert y[i, j] == float(acc * (np.float32(sa[i]) * np.float32(sw[j])))
    a_hat, w_hat = sa[:, None] * ea, ew * sw[None, :]
    bound = gamma(48 + 2) * (np.abs(a_hat) @ np.abs(w_hat)) + gamma(50, U64) * (np.abs(a_hat) @ np.abs(w_hat))
    assert np.all(np.abs(y - a_hat @ w_hat) <= bound * (1 + 1e-9))


@pytest.mark.parametrize("fmts", [("float8_e4m3fn", "float8_e4m3fn"), ("e5m2", "e5m2"), ("float4_e2m1fn", "int4")])
def test_kulisch_accumulation_rounds_the_exact_sum_once(fmts):
    A, W = _data(2, 40, 3, seed=2)
    A[0, :8] *= 1e4  # wide dynamic range inside one dot product
    spec = pe.get("minifloat_mac", act_format=fmts[0], weight_format=fmts[1], accumulate="kulisch")
    y, _ = spec.gemm(A, W)
    ea, sa, ew, sw = scaled_operands(A, W, *fmts)
    for i in range(2):
        for j in range(3):
            exact = sum(Fraction(ea[i, k]) * Fraction(ew[k, j]) for k in range(40))
            c = np.float32(sa[i]) * np.float32(sw[j])
            assert y[i, j] == float(np.float32(rne_fp32(exact)) * c)
    perm = np.random.default_rng(0).permutation(40)
    assert np.array_equal(spec.gemm(A[:, perm], W[perm])[0], y)  # exact sums do not depend on order


@pytest.mark.parametrize("m", [4, 11])
def test_lmul_pe_products_come_from_the_core(m):
    A, W = _data(m, 24, 5, seed=3)
    for realisation in ("formula", "adder"):
        spec = pe.get("lmul", realisation=realisation)
        y, _ = spec.gemm(A, W)
        ea, sa, ew, sw = scaled_operands(A, W, "float8_e4m3fn", "float8_e4m3fn")
        acc = np.zeros((m, 5), np.float32)
        for k in range(24):
            acc = (acc + lmul(ea[:, k, None], ew[None, k, :], 3, realisation).astype(np.float32)).astype(np.float32)
        c = sa.astype(np.float32)[:, None] * sw.astype(np.float32)[None, :]
        assert np.array_equal(y, (acc * c).astype(np.float64))


@pytest.mark.parametrize("fmts", [("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp8_e5m2", "mxfp4"), ("bfp16_b32", "bfp12_b32"),
                                  ("mxint8", "mxint8"), ("mxfp8_e5m2", "mxfp8_e5m2")])
def test_block_mac_exact_blocks_then_fp32(fmts):
    A, W = _data(2, 64, 3, seed=4)
    spec = pe.get("block_mac", act_format=fmts[0], weight_format=fmts[1])
    y, _ = spec.gemm(A, W)
    qa, qw = quantize(A, fmts[0], axis=1), quantize(W, fmts[1], axis=0)
    va, vw = qa.element_values(), qw.element_values()
    b = spec.group_size
    for i in range(2):
        for j in range(3):
            acc = np.float32(0)
            for blk in range(64 // b):
                exact = sum(Fraction(va[i, k]) * Fraction(vw[k, j]) for k in range(blk * b, (blk + 1) * b))
                exact *= Fraction(qa.scales[i, blk]) * Fraction(qw.scales[blk, j])
                acc = np.float32(acc + np.float32(rne_fp32(exact)))
            assert y[i, j] == float(acc)
    ref = qa.dequantize() @ qw.dequantize()
    absprod = np.abs(qa.dequantize()) @ np.abs(qw.dequantize())
    bound = gamma(64 // b) * absprod + gamma(66, U64) * absprod  # J roundings per block term; float64 reference
    assert np.all(np.abs(y - ref) <= bound * (1 + 1e-9))


def test_element_pe_errors():
    from accel.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^invalid PE spec 'lmul': L-Mul needs two minifloat formats with the "
                                          r"same mantissa width >= 1, got 'float8_e4m3fn' and 'e5m2'$"):
        pe.get("lmul", weight_format="e5m2")
    with pytest.raises(ConfigError, match=r"^invalid PE spec 'block_mac': act_format: unknown block format 'mxfp9'; "
                                          r"valid choices: .*mxfp8_e4m3"):
        pe.get("block_mac", act_format="mxfp9")
    with pytest.raises(ConfigError, match=r"^invalid PE spec 'minifloat_mac': act_format: unsupported element "
                                          r"format 'float8_e8m0fnu' "):
        pe.get("minifloat_mac", act_format="float8_e8m0fnu")
    with pytest.raises(ConfigError, match=r"^invalid PE spec 'minifloat_mac': products must be exact in FP32: "
                                          r"significand bits must sum to <= 24, got 'fp32' \(24\) \+ 'int4' \(4\)$"):
        pe.get("minifloat_mac", act_format="fp32", weight_format="int4")
    with pytest.raises(ConfigError, match=r"^invalid PE spec 'minifloat_mac': products must be exact in FP32: "
                                          r"'bf16' x 'bf16' products span .* beyond FP32's normal range"):
        pe.get("minifloat_mac", act_format="bf16", weight_format="bf16")
    assert pe.get("minifloat_mac", act_format="fp16", weight_format="fp16").accumulate == "fp32"
