"""Register-level reference of the systolic array: every PE, every register, every cycle.

Slow and small (arrays up to a few dozen PEs), written independently of the closed forms in
``sim.array_timing`` to prove them: it moves real integer operands through the registers described
there, and reports every output (or per-group partial sum) with the cycle it becomes valid, plus any
structural hazard it observed (two values on one port, a PE combining operands of different folds).
A schedule that is too aggressive shows up as hazards and wrong values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim import dataflows

__all__ = ["Emission", "ReferenceRun", "run_reference"]


@dataclass(frozen=True)
class Emission:
    """One value leaving the array: valid in ``cycle``; ``fold``, output row ``i`` / column ``c`` within the
    fold, the group (segment) index along K, and the integer value."""

    cycle: int
    fold: int
    i: int
    c: int
    group: int
    value: int


@dataclass
class ReferenceRun:
    emissions: list[Emission] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)
    max_lanes: int = 0  # most values leaving one column in one cycle

    @property
    def end(self) -> int:
        """Cycles from cycle 0 through the cycle in which the last value is valid."""
        return max(e.cycle for e in self.emissions) + 1


def _packed(x: np.ndarray, axis: int, s: int) -> np.ndarray:
    """Split the K axis into packed steps of ``s`` (zero padded): (M,K)->(M,K',s) or (K,N)->(K',N,s)."""
    k = x.shape[axis]
    kp = -(-k // s)
    pad = [(0, 0), (0, 0)]
    pad[axis] = (0, kp * s - k)
    x = np.pad(x, pad)
    if axis == 1:
        return x.reshape(x.shape[0], kp, s)
    return x.reshape(kp, s, x.shape[1]).transpose(0, 2, 1)


def run_reference(dataflow: str, A: np.ndarray, W: np.ndarray, rows: int, cols: int, folds: np.ndarray,
                  starts, writes=None, group: int | None = None, macs_per_pe: int = 1,
                  lanes: int = 1) -> ReferenceRun:
    """Simulate a GEMM ``A @ W`` (integer arrays) as the given fold sequence and schedule.

    ``folds``: rows of (m0, m, k0, tk, n0, tn) in packed-K units (OS: k0 = 0, tk = K').  ``starts[j]``:
    cycle of fold j's first streamed input; ``writes[j]``: first weight-write cycle (WS/IS).  ``group``:
    group size in packed K steps (None: whole K).  IS runs as WS on ``W.T @ A.T`` with the fold's m and
    n roles exchanged by the caller.  ``lanes``: PE rows each column's weight bus may write per cycle (WS/IS).
    """
    A = np.asarray(A, dtype=np.int64)
    W = np.asarray(W, dtype=np.int64)
    Ap, Wp = _packed(A, 1, macs_per_pe), _packed(W, 0, macs_per_pe)
    if dataflows.get(dataflow).preloads:
        return _run_ws(Ap, Wp, rows, cols, np.asarray(folds), np.asarray(starts), np.asarray(writes), group,
                       lanes)
    return _run_os(Ap, Wp, rows, cols, np.asarray(folds), np.asarray(starts), group)


def _run_ws(Ap, Wp, R, C, folds, starts, writes, group, bus_lanes) -> ReferenceRun:
    s = Ap.shape[2]
    run = ReferenceRun()
    # activation registers (output of PE(p,c), moving right); partial-sum registers (moving down)
    act_v = np.zeros((R, C, s), np.int64)
    act_f = np.full((R, C), -1)
    act_i = np.zeros((R, C), np.int64)
    act_first = np.zeros((R, C), bool)
    ps_v = np.zeros((R, C), np.int64)
    ps_f = np.full((R, C), -1)
    ps_i = np.zeros((R, C), np.int64)
    # weights: active and shadow (value, fold tag, segment start/end flags, group index)
    wa_v = np.zeros((R, C, s), np.int64)
    wa_f = np.full((R, C), -1)
    wa_ss = np.zeros((R, C), bool)
    wa_se = np.zeros((R, C), bool)
    wa_g = np.zeros((R, C), np.int64)
    sh_v, sh_f, sh_ss, sh_se, sh_g = wa_v.copy(), wa_f.copy(), wa_ss.copy(), wa_se.copy(), wa_g.copy()
    col = np.arange(C)[None, :]
    tn_of = np.append(folds[:, 5], 0)  # index -1 (no fold) -> width 0
    last = max(int(starts[j]) + int(folds[j][1]) + int(folds[j][3]) + int(folds[j][5]) for j in range(len(folds)))
    horizon = last + 4 * (R + C) + 8
    for t in range(horizon):
        # left-edge injections
        in_v = np.zeros((R, s), np.int64)
        in_f = np.full(R, -1)
        in_i = np.zeros(R, np.int64)
        in_first = np.zeros(R, bool)
        for j, (m0, m, k0, tk, _n0, _tn) in enumerate(folds):
            for r in range(tk):
                i = t - int(starts[j]) - r
                if 0 <= i < m:
                    p = R - tk + r
                    if in_f[p] >= 0:
                        run.hazards.append(f"cycle {t}: two activations at row {p}")
                    in_v[p], in_f[p], in_i[p], in_first[p] = Ap[m0 + i, k0 + r], j, i, i == 0
        a_v = np.concatenate([in_v[:, None, :], act_v[:, :-1, :]], axis=1)
        a_f = np.concatenate([in_f[:, None], act_f[:, :-1]], axis=1)
        a_i = np.concatenate([in_i[:, None], act_i[:, :-1]], axis=1)
        a_first = np.concatenate([in_first[:, None], act_first[:, :-1]], axis=1)
        valid = a_f >= 0
        tile = valid & (col < tn_of[a_f])  # activations also pass through columns outside the fold
        # swap shadow -> active when a fold's first activation arrives (reads the old shadow)
        sw = valid & a_first
        wa_v[sw], wa_f[sw], wa_ss[sw], wa_se[sw], wa_g[sw] = sh_v[sw], sh_f[sw], sh_ss[sw], sh_se[sw], sh_g[sw]
        bad = tile & (wa_f != a_f)
        if bad.any():
            run.hazards.append(f"cycle {t}: {int(bad.sum())} PEs multiply activations with another fold's weights")
        # partial-sum input from above, or zero at a segment start
        up_v = np.concatenate([np.zeros((1, C), np.int64), ps_v[:-1]], axis=0)
        up_f = np.concatenate([np.full((1, C), -1), ps_f[:-1]], axis=0)
        up_i = np.concatenate([np.zeros((1, C), np.int64), ps_i[:-1]], axis=0)
        chained = valid & ~wa_ss
        bad = tile & ~wa_ss & ((up_f != a_f) | (up_i != a_i))
        if bad.any():
            run.hazards.append(f"cycle {t}: {int(bad.sum())} partial sums meet the wrong activation")
        new_ps = np.where(chained, up_v, 0) + np.einsum("pcs,pcs->pc", a_v, wa_v)
        # emissions at segment ends, valid next cycle
        em = tile & wa_se
        lanes = em.sum(axis=0)
        run.max_lanes = max(run.max_lanes, int(lanes.max(initial=0)))
        for p, c in zip(*np.nonzero(em), strict=True):
            run.emissions.append(Emission(t + 1, int(a_f[p, c]), int(a_i[p, c]), int(c), int(wa_g[p, c]),
                                          int(new_ps[p, c])))
        # weight writes (end of cycle)
        bus_used = np.zeros(C, np.int64)
        written = np.zeros((R, C), bool)
        for j, (_m0, _m, k0, tk, n0, tn) in enumerate(folds):
            for c in range(tn):
                r = t - int(writes[j]) - c
                if 0 <= r < tk:
                    bus_used[c] += 1
                    if bus_used[c] > bus_lanes:
                        run.hazards.append(f"cycle {t}: {bus_used[c]} weight writes on column {c}'s "
                                           f"{bus_lanes}-lane bus")
                    p = R - tk + r
                    if written[p, c]:
                        run.hazards.append(f"cycle {t}: two weight writes into PE ({p}, {c})")
                    written[p, c] = True
                    k = k0 + r
                    g = group or 10**9
                    sh_v[p, c], sh_f[p, c] = Wp[k, n0 + c], j
                    sh_ss[p, c] = r == 0 or k % g == 0
                    sh_se[p, c] = r == tk - 1 or (k + 1) % g == 0
                    sh_g[p, c] = k // g
        act_v, act_f, act_i, act_first = a_v, np.where(valid, a_f, -1), a_i, a_first & valid
        ps_v, ps_f, ps_i = new_ps, np.where(valid, a_f, -1), a_i
    return run


def _run_os(Ap, Wp, R, C, folds, starts, group) -> ReferenceRun:
    s = Ap.shape[2]
    K = Ap.shape[1]
    g = group or K
    run = ReferenceRun()
    a_v = np.zeros((R, C, s), np.int64)
    a_f = np.full((R, C), -1)
    a_k = np.zeros((R, C), np.int64)
    w_v = np.zeros((R, C, s), np.int64)
    w_f = np.full((R, C), -1)
    w_k = np.zeros((R, C), np.int64)
    acc = np.zeros((R, C), np.int64)
    horizon = max(int(starts[j]) + K + int(folds[j][1]) + int(folds[j][5]) for j in range(len(folds))) + 2 * (R + C)
    for t in range(horizon):
        ia_v = np.zeros((R, s), np.int64)
        ia_f = np.full(R, -1)
        ia_k = np.zeros(R, np.int64)
        iw_v = np.zeros((C, s), np.int64)
        iw_f = np.full(C, -1)
        iw_k = np.zeros(C, np.int64)
        for j, (m0, m, _k0, _tk, n0, tn) in enumerate(folds):
            for i in range(m):
                k = t - int(starts[j]) - i
                if 0 <= k < K:
                    if ia_f[i] >= 0:
                        run.hazards.append(f"cycle {t}: two activations at row {i}")
                    ia_v[i], ia_f[i], ia_k[i] = Ap[m0 + i, k], j, k
            for c in range(tn):
                k = t - int(starts[j]) - c
                if 0 <= k < K:
                    if iw_f[c] >= 0:
                        run.hazards.append(f"cycle {t}: two weights at column {c}")
                    iw_v[c], iw_f[c], iw_k[c] = Wp[k, n0 + c], j, k
        na_v = np.concatenate([ia_v[:, None, :], a_v[:, :-1, :]], axis=1)
        na_f = np.concatenate([ia_f[:, None], a_f[:, :-1]], axis=1)
        na_k = np.concatenate([ia_k[:, None], a_k[:, :-1]], axis=1)
        nw_v = np.concatenate([iw_v[None, :, :], w_v[:-1]], axis=0)
        nw_f = np.concatenate([iw_f[None, :], w_f[:-1]], axis=0)
        nw_k = np.concatenate([iw_k[None, :], w_k[:-1]], axis=0)
        both = (na_f >= 0) & (nw_f >= 0)
        if ((na_f >= 0) != (nw_f >= 0)).any() or (both & ((na_f != nw_f) | (na_k != nw_k))).any():
            # an operand without its partner is harmless only outside the fold's tile
            mism = both & ((na_f != nw_f) | (na_k != nw_k))
            if mism.any():
                run.hazards.append(f"cycle {t}: {int(mism.sum())} PEs combine operands of different steps")
        acc = acc + np.where(both, np.einsum("pcs,pcs->pc", na_v, nw_v), 0)
        done = both & (((na_k + 1) % g == 0) | (na_k == K - 1))
        # only PEs inside the fold's tile emit (operands also pass through PEs outside it)
        for p, c in zip(*np.nonzero(done), strict=True):
            j = int(na_f[p, c])
            if p < folds[j][1] and c < folds[j][5]:
                run.emissions.append(Emission(t + 1, j, int(p), int(c), int(na_k[p, c] // g), int(acc[p, c])))
        if done.any():
            inside = np.zeros_like(done)
            final = np.zeros_like(done)
            for p, c in zip(*np.nonzero(done), strict=True):
                j = int(na_f[p, c])
                inside[p, c] = p < folds[j][1] and c < folds[j][5]
                final[p, c] = inside[p, c] and na_k[p, c] == K - 1
            run.max_lanes = max(run.max_lanes, int(inside.sum(axis=0).max()))
            if (final.sum(axis=0) > 1).any():
                run.hazards.append(f"cycle {t}: two final outputs on one column's output lane")
        acc = np.where(done, 0, acc)
        a_v, a_f, a_k, w_v, w_f, w_k = na_v, na_f, na_k, nw_v, nw_f, nw_k
    return run
