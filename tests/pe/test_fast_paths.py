"""The fast paths of the integer group PEs against their references, bit for bit.

- ``mixpe.int_group_output`` (compiled fused group GEMM + dequantization, BLAS sums for many rows) against
  the k-ordered int64 register ``intdot._ordered`` + ``mixpe.dequant_groups`` (and, on small shapes, the
  scalar Python-integer register and element-wise FP32 output path of ``oracles``), over odd sizes, every
  weight format, the float32 and float64 exact dtypes and narrow accumulators that overflow;
- ``operands.quantize_rows_int``'s direct per-token quantization against ``accel.quant.quantize``;
- the per-tensor caches (adapted QTensor, max |code|) hit.
"""

from __future__ import annotations

import numpy as np
import pytest

from accel import pe
from accel.pe import groupfused, intdot
from accel.pe.mixpe import dequant_groups, group_sums, int_group_output
from accel.pe.operands import adapted_qtensor, as_group_weights, quantize_rows_int, weight_scheme_name
from accel.quant import quantize
from tests.pe import oracles

pytestmark = pytest.mark.unit

FORMATS = ("int4", "uint4", "q4_0", "q4_1")


def _weights(rng, fmt: str, K: int, N: int, g: int):
    W = rng.standard_normal((K, N)) * 0.05
    W[:, :1] = 0.0  # an all-zero column: zero scales / zero sums
    return as_group_weights(W, fmt, g)


def _acts(rng, M: int, K: int, bits: int = 8):
    A = rng.standard_normal((M, K))
    if M > 2:
        A[1] = 0.0  # an all-zero token
    return quantize_rows_int(A, bits)


def _reference(qa, sa, gw, acc_bits, overflow):
    """k-ordered int64 register with the overflow policy after every add, then the reference dequant."""
    P, events = intdot._ordered(qa, gw.codes.astype(np.int64), gw.group_size, acc_bits, overflow)
    needs = gw.zeros is not None or gw.mins is not None
    Sa = group_sums(qa, gw.group_size) if needs else None
    acc = dequant_groups(iter(P), Sa, gw, qa.shape[0])
    return sa.astype(np.float32)[:, None] * acc, events


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    return x.dtype == y.dtype == np.float32 and np.array_equal(x.view(np.uint32), y.view(np.uint32))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("M", [1, 3, groupfused.BLAS_ROWS, groupfused.BLAS_ROWS + 5, groupfused._TILE_ROWS + 3])
def test_fused_equals_ordered_reference(fmt, M):
    rng = np.random.default_rng(M * 7 + len(fmt))
    shapes = [(32, 3, 32), (96, 517, 32), (64, 1029, 32)] if fmt.startswith("q4") else \
        [(5, 7, 1), (15, 3, 5), (96, 517, 32), (64, 1029, 32)]
    for K, N, g in shapes:
        gw = _weights(rng, fmt, K, N, g)
        qa, sa = _acts(rng, M, K)
        acc_bits = 8 + 4 + max(1, (g - 1).bit_length())  # the default register: cannot overflow
        y, events = int_group_output(qa, sa, gw, acc_bits, "saturate")
        y_ref, events_ref = _reference(qa, sa, gw, acc_bits, "saturate")
        assert events == events_ref == 0
        assert _same_bits(y, y_ref), (fmt, M, K, N, g)
        Sa = group_sums(qa, g) if gw.zeros is not None or gw.mins is not None else None  # both fused branches
        acc = groupfused.fused_group_dequant(qa.astype(np.float32), gw.codes_c, g, gw.scales32, gw.zeros,
                                             gw.mins32, Sa)
        assert _same_bits(sa.astype(np.float32)[:, None] * acc, y_ref), (fmt, M, K, N, g)


def test_float64_exact_path_int8_weights():
    """int8 x int8 groups of 1100: |P| reaches 2^24, so the exact dtype is float64 (still no overflow)."""
    rng = np.random.default_rng(5)
    spec = pe.parse("int8_mac:dequant=per_group,group_size=1100")
    for M in (2, groupfused.BLAS_ROWS + 1):
        A = 1.0 + 0.03 * rng.random((M, 2200))  # codes near 127 on both sides: group sums near 1100 * 127^2
        qa, sa = quantize_rows_int(A, 8)
        gw = spec.group_weights(1.0 + 0.03 * rng.random((2200, 9)))
        bound = intdot.sum_bound(qa, gw.codes, 1100)
        assert 2**24 <= bound < 2**31 and intdot.exact_float_dtype(bound, 32) is np.float64
        P_ref, _ = intdot._ordered(qa, gw.codes.astype(np.int64), 1100, 32, "wrap")
        assert (np.abs(P_ref) > 2**24).mean() > 0.5  # the float32 rounding of P is exercised
        y, events = int_group_output(qa, sa, gw, 32, "wrap")
        y_ref, events_ref = _reference(qa, sa, gw, 32, "wrap")
        assert events == events_ref == 0 and _same_bits(y, y_ref)


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
@pytest.mark.parametrize("fmt", ["int4", "uint4", "q4_1"])
def test_narrow_register_falls_back_exactly(fmt, overflow):
    """Accumulators around the proved bound: above it the fast path, at or below it the k-ordered register."""
    rng = np.random.default_rng(11)
    K, N, g, M = 64, 37, 32, 19
    gw = _weights(rng, fmt, K, N, g)
    qa, sa = _acts(rng, M, K)
    bound = intdot.sum_bound(qa, gw.codes, g)
    need = bound.bit_length() + 1  # smallest acc_bits with bound < 2^(acc_bits - 1)
    total = 0
    for acc_bits in range(need - 6, need + 2):
        y, events = int_group_output(qa, sa, gw, acc_bits, overflow)
        y_ref, events_ref = _reference(qa, sa, gw, acc_bits, overflow)
        assert events == events_ref and _same_bits(y, y_ref), acc_bits
        total += events
    assert total > 0  # the narrow registers did overflow


