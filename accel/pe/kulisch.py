"""Kulisch (exact fixed-point) accumulation: dot products with no rounding until one final conversion.

Operands lie on fixed-point grids: A = IA * 2^lsb_a, W = IW * 2^lsb_w with integer IA, IW of at most
``bits_a`` / ``bits_w`` magnitude bits.  The accumulator then needs bits_a + bits_w + ceil(log2 K) + 1
(sign) bits and holds every partial sum exactly.  Computation: the integers are split into limbs small
enough that every limb product sum stays below 2^53 (so float64 BLAS is exact), limb results are
recombined in int64 (or Python integers beyond 62 bits), and the exact total is rounded once to binary32
(nearest-even, keeping a sticky bit so no double rounding happens).
"""

from __future__ import annotations

import math

import numpy as np


def acc_width(bits_a: int, bits_w: int, k: int) -> int:
    """Signed width of a Kulisch accumulator for K products of the given magnitude widths."""
    return bits_a + bits_w + max(1, math.ceil(math.log2(max(k, 2)))) + 1


def grid_ints(X: np.ndarray, lsb: int) -> np.ndarray:
    """X / 2^lsb as int64; raises if X is not on the grid (a caller bug, not user input)."""
    I = np.ldexp(X, -lsb)
    if not np.all(I == np.rint(I)):
        raise ValueError("operand not on its fixed-point grid")  # pragma: no cover - internal invariant
    return I.astype(np.int64)


def exact_matmul_int(IA: np.ndarray, IW: np.ndarray) -> np.ndarray:
    """Exact IA @ IW for int64 matrices: int64 result when it fits 62 bits, else an object array of ints."""
    K = IA.shape[1]
    ba = int(np.abs(IA).max(initial=0)).bit_length()
    bw = int(np.abs(IW).max(initial=0)).bit_length()
    logk = math.ceil(math.log2(max(K, 2)))
    if ba + bw + logk <= 52:
        return np.matmul(IA.astype(np.float64), IW.astype(np.float64)).astype(np.int64)
    limb = max(1, (52 - logk) // 2)
    la, lw = _limbs(IA, limb), _limbs(IW, limb)
    wide = ba + bw + logk > 62
    total = np.zeros((IA.shape[0], IW.shape[1]), dtype=object if wide else np.int64)
    for i, a in enumerate(la):
        for j, w in enumerate(lw):
            part = np.matmul(a, w).astype(np.int64)
            if wide:
                part = part.astype(object)
            total = total + part * (1 << (limb * (i + j)))
    return total


def _limbs(I: np.ndarray, limb: int) -> list[np.ndarray]:
    sign = np.sign(I)
    mag = np.abs(I)
    out = []
    n = max(1, -(-int(mag.max(initial=0)).bit_length() // limb))
    for i in range(n):
        out.append((sign * ((mag >> (limb * i)) & ((1 << limb) - 1))).astype(np.float64))
    return out


def round_ints_to_fp32(T: np.ndarray, lsb: int) -> np.ndarray:
    """Correctly rounded binary32 of T * 2^lsb (T int64 or object array of Python ints)."""
    if T.dtype == object:
        flat = [_reduce(int(t)) for t in T.ravel()]
        t2 = np.array([f[0] for f in flat], dtype=np.int64).reshape(T.shape)
        sh = np.array([f[1] for f in flat], dtype=np.int64).reshape(T.shape)
    else:
        a = np.abs(T)
        e = np.frexp(a.astype(np.float64))[1].astype(np.int64)  # bit length, possibly one too large
        sh = np.maximum(e - 52, 0)
        t = a >> sh
        sticky = (a & ((np.int64(1) << sh) - 1)) != 0
        t2 = np.sign(T) * ((t << 1) | sticky.astype(np.int64))
        sh = sh - 1
    # t2 has at most 53 bits, so it is exact in float64; one rounding to binary32 follows.
    return np.ldexp(t2.astype(np.float64), sh + lsb).astype(np.float32)


def _reduce(t: int) -> tuple[int, int]:
    a = abs(t)
    sh = max(a.bit_length() - 52, 0)
    kept = (a >> sh) << 1 | (1 if a & ((1 << sh) - 1) else 0)
    return (kept if t >= 0 else -kept), sh - 1


def float64_exact(A: np.ndarray, W: np.ndarray, lsb_a: int, lsb_w: int) -> bool:
    """True when float64 BLAS computes A @ W exactly, in any summation order (A, W on their grids).

    Every product and partial sum is an integer multiple of u = 2^(lsb_a + lsb_w) of magnitude at most
    K max|A| max|W|; when that is below 2^53 u each is a float64 value (53-bit significand, and u at or
    above float64's smallest subnormal 2^-1074), so no add rounds.
    """
    K = A.shape[1]
    if lsb_a + lsb_w < -1074 or not K:
        return False
    amax = int(np.ldexp(np.abs(A).max(initial=0.0), -lsb_a))
    wmax = int(np.ldexp(np.abs(W).max(initial=0.0), -lsb_w))
    return K * amax * wmax < 2**53


def exact_dot_fp32(A: np.ndarray, W: np.ndarray, lsb_a: int, lsb_w: int) -> np.ndarray:
    """Kulisch-accumulated A @ W rounded once to binary32.

    Fast path: when ``float64_exact`` holds, float64 BLAS holds the exact sum T u, and one cast to binary32
    (round to nearest even, subnormals and overflow to inf included) is the single rounding the register's
    conversion makes.  Otherwise integer limbs (``exact_matmul_int``) and ``round_ints_to_fp32``.
    """
    A = np.asarray(A, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if float64_exact(A, W, lsb_a, lsb_w):
        return np.matmul(A, W).astype(np.float32)
    T = exact_matmul_int(grid_ints(A, lsb_a), grid_ints(W, lsb_w))
    return round_ints_to_fp32(T, lsb_a + lsb_w)
