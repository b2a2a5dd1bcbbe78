"""Fused group GEMM + per-group FP32 dequantization: the fast path of ``mixpe.dequant_groups`` over group sums.

Few rows (decode): one compiled kernel does both.  From ``BLAS_ROWS`` rows on (prefill), BLAS computes each
group's sums for all rows (the reference's calls) and a compiled kernel adds that group's terms to acc.

One compiled pass computes, per output (m, n), acc = fl32(... fl32(0 + term_0) ... + term_{J-1}) with
term_j = fl32(s[j,n] fl32(t_j)) [+ fl32(mins[j,n] Sa32[j,m]), one more fl32 add] and
t_j = P_j - z[j,n] Sa[j,m] (in the dtype of ``a``), P_j = sum_{k in group j} a[m,k] q[k,n].

Both are bit-identical to the reference (``intdot.group_dot_iter`` + ``mixpe.dequant_groups``), proved:
- P_j: the caller passes ``a`` as float32 only when every partial sum of any order is an integer of
  magnitude < 2^24 (float64: a multiple of a common grid step below 2^53 steps: MixPE W4A16's FP16
  activations are multiples of 2^-24 below 2^16, times 4-bit codes, g <= 512), so each add is exact and
  the sum does not depend on the order: the kernel's k-sequential sum equals BLAS's blocked sum
  and the exact value the reference's int64 register holds.  The
  integer group register cannot overflow either (the caller checks the bound against ``acc_bits`` first).
- A zero sum may be -0 in BLAS and +0 here; fl32(s * +-0) is +-0 and acc starts at +0, and
  +0 + -0 = +0 (round to nearest), so the sign of a zero P never reaches acc.  (Mins: fl32(d * +-0) +
  fl32(m Sa) is +-0 only if both are zeros, same argument.)
- Every other step is the same IEEE operation on the same operands in the same dtype and order (no
  fastmath, so no fused multiply-add): t, the conversion to float32 (round to nearest even), the scale
  product, the mins add and the accumulation in group order.
"""

from __future__ import annotations

import functools

import numpy as np

_NB = 512  # output columns per block: a K x 512 int8 weight panel stays in L2 across the rows
_RB = 4  # rows per block: each loaded weight row is used by 4 accumulators
BLAS_ROWS = 16  # from this many rows on, the group sums come from BLAS instead of the compiled loop
_TILE_ROWS = 128  # BLAS branch: rows of an output tile
_TILE = 2**17  # BLAS branch: outputs per tile (its group sums and FP32 accumulators stay in L2)


