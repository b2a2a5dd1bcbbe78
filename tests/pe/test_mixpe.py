"""MixPE W4A8 / W4A16, INT8 MAC and the FP16 dequant-first baseline: exact integer stages, proven bounds."""

import numpy as np
import pytest

import accel.pe as pe
from accel.errors import ConfigError
from accel.pe.fp32 import U64, gamma
from accel.pe.operands import quantize_weights
from accel.pe.shiftadd import shift_add_mul
from accel.quant import quantize
from tests.pe.oracles import group_dequant_output, pe_weights, per_token_int, scalar_group_acc

pytestmark = pytest.mark.unit

FORMATS = ["int4", "uint4", "q4_0", "q4_1"]


def _data(m, k, n, seed=0, heavy=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_t(2, (m, k)) if heavy else rng.standard_normal((m, k))
    W = rng.standard_normal((k, n)) * 0.05
    return A, W


def _group(fmt):
    return 32 if fmt.startswith("q4") else 8


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", [(1, 64, 1), (3, 64, 5), (7, 96, 11)])
def test_w4a8_integer_parts_equal_int64_reference(fmt, shape):
    m, k, n = shape
    A, W = _data(m, k, n, seed=m + n)
    g = _group(fmt)
    spec = pe.get("mixpe_w4a8", weight_format=fmt, group_size=g)
    parts = spec.integer_parts(A, W)
    qa, gw = parts["qa"], parts["weights"]
    J = k // g
    ref = np.einsum("mjg,jgn->jmn", qa.reshape(m, J, g), gw.codes.reshape(J, g, n))  # int64
    assert parts["P"].dtype == np.int64 and np.array_equal(parts["P"], ref)
    # the same sums from the shift-and-add core, product by product
    prods = shift_add_mul(qa[:, :, None], gw.codes[None, :, :], 4, gw.signed)  # (m, k, n)
    assert np.array_equal(prods.reshape(m, J, g, n).sum(axis=2).transpose(1, 0, 2), ref)
    if fmt in ("uint4", "q4_1"):
        assert np.array_equal(parts["Sa"], qa.reshape(m, J, g).sum(axis=2).T)
    else:
        assert parts["Sa"] is None
    assert gw.codes.min() >= (-8 if gw.signed else 0) and gw.codes.max() <= (7 if gw.signed else 15)
    assert np.abs(qa).max() <= 127


def _w4a8_bound(spec, A, W):
    """|y - y_dequant_first| <= gamma_{J+2} s_a sum_j (|s_j t_j| + |m_j S_a_j|) + float64 error of the reference.

    Each group term passes through at most J + 2 binary32 roundings (d P, + m S_a, J - 1 accumulator adds,
    the final s_a multiply); t = P - z S_a and its conversion are exact (|t| < 2^24).
    """
    parts = spec.integer_parts(A, W)
    gw, P, Sa, sa, qa = parts["weights"], parts["P"].astype(np.float64), parts["Sa"], parts["sa"], parts["qa"]
    J = P.shape[0]
    t = P - (gw.zeros[:, None, :] * Sa[:, :, None] if gw.zeros is not None else 0)
    mag = np.abs(gw.scales[:, None, :] * t)
    if gw.mins is not None:
        mag = mag + np.abs(gw.mins[:, None, :] * Sa[:, :, None])
    a_hat = sa[:, None] * qa
    w_hat = gw.dequantize()
    ref = a_hat @ w_hat
    K = A.shape[1]
    bound = gamma(J + 2) * np.abs(sa)[:, None] * mag.sum(axis=0) + gamma(K + 2, U64) * (np.abs(a_hat) @ np.abs(w_hat))
    return ref, bound * (1 + 1e-9)


@pytest.mark.parametrize("fmt", FORMATS)
def test_w4a8_output_equals_scalar_reference_bit_for_bit(fmt):
    """Activations, integer group sums and the FP32 output path re-derived from their definitions."""
    m, k, n = 5, 96, 4
    A, W = _data(m, k, n, seed=21, heavy=True)
    A[1] = 0.0  # an all-zero token
    g = _group(fmt)
    spec = pe.get("mixpe_w4a8", weight_format=fmt, group_size=g)
    qa, sa = per_token_int(A)
    qt = quantize(W, spec.weight_scheme, axis=0)  # accel.formats' scheme (checked against gguf/formats oracles)
    q, zeros = pe_weights(qt, fmt)
    J = k // g
    P = np.einsum("mjg,jgn->jmn", qa.reshape(m, J, g), q.reshape(J, g, n))
    Sa = qa.reshape(m, J, g).sum(axis=2).T
    y, _ = spec.gemm(A, W)
    assert np.array_equal(y, group_dequant_output(P, Sa, qt, zeros, sa))
    parts = spec.integer_parts(A, W)
    assert np.array_equal(parts["qa"], qa) and np.array_equal(parts["sa"], sa)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("heavy", [False, True])
def test_w4a8_output_within_proven_fp32_bound_of_dequant_first(fmt, heavy):
    A, W = _data(9, 128, 13, seed=3, heavy=heavy)
    spec = pe.get("mixpe_w4a8", weight_format=fmt, group_size=_group(fmt))
    y, _ = spec.gemm(A, W)
    ref, bound = _w4a8_bound(spec, A, W)
    assert np.all(np.abs(y - ref) <= bound)
    assert y.dtype == np.float64 and np.array_equal(y, y.astype(np.float32))  # FP32 outputs


def test_q4_weights_decode_like_gguf():
    import gguf

    rng = np.random.default_rng(5)
    W = rng.standard_normal((96, 7)).astype(np.float32)
    for fmt, qt in (("q4_0", gguf.GGMLQuantizationType.Q4_0), ("q4_1", gguf.GGMLQuantizationType.Q4_1)):
        gw = quantize_weights(W, fmt, 32)
        raw = gguf.quants.quantize(np.ascontiguousarray(W.T), qt)  # llama.cpp blocks, rows = output channels
        oracle = gguf.quants.dequantize(raw, qt).T
        assert np.array_equal(gw.dequantize().astype(np.float32), oracle)
        # the blocks as a GGUF file stores them, read back as a (K, N) QTensor (as workloads does)
        from accel.pe.operands import from_qtensor
        from accel.quant import QTensor

        rows = QTensor.from_bytes(raw.tobytes(), fmt, shape=(7, 96), axis=-1)
        stored = QTensor(rows.codes.T, rows.scales.T, None if rows.zeros is None else rows.zeros.T,
                         None if rows.mins is None else rows.mins.T, rows.scheme, 0)
        assert np.array_equal(from_qtensor(stored).dequantize().astype(np.float32), oracle)
        A = np.random.default_rng(6).standard_normal((3, 96))
        spec = pe.get("mixpe_w4a8", weight_format=fmt)
        assert np.array_equal(spec.gemm(A, stored)[0], spec.gemm(A, W)[0])


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
def test_w4a8_narrow_accumulator_saturates_or_wraps_and_counts(overflow):
    A, W = _data(4, 32, 3, seed=7)
    A[:, :16] = np.abs(A[:, :16]) + 3  # long same-sign runs
    spec = pe.get("mixpe_w4a8", group_size=16, acc_bits=12, overflow=overflow)
    parts = spec.integer_parts(A, W)
    ref, events = scalar_group_acc(parts["qa"], parts["weights"].codes, 16, 12, overflow)
    assert events > 0
    assert np.array_equal(parts["P"], ref) and parts["overflows"] == events
    y, act = spec.gemm(A, W)
    assert act["acc_overflow:12"] == events
    qt = quantize(W, spec.weight_scheme, axis=0)
    assert np.array_equal(y, group_dequant_output(ref, None, qt, None, parts["sa"]))  # clipped sums reach the output
    assert act - pe.get("mixpe_w4a8", group_size=16, acc_bits=12).activity_for(4, 3, 32) == {"acc_overflow:12": events}


def test_int8_mac_exact_accumulator_and_output_rounding():
    A, W = _data(5, 70, 6, seed=11, heavy=True)
    spec = pe.get("int8_mac")
    parts = spec.integer_parts(A, W)
    assert np.array_equal(parts["acc"], parts["qa"] @ parts["qw"])  # int64 matmul
    y, _ = spec.gemm(A, W)
    for i in range(5):
        for j in range(6):
            c = np.float32(parts["sa"][i]) * np.float32(parts["sw"][j])
            assert y[i, j] == float(np.float32(int(parts["acc"][i, j])) * c)
    ref = (parts["sa"][:, None] * parts["qa"]) @ (parts["qw"] * parts["sw"][None, :])
    assert np.all(np.abs(y - ref) <= gamma(3) * np.abs(ref) * (1 + 1e-9))  # two products + conversion


def test_int8_mac_wraps_narrow_accumulator():
    A, W = _data(3, 40, 2, seed=1)
    A[:] = np.abs(A) + 1
    W[:] = np.abs(W) + 1
    spec = pe.get("int8_mac", acc_bits=16)
    parts = spec.integer_parts(A, W)
    ref, events = scalar_group_acc(parts["qa"], parts["qw"], 40, 16, "wrap")
    assert events > 0 and parts["overflows"] == events and np.array_equal(parts["acc"], ref[0])


def test_fp16_dequant_first_equals_scalar_reference_bit_for_bit():
    A, W = _data(3, 64, 4, seed=2, heavy=True)
    for fmt in FORMATS:
        spec = pe.get("fp16_dequant_first", weight_format=fmt, group_size=_group(fmt))
        y, _ = spec.gemm(A, W)
        w16 = spec.dequantized_weights(W)
        a16 = np.clip(A, -65504, 65504).astype(np.float16)
        for i in range(3):
            for j in range(4):
                acc = np.float32(0)
                for kk in range(64):
                    acc = np.float32(acc + np.float32(a16[i, kk]) * np.float32(w16[kk, j]))
                assert y[i, j] == float(acc)
        exact = a16.astype(np.float64) @ w16.astype(np.float64)
        bound = gamma(64) * (np.abs(a16.astype(np.float64)) @ np.abs(w16.astype(np.float64)))
        assert np.all(np.abs(y - exact) <= bound * (1 + 1e-9))


@pytest.mark.parametrize("fmt", FORMATS)
def test_fp16_dequant_first_weights_from_their_definition(fmt):
    # w16 = fp16(s (q - z)), and for Q4_1 fp16(fp16(d q) + m): numpy's float16 casts on the QTensor's fields.
    W = _data(1, 64, 9, seed=4, heavy=True)[1] * 1e3
    g = _group(fmt)
    spec = pe.get("fp16_dequant_first", weight_format=fmt, group_size=g)
    qt = quantize(W, spec.weight_scheme, axis=0)
    q = qt.element_values()
    s = np.repeat(qt.scales, g, axis=0)
    if qt.mins is not None:
        want = ((s * q).astype(np.float16).astype(np.float64) + np.repeat(qt.mins, g, axis=0)).astype(np.float16)
    else:
        want = (s * (q - (np.repeat(qt.zeros, g, axis=0) if qt.zeros is not None else 0))).astype(np.float16)
    assert np.array_equal(spec.dequantized_weights(W), want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_w4a16_group_sums_and_output_exact_and_bounded(fmt):
    A, W = _data(6, 128, 5, seed=8, heavy=True)
    A[0, :5] = [65504.0, -1e6, 3e-8, 6e-5, -2.0**-24]  # saturation and subnormals
    g = _group(fmt)
    spec = pe.get("mixpe_w4a16", weight_format=fmt, group_size=g)
    parts = spec.group_parts(A, W)
    a16, gw, P, Sa = parts["a16"], parts["weights"], np.stack(list(parts["P"])), parts["Sa"]
    assert np.array_equal(a16, np.clip(A, -65504, 65504).astype(np.float16)) and a16[0, 1] == -65504.0
    ia = np.ldexp(a16.astype(np.float64), 24).astype(np.int64)  # FP16 on its 2^-24 grid
    J = 128 // g
    qt = quantize(W, spec.weight_scheme, axis=0)
    q, zeros = pe_weights(qt, fmt)
    ref = np.einsum("mjg,jgn->jmn", ia.reshape(6, J, g), q.reshape(J, g, 5))
    assert np.array_equal(np.ldexp(P, 24).astype(np.int64), ref)
    sa_ref = ia.reshape(6, J, g).sum(axis=2).T
    if Sa is not None:
        assert np.array_equal(np.ldexp(Sa, 24).astype(np.int64), sa_ref)
    # the output path, bit for bit, from the exact sums re-derived above
    y, _ = spec.gemm(A, W)
    assert np.array_equal(y, group_dequant_output(np.ldexp(ref.astype(np.float64), -24),
                                                  np.ldexp(sa_ref.astype(np.float64), -24), qt, zeros))
    from accel.pe.expadd import expadd_mul

    prods = expadd_mul(a16[:, :, None], gw.codes[None, :, :], 4, gw.signed).astype(np.float64)  # (m, k, n)
    assert np.array_equal(prods.reshape(6, J, g, 5).sum(axis=2).transpose(1, 0, 2), P)  # exponent-add core
    t = P - (gw.zeros[:, None, :] * Sa[:, :, None] if gw.zeros is not None else 0)
    mag = np.abs(gw.scales[:, None, :] * t)
    if gw.mins is not None:
        mag = mag + np.abs(gw.mins[:, None, :] * Sa[:, :, None])
    a = a16.astype(np.float64)
    exact = a @ gw.dequantize()
    bound = gamma(J + 2) * mag.sum(axis=0) + gamma(130, U64) * (np.abs(a) @ np.abs(gw.dequantize()))
    assert np.all(np.abs(y - exact) <= bound * (1 + 1e-9))


def test_group_size_must_divide_k():
    with pytest.raises(ConfigError, match=r"^group_size 32 must divide K = 40 "):
        pe.get("mixpe_w4a8").gemm(np.ones((2, 40)), np.ones((40, 3)))
    with pytest.raises(ConfigError, match=r"^inner dimensions differ: A is \(2, 40\), W has K=41$"):
        pe.get("mixpe_w4a8").gemm(np.ones((2, 40)), np.ones((41, 3)))


@pytest.mark.parametrize("name", ["mixpe_w4a8", "mixpe_w4a16", "fp16_dequant_first"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_prequantized_qtensor_weights_give_the_same_result(name, fmt):
    A, W = _data(4, 64, 6, seed=9)
    g = _group(fmt)
    spec = pe.get(name, weight_format=fmt, group_size=g)
    qt = quantize(W, spec.weight_scheme, axis=0)
    y_q, act_q = spec.gemm(A, qt)
    y_f, act_f = spec.gemm(A, W)
    assert np.array_equal(y_q, y_f) and act_q == act_f
    other = "uint4" if fmt != "uint4" else "int4"
    with pytest.raises(ConfigError, match=r"^weights are quantized with scheme '.*' but the PE spec expects"):
        pe.get(name, weight_format=other, group_size=g).gemm(A, qt)


def test_int8_mac_accepts_per_channel_qtensor():
    A, W = _data(3, 40, 5, seed=10)
    spec = pe.get("int8_mac")
    y_q, _ = spec.gemm(A, quantize(W, spec.weight_scheme, axis=0))
    assert np.array_equal(y_q, spec.gemm(A, W)[0])
    with pytest.raises(ConfigError, match=r"^weights are quantized with scheme 'int8_per_channel' but the PE spec "
                                          r"expects 'int8_per_channel_fp32' "):
        spec.gemm(A, quantize(W, "int8_per_channel", axis=0))
