"""Floating-point rounding helpers shared by the variants: IEEE binary32 steps and error bounds.

numpy float32 arithmetic on float32 arrays rounds every single operation to nearest-even, so writing a
PE's datapath as a sequence of float32 array operations reproduces its rounding bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np

from accel.formats import get

U32 = 2.0**-24  # unit roundoff of binary32
U16 = 2.0**-11  # unit roundoff of binary16
U64 = 2.0**-53  # unit roundoff of binary64
FP16_MAX = get("fp16").max  # 65504


def gamma(n: int, u: float = U32) -> float:
    """Higham's gamma_n = n u / (1 - n u): bound on the relative error of n successive roundings."""
    return n * u / (1 - n * u)


def f32(x) -> np.ndarray:
    """Round to binary32 (nearest-even), as a float32 array."""
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def to_fp16_saturating(x) -> np.ndarray:
    """Round to binary16 (nearest-even); magnitudes beyond the largest finite value saturate to +-65504."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip(x, -FP16_MAX, FP16_MAX).astype(np.float16)


def ordered_fp32_dot(A32: np.ndarray, W32: np.ndarray, product=None, *, exact_products: bool | None = None
                     ) -> np.ndarray:
    """sum_k fl32(acc + p_k) in k order, p_k = A32[:, k] x W32[k, :] (``product`` overrides the multiply).

    With the default multiply the products must be exact in float32 (e.g. values with at most 12
    significant bits each), so the only rounding is the accumulator add after each product; a compiled
    kernel (numba) then does the work, otherwise a numpy loop over k.  When every product is exact, the
    kernel may fuse multiply and add (FMA): fma(a, w, acc) rounds a w + acc once, and with a w exact that
    is fl32(acc + fl32(a w)), the same bits.  ``exact_products=True`` is the caller's proof (e.g. from
    its operand formats); when None, ``products_exact`` checks the operands at hand; otherwise the
    multiply and the add stay separate.
    """
    A32 = np.ascontiguousarray(A32, dtype=np.float32)
    W32 = np.ascontiguousarray(W32, dtype=np.float32)
    if product is None:
        fma = products_exact(A32, W32) if exact_products is None else exact_products
        return _ordered_kernel(bool(fma))(A32, W32)
    M, K = A32.shape
    N = W32.shape[1]
    acc = np.zeros((M, N), dtype=np.float32)
    for k in range(K):
        np.add(acc, product(A32[:, k, None], W32[None, k, :]), out=acc)
    return acc


def _sig_lsb(x32: np.ndarray) -> tuple[int, int]:
    """(most significant bits of any nonzero finite value, exponent of the lowest set bit over all of them)."""
    x = np.abs(x32[np.isfinite(x32) & (x32 != 0)].astype(np.float64))
    if not x.size:
        return 0, 0
    _, e = np.frexp(x)  # x = f 2^e, f in [0.5, 1)
    m = np.ldexp(x, 24 - e).astype(np.int64)  # the 24-bit significand (float32 values: exact)
    low = m & -m
    lsb = np.frexp(low.astype(np.float64))[1] - 1 + e - 24  # exponent of each value's lowest set bit
    return int((e - lsb).max()), int(lsb.min())


def products_exact(A32: np.ndarray, W32: np.ndarray) -> bool:
    """True when every product A32[m, k] W32[k, n] is exactly representable in binary32.

    A product of values with sa and sw significant bits has at most sa + sw <= 24 significant bits; it is
    exact when its lowest bit is at or above binary32's smallest subnormal 2^-149 and its magnitude is
    below the overflow threshold 2^128 (checked with the largest magnitudes, in float64).
    """
    if not (np.isfinite(A32).all() and np.isfinite(W32).all()):
        return False
    sa, la = _sig_lsb(A32)
    sw, lw = _sig_lsb(W32)
    big = float(np.abs(A32).max(initial=0)) * float(np.abs(W32).max(initial=0))
    return sa + sw <= 24 and la + lw >= -149 and big < 2.0**128


_NB = 256  # output columns per tile: the accumulator tile (8 x 256 float32) stays in L1, a K x 256 panel in L2
_RB = 8  # rows per tile: each loaded weight row is used by 8 accumulators


@functools.cache
def _ordered_kernel(fma: bool):
    """numba kernel: tiles of 8 rows x 256 columns, k outer (four at a time), columns inner (vectorised across
    independent accumulators).  Every output still adds its products one by one in k order:
    (((acc + p_k) + p_k+1) + p_k+2) + p_k+3 rounds after each add, as written (no reassociation without
    fastmath), and only loads and stores the accumulator once per four products.  ``fma`` lets LLVM fuse
    each multiply with its add (only for exact products, see ``ordered_fp32_dot``)."""
    from accel.pe.jit import numba

    @numba().njit(cache=True, nogil=True, fastmath={"contract"} if fma else False)
    def kernel(A, W):  # pragma: no cover - compiled
        # numba's disk-cache key hashes the closure's cells but not the fastmath flags: reading ``fma``
        # here keeps the two kernels apart in the cache
        M, K = A.shape[0], A.shape[1] + 0 * fma
        N = W.shape[1]
        K4 = K - K % 4
        acc = np.zeros((M, N), dtype=np.float32)
        for n0 in range(0, N, _NB):
            n1 = min(n0 + _NB, N)
            for m0 in range(0, M, _RB):
                m1 = min(m0 + _RB, M)
                for k in range(0, K4, 4):
                    w0, w1, w2, w3 = W[k, n0:n1], W[k + 1, n0:n1], W[k + 2, n0:n1], W[k + 3, n0:n1]
                    for i in range(m0, m1):
                        a0, a1, a2, a3 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
                        row = acc[i, n0:n1]
                        for n in range(n1 - n0):
                            row[n] = (((row[n] + a0 * w0[n]) + a1 * w1[n]) + a2 * w2[n]) + a3 * w3[n]
                for k in range(K4, K):
                    w = W[k, n0:n1]
                    for i in range(m0, m1):
                        a = A[i, k]
                        row = acc[i, n0:n1]
                        for n in range(n1 - n0):
                            row[n] = row[n] + a * w[n]
        return acc

    return kernel
