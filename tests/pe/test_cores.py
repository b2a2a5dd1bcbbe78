"""Arithmetic cores against exhaustive enumeration and exact (Python integer / Fraction) oracles."""

from fractions import Fraction

import numpy as np
import pytest

from accel.pe.expadd import expadd_mul
from accel.pe.kulisch import acc_width, exact_dot_fp32, exact_matmul_int, round_ints_to_fp32
from accel.pe.lmul_core import l_of_m, lmul
from accel.pe.shiftadd import group_acc_bits, shift_add_mul
from tests.pe.oracles import rne_fp32

pytestmark = pytest.mark.unit

INT8 = np.arange(-128, 128)


@pytest.mark.parametrize("w_signed, w_range", [(True, range(-8, 8)), (False, range(0, 16))])
def test_shift_add_equals_multiply_for_every_int8_x_4bit_pair(w_signed, w_range):
    a, w = np.meshgrid(INT8, np.array(list(w_range)), indexing="ij")
    got = shift_add_mul(a, w, 4, w_signed)
    assert np.array_equal(got, a.astype(np.int64) * w)
    assert got.size == 256 * 16
    # the product fits 12 signed bits, so a group of g needs 12 + ceil(log2 g)
    assert got.min() >= -(2**11) and got.max() < 2**11
    assert group_acc_bits(8, 4, 32) == 17 and group_acc_bits(8, 4, 128) == 19


def test_shift_add_all_widths_against_multiply():
    for wb in (2, 3, 5, 8):
        ws = np.arange(-(2 ** (wb - 1)), 2 ** (wb - 1))
        a, w = np.meshgrid(INT8, ws, indexing="ij")
        assert np.array_equal(shift_add_mul(a, w, wb, True), a.astype(np.int64) * w)


