"""Tiling and loop order: how one GEMM is cut into folds, and what each fold moves.

Policy (overridable with :class:`TilingPolicy`); K is counted in packed steps of
``s = macs_per_pe_per_cycle`` elements (one PE does s MACs per cycle).

Weight stationary (WS), loop order ``for m-block: for n-tile: for k-tile: fold``:
  - k-tile ``tk``: R rows; with group-wise dequantization (group g packed steps) folds never straddle a
    group: ``tk = (R // g) * g`` when g <= R, else the largest divisor of g that is <= R.
  - n-tile: C columns.  m-block: rows of A streamed per fold; at most what lets the partial sums
    (m x C x out_bits) fit the output buffer and the A slice (m x tk x act bits) fit the input buffer
    (half of each when double buffered).  Of that largest value and the largest m-block whose whole A
    block (m x K) stays in the input buffer, the one with the smaller estimate max(folds x max(m, tk),
    DRAM bits / bandwidth) is taken (ties: fewer folds); then capped by ``TilingPolicy.m_block``.
  - A block (m-block x K) stays in the input buffer across n-tiles when it fits (read from DRAM once
    per m-block), otherwise each fold's A slice is re-read.  Each weight tile is read from DRAM once
    per m-block, or once in total when the whole W fits the weight buffer.  Outputs are written to DRAM
    after the last k-tile of each (m-block, n-tile).
Input stationary (IS) is WS with the roles of A and W exchanged (A^T stationary in the input buffer,
W^T streamed from the weight buffer).
Output stationary (OS), loop order ``for m-tile: for n-tile: fold`` streaming all of K:
  - m-tile: up to R rows of A whose full K rows fit the input buffer; n-tile: up to C columns of W whose
    K x n slice fits the weight buffer.  The A rows are read from DRAM once (kept across n-tiles); W
    slices once per m-tile, or once in total when W fits.  Each fold writes its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.design import stationary_row_bits, weight_load_lanes
from accel.errors import ConfigError
from sim import dataflows
from sim.dequant import dequant_ops
from sim.pe_view import PEView

__all__ = ["TilingPolicy", "OpPlan", "plan_op", "fold_count", "ws_k_tile"]


@dataclass(frozen=True)
class TilingPolicy:
    """Overrides of the default tiling policy (module docstring)."""

    m_block: int | None = None  # WS/IS: cap on the rows streamed per fold
    reuse_inputs: bool = True  # keep the streamed operand's block on chip across tiles when it fits
    reuse_weights: bool = True  # keep the whole stationary operand on chip when it fits

    def __post_init__(self) -> None:
        if self.m_block is not None and (not isinstance(self.m_block, int) or self.m_block < 1):
            raise ConfigError(f"tiling.m_block must be an integer >= 1 or None, got {self.m_block!r}")


@dataclass
class OpPlan:
    """Per-fold arrays (length = number of folds) for one GEMM, in execution order.

    Geometry in packed K steps: ``m0, m, k0, tk, n0, tn`` (IS: m/n are the roles of the transposed
    product).  ``stream/depth/width``: the array pipeline's view.  Bits: DRAM reads before the fold
    (``dram_w``, ``dram_a``), DRAM write after it (``dram_o``), SRAM traffic during it (``sram_*``).
    ``dq_ops``: dequant operations the fold hands to the dequant units; ``out_start``: the fold opens a
    new output block (needs a free output-buffer slot).
    """

    dataflow: str
    geometry: np.ndarray  # (n, 6) int64
    stream: np.ndarray
    depth: np.ndarray
    width: np.ndarray
    dram_w: np.ndarray
    dram_a: np.ndarray
    dram_o: np.ndarray
    sram_w: np.ndarray
    sram_a: np.ndarray
    sram_o: np.ndarray
    dq_ops: np.ndarray
    out_start: np.ndarray
    lanes: int = 1  # weight-write bus lanes per column (accel.design.weight_load_lanes)

    @property
    def n_folds(self) -> int:
        return len(self.stream)


def ws_k_tile(rows: int, packed_group: int | None) -> int:
    """Rows of K (packed) per WS fold: R, or aligned to whole groups (module docstring)."""
    if packed_group is None:
        return rows
    if packed_group <= rows:
        return (rows // packed_group) * packed_group
    return max(d for d in range(1, rows + 1) if packed_group % d == 0)


def _half(cap: int, double: bool) -> int:
    return cap // 2 if double else cap


def _too_small(buf: str, cap: int, need: float, what: str) -> ConfigError:
    return ConfigError(f"memory.{buf}.capacity_bits={cap!r} is too small for one tile ({what}): "
                       f"valid range >= {int(np.ceil(need))} bits (x2 when double_buffered)")


def plan_op(m: int, n: int, k: int, design, pe: PEView, policy: TilingPolicy = TilingPolicy()) -> OpPlan:
    """Cut the GEMM Y[m,n] = A[m,k] @ W[k,n] into folds under ``design`` and ``policy``."""
    return _plan(m, n, k, design, pe, policy, count_only=False)


def fold_count(m: int, n: int, k: int, design, pe: PEView, policy: TilingPolicy = TilingPolicy()) -> int:
    """The number of folds :func:`plan_op` would make, from the tile sizes alone (allocates nothing)."""
    return _plan(m, n, k, design, pe, policy, count_only=True)


def _plan(m, n, k, design, pe, policy, count_only):
    g = pe.group_size
    if g is not None and k % g:
        raise ConfigError(f"pe.group_size={g!r} must divide the GEMM's K={k!r}; valid group sizes: divisors of {k}")
    flow = dataflows.get(design.array.dataflow)
    if not flow.preloads:
        return _plan_os(m, n, k, design, pe, policy, flow, count_only)
    ms, ns = flow.oriented(m, n)
    return _plan_ws(ms, ns, k, design, pe, policy, flow, count_only)


def _plan_ws(ms: int, ns: int, k: int, design, pe: PEView, policy: TilingPolicy, flow: dataflows.Dataflow,
             count_only: bool = False):
    """WS folds of the product in ``flow``'s orientation (IS: the transposed product)."""
    transposed = flow.transposed
    R, C = design.array.rows, design.array.cols
    mem = design.memory
    s = pe.macs_per_pe_per_cycle
    kp = -(-k // s)
    tk = min(ws_k_tile(R, pe.packed_group), kp)
    tn = min(C, ns)
    # roles: stationary operand (W for WS, A^T for IS) and streamed operand
    stat_bits, strm_bits = ((pe.act_storage_bits, pe.weight_storage_bits) if transposed
                            else (pe.weight_storage_bits, pe.act_storage_bits))
    stat_buf, strm_buf = ("input_buffer", "weight_buffer") if transposed else ("weight_buffer", "input_buffer")
    stat_cap = _half(getattr(mem, stat_buf).capacity_bits, mem.double_buffered)
    strm_cap = _half(getattr(mem, strm_buf).capacity_bits, mem.double_buffered)
    out_cap = _half(mem.output_buffer.capacity_bits, mem.double_buffered)
    lanes = weight_load_lanes(design.array.weight_load_bits_per_cycle, C,
                              stationary_row_bits(pe, flow.stationary))
    tile_bits = tk * s * tn * stat_bits
    if tile_bits > stat_cap:
        raise _too_small(stat_buf, getattr(mem, stat_buf).capacity_bits, tile_bits * (2 if mem.double_buffered else 1),
                         f"{tk * s}x{tn} stationary elements at {stat_bits} bits")
    m_max = int(min(out_cap // (tn * pe.out_bits), strm_cap // (tk * s * strm_bits)))
    if m_max < 1:
        if out_cap < tn * pe.out_bits:
            raise _too_small("output_buffer", mem.output_buffer.capacity_bits,
                             tn * pe.out_bits * (2 if mem.double_buffered else 1), f"one row of {tn} outputs")
        raise _too_small(strm_buf, getattr(mem, strm_buf).capacity_bits,
                         tk * s * strm_bits * (2 if mem.double_buffered else 1), f"one row of {tk * s} inputs")
    n_nt, n_kt = -(-ns // tn), -(-kp // tk)
    stat_fits = k * ns * stat_bits <= stat_cap

    def traffic(mb_):
        n_mb_ = -(-ms // mb_)
        strm_fits = mb_ * k * strm_bits <= strm_cap
        return (k * ns * stat_bits * (1 if stat_fits and policy.reuse_weights else n_mb_)
                + ms * k * strm_bits * (1 if strm_fits and policy.reuse_inputs else n_nt))

    cands = {min(ms, m_max)}
    if policy.reuse_inputs and strm_cap // (k * strm_bits) >= 1:
        cands.add(int(min(ms, m_max, strm_cap // (k * strm_bits))))
    bytes_per_cycle = float(mem.dram_bandwidth_bytes_per_cycle)

    def estimate(mb_):  # (rough time, folds): folds stream max(m, tk) cycles each; DRAM at full bandwidth
        folds = -(-ms // mb_) * n_nt * n_kt
        return max(folds * max(mb_, tk), traffic(mb_) / 8 / bytes_per_cycle), folds

    mb = min(cands, key=estimate)
    mb = min(mb, policy.m_block or mb)
    n_mb = -(-ms // mb)
    if count_only:
        return n_mb * n_nt * n_kt
    mbi, nti, kti = (x.ravel() for x in np.meshgrid(np.arange(n_mb), np.arange(n_nt), np.arange(n_kt), indexing="ij"))
    m0, n0, k0 = mbi * mb, nti * tn, kti * tk
    fm = np.minimum(mb, ms - m0)
    fn = np.minimum(tn, ns - n0)
    fk = np.minimum(tk, kp - k0)
    k_el = np.minimum(fk * s, k - k0 * s)  # real K elements in the fold
    strm_reuse = policy.reuse_inputs and n_nt > 1 and mb * k * strm_bits <= strm_cap
    stat_reuse = policy.reuse_weights and n_mb > 1 and k * ns * stat_bits <= stat_cap
    d_stat = np.where(stat_reuse & (mbi > 0), 0.0, k_el * fn * stat_bits)
    d_strm = np.where(strm_reuse & (nti > 0), 0.0, fm * k_el * strm_bits)
    last_k = kti == n_kt - 1
    d_out = np.where(last_k, fm * fn * pe.out_bits, 0).astype(float)
    s_stat = k_el * fn * stat_bits
    s_strm = (fm * k_el * strm_bits).astype(float)
    s_out = (fm * fn * pe.out_bits * np.where(kti > 0, 2, 1)).astype(float)
    dq = dequant_ops(pe, fm, fn, k0, fk, last_k, k_el, transposed)
    geom = np.stack([m0, fm, k0, fk, n0, fn], axis=1).astype(np.int64)
    w, a = (d_strm, d_stat) if transposed else (d_stat, d_strm)
    sw, sa = (s_strm, s_stat) if transposed else (s_stat, s_strm)
    return OpPlan(flow.name, geom, fm.astype(np.int64), fk.astype(np.int64),
                  fn.astype(np.int64), w, a, d_out, sw, sa, s_out, dq, kti == 0, lanes)


def _plan_os(m: int, n: int, k: int, design, pe: PEView, policy: TilingPolicy, flow: dataflows.Dataflow,
             count_only: bool = False):
    R, C = design.array.rows, design.array.cols
    mem = design.memory
    s = pe.macs_per_pe_per_cycle
    kp = -(-k // s)
    in_cap = _half(mem.input_buffer.capacity_bits, mem.double_buffered)
    w_cap = _half(mem.weight_buffer.capacity_bits, mem.double_buffered)
    out_cap = _half(mem.output_buffer.capacity_bits, mem.double_buffered)
    dbl = 2 if mem.double_buffered else 1
    tm = int(min(R, m, in_cap // (k * pe.act_storage_bits)))
    if tm < 1:
        raise _too_small("input_buffer", mem.input_buffer.capacity_bits, k * pe.act_storage_bits * dbl,
                         f"one row of A with K={k}")
    tn = int(min(C, n, w_cap // (k * pe.weight_storage_bits)))
    if tn < 1:
        raise _too_small("weight_buffer", mem.weight_buffer.capacity_bits, k * pe.weight_storage_bits * dbl,
                         f"one column of W with K={k}")
    tn = int(min(tn, out_cap // (tm * pe.out_bits)))
    if tn < 1:
        raise _too_small("output_buffer", mem.output_buffer.capacity_bits, tm * pe.out_bits * dbl,
                         f"{tm} outputs")
    n_mt, n_nt = -(-m // tm), -(-n // tn)
    if count_only:
        return n_mt * n_nt
    mti, nti = (x.ravel() for x in np.meshgrid(np.arange(n_mt), np.arange(n_nt), indexing="ij"))
    m0, n0 = mti * tm, nti * tn
    fm, fn = np.minimum(tm, m - m0), np.minimum(tn, n - n0)
    w_reuse = policy.reuse_weights and n_mt > 1 and k * n * pe.weight_storage_bits <= w_cap
    d_w = np.where(w_reuse & (mti > 0), 0.0, k * fn * pe.weight_storage_bits)
    d_a = np.where(nti > 0, 0.0, fm * k * pe.act_storage_bits) if policy.reuse_inputs else fm * k * pe.act_storage_bits
    d_o = (fm * fn * pe.out_bits).astype(float)
    ones = np.ones_like(fm, dtype=bool)
    dq = dequant_ops(pe, fm, fn, np.zeros_like(fm), np.full_like(fm, kp), ones, np.full_like(fm, k), False)
    geom = np.stack([m0, fm, np.zeros_like(fm), np.full_like(fm, kp), n0, fn], axis=1).astype(np.int64)
    return OpPlan(flow.name, geom, np.full(len(fm), kp, np.int64), fm.astype(np.int64), fn.astype(np.int64),
                  d_w, np.asarray(d_a, float), d_o, (k * fn * pe.weight_storage_bits).astype(float),
                  (fm * k * pe.act_storage_bits).astype(float), d_o.copy(), dq, ones)