def fused_group_dequant(a: np.ndarray, codes: np.ndarray, g: int, scales32: np.ndarray, zeros: np.ndarray | None,
                        mins32: np.ndarray | None, Sa: np.ndarray | None, codes_as=None) -> np.ndarray:
    """acc (M, N) float32 as ``mixpe.dequant_groups`` defines it; ``a`` float32/float64 (exact sums, see above).

    ``zeros`` (J, N) and ``Sa`` (J, M) are converted to a's dtype (as the reference does); ``mins32`` is the
    float32 mins, used with Sa converted to float32.  ``codes_as(dtype)``: the codes converted (e.g. cached
    per weight tensor), for the BLAS branch.
    """
    dt = a.dtype
    a = np.ascontiguousarray(a)
    codes = np.ascontiguousarray(codes)
    empty = np.zeros((0, 0), dtype=dt)
    z = empty if zeros is None else np.ascontiguousarray(zeros, dtype=dt)
    sa_t = empty if Sa is None else np.ascontiguousarray(Sa, dtype=dt)
    mins = np.zeros((0, 0), dtype=np.float32) if mins32 is None else np.ascontiguousarray(mins32, dtype=np.float32)
    sa32 = np.zeros((0, 0), dtype=np.float32) if (Sa is None or mins32 is None) else \
        np.ascontiguousarray(Sa, dtype=np.float32)
    scales32 = np.ascontiguousarray(scales32, dtype=np.float32)
    M, K = a.shape
    if M < BLAS_ROWS:
        scratch = np.empty((_RB, _NB), dtype=dt)
        return _kernel()(a, codes, g, scales32, z, sa_t, mins, sa32, scratch)
    # Many rows: BLAS computes the exact sums of one group for a tile of outputs, a compiled kernel adds that
    # group's dequantized terms to the tile's acc; all groups of one tile, then the next, so that the sums
    # and the accumulators stay in cache (each output still adds its groups in order).
    J, N = K // g, codes.shape[1]
    w = codes.astype(dt) if codes_as is None else codes_as(dt)
    acc = np.empty((M, N), dtype=np.float32)
    dequant = _dequant_kernel()
    rows = min(M, _TILE_ROWS)
    cols = min(N, max(_NB, _TILE // rows))
    for r0 in range(0, M, rows):
        r1 = min(M, r0 + rows)
        for c0 in range(0, N, cols):
            c1 = min(N, c0 + cols)
            P = np.empty((r1 - r0, c1 - c0), dtype=dt)
            part = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
            for j in range(J):
                np.matmul(a[r0:r1, j * g:(j + 1) * g], w[j * g:(j + 1) * g, c0:c1], out=P)
                dequant(P, j, r0, c0, scales32, z, sa_t, mins, sa32, part)
            acc[r0:r1, c0:c1] = part
    return acc


@functools.cache
def _dequant_kernel():
    """numba kernel: acc += the FP32 dequantized terms of group j from its exact sums P, for the tile of outputs
    at rows m0.. and columns n0.. (P and acc hold the tile)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def dequant(P, j, m0, n0, scales, zeros, Sa, mins, Sa32, acc):  # pragma: no cover - compiled
        M, N = P.shape  # the tile of outputs at rows m0.., columns n0..
        has_z = zeros.shape[0] > 0
        has_m = mins.shape[0] > 0
        s = scales[j, n0:n0 + N]
        for m in range(M):
            pm = P[m]
            row = acc[m]
            if has_z:
                sa = Sa[j, m0 + m]
                zj = zeros[j, n0:n0 + N]
                for n in range(N):
                    pm[n] = pm[n] - zj[n] * sa
            if has_m:
                sm = Sa32[j, m0 + m]
                mj = mins[j, n0:n0 + N]
                for n in range(N):
                    row[n] = row[n] + (s[n] * np.float32(pm[n]) + mj[n] * sm)
            else:
                for n in range(N):
                    row[n] = row[n] + s[n] * np.float32(pm[n])

    return dequant


@functools.cache
def _kernel():
    """numba kernel (compiled on first use, cached on disk): column blocks, 4 rows at a time, group by group."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(a, q, g, scales, zeros, Sa, mins, Sa32, p):  # pragma: no cover - compiled
        M, K = a.shape
        N = q.shape[1]
        J = K // g
        RB, NB = p.shape
        has_z = zeros.shape[0] > 0
        has_m = mins.shape[0] > 0
        acc = np.zeros((M, N), dtype=np.float32)
        for n0 in range(0, N, NB):
            nb = min(NB, N - n0)
            for m0 in range(0, M, RB):
                rb = min(RB, M - m0)
                for j in range(J):
                    for i in range(rb):
                        for n in range(nb):
                            p[i, n] = 0
                    for k in range(j * g, j * g + g):
                        w = q[k, n0:n0 + nb]
                        for i in range(rb):
                            x = a[m0 + i, k]
                            pi = p[i]
                            for n in range(nb):
                                pi[n] += x * w[n]
                    for i in range(rb):
                        m = m0 + i
                        row = acc[m, n0:n0 + nb]
                        pi = p[i]
                        s = scales[j, n0:n0 + nb]
                        if has_z:
                            sa = Sa[j, m]
                            zj = zeros[j, n0:n0 + nb]
                            for n in range(nb):
                                pi[n] = pi[n] - zj[n] * sa
                        if has_m:
                            sm = Sa32[j, m]
                            mj = mins[j, n0:n0 + nb]
                            for n in range(nb):
                                row[n] = row[n] + (s[n] * np.float32(pi[n]) + mj[n] * sm)
                        else:
                            for n in range(nb):
                                row[n] = row[n] + s[n] * np.float32(pi[n])
        return acc

    return kernel
