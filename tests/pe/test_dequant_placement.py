"""``dequant`` as a parameter: W4A16 in_loop (= the fp16_dequant_first preset) and W8A8 per_group, each
bit for bit against references re-derived from the QTensor fields (tests/pe/oracles.py) and within
proven FP32 bounds of the float64 dequant-first product."""

import numpy as np
import pytest

import accel.pe as pe
from accel.errors import ConfigError
from accel.pe.fp32 import U64, gamma
from accel.quant import quantize
from tests.pe.oracles import (
    fp16_weights_from_qtensor,
    group_dequant_output,
    per_token_int,
    scalar_fp32_dot,
    scalar_group_acc,
)

pytestmark = pytest.mark.unit

FORMATS = ["int4", "uint4", "q4_0", "q4_1"]


def _data(m, k, n, seed, heavy=True):
    rng = np.random.default_rng(seed)
    A = rng.standard_t(2, (m, k)) if heavy else rng.standard_normal((m, k))
    return A, rng.standard_normal((k, n)) * 0.05


@pytest.mark.parametrize("fmt, g, k", [("int4", 8, 64), ("uint4", 16, 64), ("q4_0", 32, 64), ("q4_1", 32, 96),
                                       ("int4", 1024, 2048)])  # in_loop allows groups beyond per_group's 512
def test_w4a16_in_loop_bit_exact_and_bounded(fmt, g, k):
    A, W = _data(3, k, 4, seed=g + k)
    A[0, :3] = [1e6, 3e-8, -2.0**-24]  # FP16 saturation and subnormals
    spec = pe.get("mixpe_w4a16", weight_format=fmt, group_size=g, dequant="in_loop")
    qt = quantize(W, spec.weight_scheme, axis=0)
    a16 = np.clip(A, -65504, 65504).astype(np.float16)
    w16 = fp16_weights_from_qtensor(qt, g)
    y, act = spec.gemm(A, W)
    assert np.array_equal(y, scalar_fp32_dot(a16, w16))
    # FP16 x FP16 products are exact in FP32: only the K accumulator adds round
    a, w = a16.astype(np.float64), w16.astype(np.float64)
    assert np.all(np.abs(y - a @ w) <= gamma(k) * (np.abs(a) @ np.abs(w)) * (1 + 1e-9))
    preset = pe.get("fp16_dequant_first", weight_format=fmt, group_size=g)
    y_p, act_p = preset.gemm(A, qt)
    assert np.array_equal(y_p, y) and act_p == act


def test_w4a16_placements_differ_only_by_rounding():
    """per_group (exact group sums) and in_loop (FP16 weights) each within its proven bound of a @ w."""
    A, W = _data(4, 128, 5, seed=3, heavy=False)
    per_group, in_loop = (pe.get("mixpe_w4a16", group_size=32, dequant=d) for d in ("per_group", "in_loop"))
    qt = quantize(W, per_group.weight_scheme, axis=0)
    a = A.astype(np.float16).astype(np.float64)  # no saturation on this data
    w = np.repeat(np.asarray(qt.scales, np.float64), 32, axis=0) * qt.element_values()  # int4: s q, exact
    exact = a @ w
    mag = np.abs(a) @ np.abs(w)
    ref_err = gamma(130, U64) * mag  # the float64 reference's own error
    y_g, _ = per_group.gemm(A, qt)
    y_l, _ = in_loop.gemm(A, qt)
    # per_group: each group term passes J + 1 = 5 FP32 roundings (fp32(P), s t, J - 1 adds); P itself is exact
    assert np.all(np.abs(y_g - exact) <= gamma(5) * mag + ref_err)
    # in_loop: |w16 - w| <= U16 |w| + 2^-25 (FP16 rne, subnormal half-ulp); then K FP32 adds over |a| |w16|
    dw = 2.0**-11 * np.abs(w) + 2.0**-25
    w16_mag = np.abs(a) @ (np.abs(w) + dw)
    assert np.all(np.abs(y_l - exact) <= np.abs(a) @ dw + gamma(128) * w16_mag + ref_err)
    assert not np.array_equal(y_g, y_l)  # different datapaths, different roundings