ALL_FINITE_FP16 = np.arange(0, 2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
ALL_FINITE_FP16 = ALL_FINITE_FP16[np.isfinite(ALL_FINITE_FP16)]


@pytest.mark.parametrize("w_signed, w_range", [(True, range(-8, 8)), (False, range(0, 16))])
def test_exponent_add_equals_exact_product_for_every_fp16_and_weight_code(w_signed, w_range):
    a = ALL_FINITE_FP16[:, None]
    w = np.array(list(w_range))[None, :]
    got = expadd_mul(a, w, 4, w_signed)
    exact = a.astype(np.float64) * w  # exact: 11 x 4 significant bits
    assert np.array_equal(got.astype(np.float64), exact)
    # the sweep really contains the edges: subnormals, the largest finite value, exponent overflow
    assert np.any((np.abs(a) > 0) & (np.abs(a) < 2.0**-14))
    assert np.any(np.abs(a) == 65504.0)
    assert np.any(np.abs(exact) > 65504.0)  # beyond FP16's range: the widened exponent holds it
    assert np.all(np.isfinite(got))


def _py_matmul(IA, IW):
    return [[sum(int(IA[i, k]) * int(IW[k, j]) for k in range(IA.shape[1])) for j in range(IW.shape[1])]
            for i in range(IA.shape[0])]


@pytest.mark.parametrize("bits", [10, 30, 40])
def test_kulisch_exact_matmul_equals_python_integers(bits):
    rng = np.random.default_rng(bits)
    IA = rng.integers(-(2**bits), 2**bits, (5, 37))
    IW = rng.integers(-(2**bits), 2**bits, (37, 3))
    got = exact_matmul_int(IA, IW)
    assert [[int(v) for v in row] for row in got] == _py_matmul(IA, IW)
    assert acc_width(bits, bits, 37) == 2 * bits + 6 + 1


def test_kulisch_final_rounding_is_single_and_nearest_even():
    rng = np.random.default_rng(1)
    ints = [int(v) for v in rng.integers(-(2**62), 2**62, 300)]
    # ties and near-ties just above 24 and 53 bits, which double rounding gets wrong
    ints += [(1 << 24) + 1, (1 << 25) + 2, (1 << 25) + 6, ((1 << 24) + 1) << 29 | 1, -(((1 << 24) + 1) << 29),
             (1 << 53) + 1, (1 << 60) + (1 << 36) + 1, 3 << 70 | 1, -(5 << 90)]
    lsb = -40
    T = np.array(ints, dtype=object)
    got = round_ints_to_fp32(T, lsb)
    want = [rne_fp32(Fraction(t) * Fraction(2) ** lsb) for t in ints]
    assert [float(g) for g in got] == want
    small = np.array([t for t in ints if abs(t) < 2**62], dtype=np.int64)
    assert np.array_equal(round_ints_to_fp32(small, lsb), got[: len(small)].astype(np.float32))


def test_exact_dot_fp32_matches_fraction_oracle():
    rng = np.random.default_rng(2)
    A = np.ldexp(rng.integers(-(2**20), 2**20, (3, 50)).astype(np.float64), -30)
    W = np.ldexp(rng.integers(-(2**20), 2**20, (50, 4)).astype(np.float64), -12)
    got = exact_dot_fp32(A, W, -30, -12)
    for i in range(3):
        for j in range(4):
            exact = sum(Fraction(A[i, k]) * Fraction(W[k, j]) for k in range(50))
            assert float(got[i, j]) == rne_fp32(exact)


def _lmul_bits_adder(x: float, y: float, m: int) -> float:
    """The integer-adder L-Mul literally: add the (exponent|mantissa) fields plus an offset constant."""
    bias = 1 << 20

    def fields(v):
        fr, ex = np.frexp(abs(v))
        f = int(fr * 2 ** (m + 1)) - 2**m
        return ((ex - 1 + bias) << m) | f

    s = fields(x) + fields(y) - (bias << m) + (1 << (m - l_of_m(m)))
    e, f = (s >> m) - bias, s & ((1 << m) - 1)
    mag = (1 + f / 2**m) * 2.0**e
    return -mag if (x < 0) != (y < 0) else mag


@pytest.mark.parametrize("m", range(2, 8))
def test_lmul_realisations_on_every_mantissa_pair(m):
    f = np.arange(2**m) / 2**m
    fx, fy = np.meshgrid(f, f, indexing="ij")
    x, y = (1 + fx) * 2.0**3, -(1 + fy) * 2.0**-5
    formula = lmul(x, y, m, "formula")
    want = -(1 + fx + fy + 2.0 ** -l_of_m(m)) * 2.0**-2
    assert np.array_equal(formula, want)
    adder = lmul(x, y, m, "adder")
    literal = np.vectorize(lambda a, b: _lmul_bits_adder(a, b, m))(x, y)
    assert np.array_equal(adder, literal)
    # (1 + s) 2^e vs s 2^(e+1): equal unless the field sum s = x_m + y_m + 2^-l carries past 1
    differs = fx + fy + 2.0 ** -l_of_m(m) > 1
    assert np.array_equal(adder[~differs], formula[~differs])
    assert np.all(adder[differs] != formula[differs]) and differs.any()
    assert np.all(lmul(np.zeros(3), np.ones(3), m) == 0)


def test_lmul_rejects_unknown_realisation():
    from accel.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^unknown L-Mul realisation 'adders'; valid choices: formula, adder$"):
        lmul(np.ones(2), np.ones(2), 3, "adders")


@pytest.mark.parametrize("shape", [(1, 1, 1), (9, 37, 13), (17, 64, 3)])
def test_compiled_ordered_fp32_dot_equals_numpy_loop(shape):
    from accel.pe.fp32 import ordered_fp32_dot

    m, k, n = shape
    rng = np.random.default_rng(k)
    A = rng.standard_normal((m, k)).astype(np.float16).astype(np.float32)  # products exact in fp32
    W = (rng.standard_normal((k, n)) * 1e3).astype(np.float16).astype(np.float32)
    fast = ordered_fp32_dot(A, W)
    slow = ordered_fp32_dot(A, W, product=np.multiply)
    assert np.array_equal(fast, slow)
    acc = np.zeros((m, n), np.float32)
    for kk in range(k):
        acc = (acc + A[:, kk, None] * W[None, kk, :]).astype(np.float32)
    assert np.array_equal(fast, acc)
