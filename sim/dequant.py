"""Group-wise dequantization as hardware: how many operations each fold needs and how long the units take.

Operations per fold, by the PE's ``dequant`` mode (K in packed steps, g = packed group size):
  - ``per_group`` (MixPE: dequantize after the per-group GEMM): one scale/zero correction per output and
    per group that *ends* in the fold (WS: group ends in (k0, k0 + tk]; OS: all K/g groups).  A WS fold
    with several groups has its partial-sum chains cut every g rows, one tap per group.
  - ``per_output`` (per-tensor/per-channel scales): one per output, when the output is final.
  - ``in_loop`` (dequantize before the MAC, e.g. FP16 dequant-first): one per weight element entering the
    array in the fold.
Units (``design.dequant``): ``column_edge`` (default one per column; a unit serves ceil(tn/count)
columns), ``vector_unit`` (default one, shared), ``per_pe`` (default one per PE; work spread over the
fold's active PEs).  A unit accepts ``throughput_per_cycle`` operations per cycle; the units work on a
fold while it streams, and the next fold may start streaming only ``dequant_cycles`` after this one
started (its partial-sum bank is double-buffered), and at least ``accumulate_cycles`` after it (the
accumulator loop of an output row must finish before the next fold's group sum of that row arrives):
extra time is a dequant stall.  ``latency_cycles`` is paid once, after the op's last operation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dequant_ops", "dequant_cycles"]


def dequant_ops(pe, fm, fn, k0, fk, last_k, k_el, transposed: bool) -> np.ndarray:
    """Dequant operations per fold (int64 array); arguments are the per-fold geometry arrays (``k0``, ``fk``: the
    fold's first packed K step and how many it spans)."""
    fm, fn, k0, fk = (np.asarray(x, np.int64) for x in (fm, fn, k0, fk))
    if pe.dequant == "per_group":
        g = pe.packed_group
        groups = (k0 + fk) // g - k0 // g  # the groups the fold's K span completes
        return fm * fn * groups
    if pe.dequant == "per_output":
        return fm * fn * np.asarray(last_k, np.int64)
    k_el = np.asarray(k_el, np.int64)
    return fm * k_el if transposed else k_el * fn  # in_loop: weight elements entering the array


def dequant_cycles(design, ops: np.ndarray, width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Cycles the dequant units need for each fold's operations (0 where a fold has none)."""
    ops = np.asarray(ops, np.int64)
    busy = _busy_cycles(design, ops, width, depth)
    return np.where(ops > 0, np.maximum(busy, design.dequant.accumulate_cycles), busy)


def _busy_cycles(design, ops: np.ndarray, width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    dq = design.dequant
    R, C = design.array.rows, design.array.cols
    ops = np.asarray(ops, np.int64)
    width = np.maximum(np.asarray(width, np.int64), 1)
    thr = dq.throughput_per_cycle
    if dq.placement == "column_edge":
        units = dq.count or C
        per_col = -(-ops // width)
        return -(-(per_col * -(-width // units)) // thr)
    if dq.placement == "vector_unit":
        return -(-ops // ((dq.count or 1) * thr))
    units = np.minimum(dq.count or R * C, width * np.asarray(depth, np.int64))
    return -(-ops // (units * thr))