def _int8_reference(A, qt, g, bits=8, acc_bits=32, overflow="wrap"):
    qa, sa = per_token_int(A)
    q = np.rint(qt.element_values()).astype(np.int64)
    P, events = scalar_group_acc(qa, q, g, acc_bits, overflow)
    return group_dequant_output(P, None, qt, None, sa), qa, sa, q, events


@pytest.mark.parametrize("g, bits", [(8, 8), (32, 8), (64, 4), (128, 6)])
def test_int8_per_group_bit_exact_and_bounded(g, bits):
    m, k, n = 4, 128, 3
    A, W = _data(m, k, n, seed=g + bits)
    A[2] = 0.0  # an all-zero token
    spec = pe.get("int8_mac", weight_bits=bits, group_size=g, dequant="per_group")
    assert spec.weight_scheme == f"int{bits}_g{g}"
    qt = quantize(W, spec.weight_scheme, axis=0)
    ref, qa, sa, q, _ = _int8_reference(A, qt, g, bits)
    y, act = spec.gemm(A, W)
    assert np.array_equal(y, ref) and "acc_overflow:32" not in act
    # |P_j| < 2^24 so fp32(P_j) is exact: J + 1 roundings per group term (s_j P_j, J - 1 adds, s_a)
    J = k // g
    P = np.einsum("mjg,jgn->jmn", qa.reshape(m, J, g), q.reshape(J, g, n)).astype(np.float64)
    s = np.asarray(qt.scales, np.float64)
    a_hat, w_hat = sa[:, None] * qa, np.repeat(s, g, axis=0) * q
    exact = a_hat @ w_hat
    bound = gamma(J + 1) * np.abs(sa)[:, None] * np.abs(s[:, None, :] * P).sum(axis=0) \
        + gamma(k + 2, U64) * (np.abs(a_hat) @ np.abs(w_hat))
    assert np.all(np.abs(y - exact) <= bound * (1 + 1e-9))
    y_q, act_q = spec.gemm(A, qt)
    assert np.array_equal(y_q, y) and act_q == act


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
def test_int8_per_group_narrow_register_restarts_each_group(overflow):
    A, W = _data(3, 64, 2, seed=5, heavy=False)
    A[:] = np.abs(A) + 1
    W[:] = np.abs(W) + 0.1
    spec = pe.get("int8_mac", acc_bits=16, overflow=overflow, group_size=32, dequant="per_group")
    qt = quantize(W, spec.weight_scheme, axis=0)
    ref, *_, events = _int8_reference(A, qt, 32, acc_bits=16, overflow=overflow)
    assert events > 0
    y, act = spec.gemm(A, W)
    assert np.array_equal(y, ref) and act["acc_overflow:16"] == events


def test_int8_per_group_rejects_mismatched_weights():
    A, W = _data(2, 64, 3, seed=1)
    spec = pe.get("int8_mac", group_size=32, dequant="per_group")
    for scheme in ("int8_g64", "int8_per_channel_fp32"):
        with pytest.raises(ConfigError, match=rf"^weights are quantized with scheme '{scheme}' but the PE spec "
                                              r"expects 'int8_g32' \(fp16 scales per group\)"):
            spec.gemm(A, quantize(W, scheme, axis=0))
    with pytest.raises(ConfigError, match=r"^weights are quantized with scheme 'int8_g32' but the PE spec expects "
                                          r"'int8_per_channel_fp32'"):
        pe.get("int8_mac").gemm(A, quantize(W, "int8_g32", axis=0))
    with pytest.raises(ConfigError, match=r"^group_size 32 must divide K = 40 "):
        spec.gemm(np.ones((2, 40)), np.ones((40, 3)))
    with pytest.raises(ConfigError, match=r"^integer_parts is defined for dequant='per_output', got 'per_group'$"):
        spec.integer_parts(A, W)
