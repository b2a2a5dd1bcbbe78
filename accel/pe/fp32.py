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


def ordered_fp32_dot(A32: np.ndarray, W32: np.ndarray, product=None) -> np.ndarray:
    """sum_k fl32(acc + p_k) in k order, p_k = A32[:, k] x W32[k, :] (``product`` overrides the multiply).

    With the default multiply the products must be exact in float32 (e.g. values with at most 12
    significant bits each), so the only rounding is the accumulator add after each product; a compiled
    kernel (numba) then does the work, otherwise a numpy loop over k.
    """
    A32 = np.ascontiguousarray(A32, dtype=np.float32)
    W32 = np.ascontiguousarray(W32, dtype=np.float32)
    if product is None:
        return _ordered_kernel()(A32, W32)
    M, K = A32.shape
    N = W32.shape[1]
    acc = np.zeros((M, N), dtype=np.float32)
    for k in range(K):
        np.add(acc, product(A32[:, k, None], W32[None, k, :]), out=acc)
    return acc


@functools.cache
def _ordered_kernel():
    """numba kernel: rows of 8 outputs, k outer, n inner (vectorised across independent accumulators)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(A, W):  # pragma: no cover - compiled
        M, K = A.shape
        N = W.shape[1]
        acc = np.zeros((M, N), dtype=np.float32)
        for m0 in range(0, M, 8):
            for k in range(K):
                w = W[k]
                for i in range(m0, min(m0 + 8, M)):
                    a = A[i, k]
                    row = acc[i]
                    for n in range(N):
                        row[n] = row[n] + a * w[n]
        return acc

    return kernel
