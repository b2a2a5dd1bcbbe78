"""Exact integer group dot products with a finite accumulator (wrap or saturate, overflows counted).

P[j, m, n] = sum_{k in group j} qa[m, k] * qw[k, n], accumulated in k order in a signed ``acc_bits``
register.  When no partial sum can leave the register (proved from the operands' largest magnitudes),
the sums are computed by BLAS in floating point, which is exact: every partial sum is an integer below
2^24 (float32) or 2^53 (float64) in magnitude.  Otherwise a k-ordered integer loop applies the
overflow policy after every add and counts each event.
"""

from __future__ import annotations

import numpy as np

OVERFLOW_POLICIES = ("saturate", "wrap")


def _bound(qa: np.ndarray, qw: np.ndarray, g: int) -> int:
    amax = int(np.abs(qa).max(initial=0))
    wmax = int(np.abs(qw).max(initial=0))
    return amax * wmax * g  # >= |any partial sum|


def group_dot(qa: np.ndarray, qw: np.ndarray, g: int, acc_bits: int, overflow: str,
              as_int: bool = True) -> tuple[np.ndarray, int]:
    """Return (P of shape (J, M, N), number of accumulator overflow events).

    P is int64, or with ``as_int=False`` possibly a float array holding the same exact integers.
    """
    M, K = qa.shape
    N = qw.shape[1]
    J = K // g
    bound = _bound(qa, qw, g)
    if bound < 2 ** (acc_bits - 1):
        dt = np.float32 if bound < 2**24 else np.float64
        if bound >= 2**53:  # pragma: no cover - needs > 53-bit accumulators
            return _ordered(qa, qw, g, acc_bits, overflow)
        a = np.ascontiguousarray(qa.astype(dt).reshape(M, J, g).transpose(1, 0, 2))
        w = qw.astype(dt).reshape(J, g, N)
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
    bound = _bound(qa, qw, g)
    if bound >= 2 ** (acc_bits - 1) or bound >= 2**53:
        P, events = _ordered(qa, qw, g, acc_bits, overflow)
        return iter(P), events
    dt = np.float32 if bound < 2**24 else np.float64
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
