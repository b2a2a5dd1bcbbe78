"""Exact integer group dot products with a finite accumulator (wrap or saturate, overflows counted).

P[j, m, n] = sum_{k in group j} qa[m, k] * qw[k, n], accumulated in k order in a signed ``acc_bits``
register.  When no partial sum can leave the register (proved from the operands' largest magnitudes),
the sums are computed by BLAS in floating point, which is exact: every partial sum is an integer below
2^24 (float32) or 2^53 (float64) in magnitude.  Otherwise a k-ordered integer loop applies the
overflow policy after every add and counts each event.  ``groupfused`` is the fast path the integer PEs'
outputs take (group sums and FP32 dequantization in one compiled pass) under the same proof.
"""

from __future__ import annotations

import numpy as np

OVERFLOW_POLICIES = ("saturate", "wrap")


def sum_bound(qa: np.ndarray, qw: np.ndarray, g: int, wmax: int | None = None) -> int:
    """amax wmax g >= |any partial sum| (``wmax`` = max |qw| when already known, e.g. cached per tensor)."""
    amax = int(np.abs(qa).max(initial=0))
    if wmax is None:
        wmax = int(np.abs(qw).max(initial=0))
    return amax * wmax * g


def exact_float_dtype(bound: int, acc_bits: int):
    """float32 / float64 in which every group sum is exact and cannot overflow ``acc_bits``, else None.

    With every |partial sum| <= ``bound`` < 2^(acc_bits-1) the register never overflows (no event, no wrap
    or saturation to apply) and, below 2^24 (float32) or 2^53 (float64), floating-point adds of these
    integers are exact in any order.
    """
    if bound >= 2 ** (acc_bits - 1) or bound >= 2**53:
        return None
    return np.float32 if bound < 2**24 else np.float64


def group_dot(qa: np.ndarray, qw: np.ndarray, g: int, acc_bits: int, overflow: str,
              as_int: bool = True, wmax: int | None = None, codes_as=None) -> tuple[np.ndarray, int]:
    """Return (P of shape (J, M, N), number of accumulator overflow events).

    P is int64, or with ``as_int=False`` possibly a float array holding the same exact integers.
    ``wmax`` (max |qw|) and ``codes_as(dtype)`` (qw converted) may come from a per-tensor cache.
    """
    M, K = qa.shape
    N = qw.shape[1]
    J = K // g
    dt = exact_float_dtype(sum_bound(qa, qw, g, wmax), acc_bits)
    if dt is not None:
        a = np.ascontiguousarray(qa.astype(dt).reshape(M, J, g).transpose(1, 0, 2))
        w = (qw.astype(dt) if codes_as is None else codes_as(dt)).reshape(J, g, N)
        P = np.matmul(a, w)
        return (P.astype(np.int64) if as_int else P), 0
    return _ordered(qa, qw, g, acc_bits, overflow)


def group_dot_iter(qa: np.ndarray, qw: np.ndarray, g: int, acc_bits: int, overflow: str):
    """Like ``group_dot`` but yields P[j] (M, N) one group at a time: (iterator, overflow events).

    On the proved-exact path each group is one BLAS call into a reused buffer, so the (J, M, N) partial
    sums are never stored (the dequantization consumes each group as it is produced).
    """
    M, K = qa.shape
    N = qw.shape[1]
    dt = exact_float_dtype(sum_bound(qa, qw, g), acc_bits)
    if dt is None:
        P, events = _ordered(qa, qw, g, acc_bits, overflow)
        return iter(P), events
    a, w = qa.astype(dt), qw.astype(dt)

    def groups():
        out = np.empty((M, N), dtype=dt)
        for j in range(K // g):
            np.matmul(a[:, j * g:(j + 1) * g], w[j * g:(j + 1) * g], out=out)
            yield out

    return groups(), 0


def _ordered(qa: np.ndarray, qw: np.ndarray, g: int, acc_bits: int, overflow: str) -> tuple[np.ndarray, int]:
    """k-ordered accumulation with the overflow policy applied after each add."""
    M, K = qa.shape
    N = qw.shape[1]
    J = K // g
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    a = qa.reshape(M, J, g).transpose(1, 0, 2)  # (J, M, g)
    w = qw.reshape(J, g, N)
    acc = np.zeros((J, M, N), dtype=np.int64)
    events = 0
    for i in range(g):
        acc += a[:, :, i, None] * w[:, None, i, :]
        out = (acc < lo) | (acc > hi)
        n_out = int(out.sum())
        if n_out:
            events += n_out
            if overflow == "wrap":
                acc = ((acc - lo) % (hi - lo + 1)) + lo
            else:
                np.clip(acc, lo, hi, out=acc)
    return acc, events