@pytest.mark.parametrize("fmt", ["uint4", "q4_1"])
def test_small_shapes_against_scalar_oracles(fmt):
    """Python-integer register and element-wise FP32 path (oracles), written from the definitions."""
    rng = np.random.default_rng(3)
    K, N, g, M = 64, 5, 32, 3
    W = rng.standard_normal((K, N)) * 0.05
    qt = quantize(W, weight_scheme_name(fmt, g), axis=0)
    gw = as_group_weights(qt, fmt, g)
    A = rng.standard_normal((M, K))
    qa_o, sa_o = oracles.per_token_int(A)
    q, zeros = oracles.pe_weights(qt, fmt)
    for acc_bits, overflow in [(17, "saturate"), (12, "saturate"), (12, "wrap")]:
        P, events_o = oracles.scalar_group_acc(qa_o, q, g, acc_bits, overflow)
        Sa = group_sums(qa_o, g)
        y_o = oracles.group_dequant_output(P, Sa, qt, zeros, sa=sa_o)
        qa, sa = quantize_rows_int(A, 8)
        y, events = int_group_output(qa, sa, gw, acc_bits, overflow)
        assert events == events_o
        assert np.array_equal(y.astype(np.float64), y_o)


def _rows_via_quant(A, bits):
    """The generic path: ``accel.quant.quantize`` and the element's own integer decoding."""
    qt = quantize(A, f"int{bits}_per_channel_fp32", axis=1)
    return qt.scheme.element.to_int(qt.codes), np.asarray(qt.scales, np.float64)[:, 0]


@pytest.mark.parametrize("bits", [2, 4, 5, 8])
def test_rows_int_fast_path_equals_accel_quant(bits):
    rng = np.random.default_rng(bits)
    top = 2 ** (bits - 1) - 1
    rows = [
        rng.standard_normal(40),
        np.zeros(40),
        np.r_[np.arange(-20, 20) + 0.5] / 20 * top,  # ties at .5 steps once scaled
        rng.standard_normal(40) * 1e-42,  # subnormal FP32 scales
        rng.standard_normal(40) * 1e-46,  # scales that underflow to 0
        rng.standard_normal(40) * 1e36,  # huge, still finite in FP32
        np.r_[np.full(39, -0.0), 1.0],
        np.r_[np.full(20, 3.0), np.full(20, -3.0)],
    ]
    A = np.array(rows)
    q, s = quantize_rows_int(A, bits)
    q_ref, s_ref = _rows_via_quant(A, bits)
    assert q.dtype == np.int64 and np.array_equal(q, q_ref)
    assert np.array_equal(s.view(np.uint64), s_ref.view(np.uint64))
    big = rng.standard_normal((33, 577)) * np.exp(rng.uniform(-30, 30, (33, 1)))
    q, s = quantize_rows_int(big, bits)
    q_ref, s_ref = _rows_via_quant(big, bits)
    assert np.array_equal(q, q_ref) and np.array_equal(s.view(np.uint64), s_ref.view(np.uint64))


def test_rows_int_non_finite_inputs_match_accel_quant():
    """Rows with Inf / NaN are left to accel.quant, whatever it makes of them (equal results or equal errors)."""
    for A in (np.array([[1.0, np.nan], [2.0, 1.0]]), np.array([[np.inf, 1.0], [2.0, -1.0]])):
        with np.errstate(all="ignore"):
            _non_finite_case(A)


def _non_finite_case(A):
    from accel.errors import AccelError

    try:
        want = _rows_via_quant(A, 8)
    except AccelError as exc:
        with pytest.raises(type(exc)):
            quantize_rows_int(A, 8)
        return
    q, s = quantize_rows_int(A, 8)
    assert np.array_equal(q, want[0]) and np.array_equal(s, want[1], equal_nan=True)


def test_weight_caches_hit():
    rng = np.random.default_rng(0)
    qt = quantize(rng.standard_normal((64, 8)), "int4_g32", axis=0)
    gw = as_group_weights(qt, "int4", 32)
    assert as_group_weights(qt, "int4", 32) is gw and adapted_qtensor(qt) is gw
    assert gw.codes.flags["C_CONTIGUOUS"] and gw.codes_c is gw.codes
    assert gw.code_abs_max == int(np.abs(gw.codes.astype(np.int64)).max())
    q8 = quantize(rng.standard_normal((64, 8)), "int8_g32", axis=0)
    spec = pe.parse("int8_mac:dequant=per_group,group_size=32")
    assert spec.group_weights(q8) is spec.group_weights(q8)
