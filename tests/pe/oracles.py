"""Independent references for the PE tests: exact rational rounding, a scalar accumulator register, the
per-token quantization and the W4A8 output path, each written from its definition (not from accel.pe)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def rne_fp32(value: Fraction) -> float:
    """Nearest binary32 to an exact rational, ties to even, by comparing exact distances to the neighbours."""
    c = np.float32(float(value))
    cands = [np.nextafter(c, np.float32(-np.inf)), c, np.nextafter(c, np.float32(np.inf))]
    best = min(cands, key=lambda f: (abs(Fraction(float(f)) - value),
                                      int(np.array(f, dtype=np.float32).view(np.uint32)) & 1))
    return float(best)


def scalar_group_acc(qa, q, g, acc_bits, overflow):
    """Python-integer reference of one finite group register, k by k: (P (J, M, N) int64, overflow events)."""
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    M, K = qa.shape
    N = q.shape[1]
    out = np.zeros((K // g, M, N), dtype=np.int64)
    events = 0
    for j in range(K // g):
        for mm in range(M):
            for nn in range(N):
                acc = 0
                for kk in range(j * g, (j + 1) * g):
                    acc += int(qa[mm, kk]) * int(q[kk, nn])
                    if not lo <= acc <= hi:
                        events += 1
                        acc = min(max(acc, lo), hi) if overflow == "saturate" else (acc - lo) % 2**acc_bits + lo
                out[j, mm, nn] = acc
    return out, events


def per_token_int(A: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """s = fp32(amax / (2^(b-1) - 1)) per row, q = clip(rne(a / s)) (0 for all-zero rows): (q int64, s float64)."""
    top = 2 ** (bits - 1) - 1
    s = (np.abs(A).max(axis=1) / top).astype(np.float32).astype(np.float64)
    safe = np.where(s > 0, s, 1.0)
    q = np.where(s[:, None] > 0, np.clip(np.rint(A / safe[:, None]), -top - 1, top), 0)
    return q.astype(np.int64), s


def pe_weights(qt, fmt: str):
    """(codes the PE multiplies (K, N) int64, zero points (J, N) or None) of a (K, N) weight QTensor (axis 0)."""
    q = np.rint(qt.element_values()).astype(np.int64)
    if fmt == "q4_0":  # w = d (q - 8): the PE multiplies the signed q - 8
        return q - 8, None
    return q, (None if qt.zeros is None else np.asarray(qt.zeros, np.int64))


def group_dequant_output(P, Sa, qt, zeros, sa=None) -> np.ndarray:
    """The MixPE variants' documented FP32 output path, element by element in float32.

    ``P`` (J, M, N) and ``Sa`` (J, M) are exact group sums (integers, or float64 values that hold them).
    t = fp32(P - z S_a) (the exact difference rounded once; exact for W4A8's integers), term = fp32(s t)
    [Q4_1: fp32(fp32(d t) + fp32(m fp32(S_a)))], acc = fp32(acc + term) in group order, y = fp32(s_a acc)
    when per-token activation scales ``sa`` are given (W4A8), else y = acc (W4A16).
    """
    f32 = np.float32
    J, M, N = P.shape
    y = np.zeros((M, N))
    for mm in range(M):
        for nn in range(N):
            acc = f32(0)
            for j in range(J):
                sa_j = Fraction(float(Sa[j, mm])) if Sa is not None else Fraction(0)
                t = Fraction(float(P[j, mm, nn])) - (int(zeros[j, nn]) * sa_j if zeros is not None else 0)
                term = f32(f32(qt.scales[j, nn]) * f32(rne_fp32(t)))
                if qt.mins is not None:
                    term = f32(term + f32(f32(qt.mins[j, nn]) * f32(rne_fp32(sa_j))))
                acc = f32(acc + term)
            y[mm, nn] = float(acc if sa is None else f32(f32(sa[mm]) * acc))
    return y


def fp16_weights_from_qtensor(qt, g: int) -> np.ndarray:
    """The in_loop FP16 weights from a (K, N) QTensor's fields by numpy float16 casts (one rne each):
    fp16(s (q - z)), or for mins (Q4_1) fp16(fp16(d q) + m).  Assumes no FP16 overflow."""
    q = qt.element_values()
    s = np.repeat(np.asarray(qt.scales, np.float64), g, axis=0)
    if qt.mins is not None:
        dq = (s * q).astype(np.float16).astype(np.float64)
        return (dq + np.repeat(np.asarray(qt.mins, np.float64), g, axis=0)).astype(np.float16)
    z = np.repeat(np.asarray(qt.zeros, np.float64), g, axis=0) if qt.zeros is not None else 0
    return (s * (q - z)).astype(np.float16)


def scalar_fp32_dot(a16: np.ndarray, w16: np.ndarray) -> np.ndarray:
    """acc = fp32(acc + fp32(a w)) in k order, one numpy float32 scalar operation at a time."""
    f32 = np.float32
    M, K = a16.shape
    y = np.zeros((M, w16.shape[1]))
    for mm in range(M):
        for nn in range(w16.shape[1]):
            acc = f32(0)
            for kk in range(K):
                acc = f32(acc + f32(a16[mm, kk]) * f32(w16[kk, nn]))
            y[mm, nn] = float(acc)
    return y
