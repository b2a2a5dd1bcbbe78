"""Cycle-exact timing of the systolic array, fold by fold, in closed form.

A *fold* is one mapping of part of a GEMM onto the R x C array.  Cycle 0 is the cycle in which the op's
first event happens (first weight write for WS/IS, first operand presented for OS).  "At cycle t" means
the value is latched at the end of cycle t; an output latched at the end of cycle t is valid (may be
sampled by the column edge) during cycle t + 1.  ``sim.array_reference`` simulates every register of the
micro-architecture below and the tests prove it agrees with these formulas exactly.

Weight stationary (WS): fold = ``tk`` rows of K (packed: see ``macs_per_pe_per_cycle``) x ``tn`` columns
of N, streaming ``m`` rows of A.  The fold occupies the *bottom* ``tk`` rows (its top row zeroes its
partial-sum input; partial sums leave at the bottom edge) and columns ``0..tn-1``.
  - Weights are written into double-buffered shadow registers by one row-addressed bus per column:
    row r of column c is written in cycle ``T + r + c``.  A PE swaps shadow -> active when the fold's
    first activation reaches it (a tag travelling with the activation).
  - The bus has ``L`` lanes (:func:`weight_load_lanes`, from ``array.weight_load_bits_per_cycle``; 1 by
    default): each lane writes one PE row (``s`` weights at their element width) per cycle, and fold j
    writes on lane ``j mod L``, so up to L folds' write waves overlap.
  - Activation ``A[i, r]`` enters tile row r at the left edge in cycle ``S + i + r``; it moves one PE
    right per cycle, the partial sum one PE down per cycle.  Output ``Y[i, c]`` is valid at the bottom
    of column c in cycle ``S + i + tk + c``.
  - Schedule (array constraints; memory and dequant only delay it): ``T0 = 0``, ``S0 = 1``;
    ``T(j+1) = max(T(j+1-L) + tk(j+1-L), S(j) + max(0, tk(j) - tk(j+1)))`` (the first term absent for
    j + 1 < L);
    ``S(j+1) = max(T(j+1) + 1, S(j) + m(j) + max(0, tk(j) - tk(j+1)))``.  With memory, T and S are
    also >= the cycle the fold's operands arrive in SRAM.  The schedule is tight: the tests show that
    starting any fold one cycle earlier corrupts outputs or collides on a port.
  With L = 1 this is the array SCALE-Sim and the RTL describe.
Output stationary (OS): fold = ``tm`` rows of M x ``tn`` columns of N, streaming all ``K`` (packed).
  ``A[i, k]`` enters row i in cycle ``S + k + i``, ``W[k, c]`` enters column c in cycle ``S + k + c``;
  PE(i, c) latches its finished output in cycle ``S + K - 1 + i + c`` and a one-lane column bus carries
  it, valid in cycle ``S + K + i + c``.  ``S0 = 0``; ``S(j+1) = S(j) + max(K, tm(j))``.
Input stationary (IS) is WS on the transposed product ``Y^T = W^T A^T`` (N streams, M is the width).

With group-wise dequantization the partial-sum chain of a WS column is cut every ``g`` rows (taps to
the column edge), and an OS PE emits one partial per group; this changes what reaches the dequant
units (``sim.dequant``), not the array timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accel.design import weight_load_lanes
from accel.errors import ConfigError

__all__ = ["ArrayPipeline", "array_schedule", "tile_latency_cycles", "fold_latency", "weight_load_lanes"]



def fold_latency(dataflow: str, stream: int, depth: int, width: int) -> int:
    """Cycles from the fold's first streamed input (inclusive) to its last valid output (inclusive).

    WS: stream = m rows of A, depth = tk, width = tn.  OS: stream = K, depth = tm, width = tn.
    Both equal ``stream + depth + width - 1``.
    """
    return stream + depth + width - 1


def tile_latency_cycles(design, m: int, n: int, k: int) -> int:
    """Latency of one fold of the design's array, for comparison with an RTL array.

    The count starts with the cycle in which the first streamed operand is presented at the array edge
    (WS: ``A[0, 0]`` at the left of the fold's top row, weights already loaded; OS: ``A[0, 0]`` and
    ``W[0, 0]``; IS: ``W[0, 0]``) and stops with, inclusive, the first cycle in which the last output
    (``Y[m-1, n-1]``) is valid at the array's output edge.  Value: ``stream + depth + width - 1`` where
    WS: (m, ceil(k/s), n), OS: (ceil(k/s), m, n), IS: (n, ceil(k/s), m), s = macs_per_pe_per_cycle.
    ``k`` / ``m`` / ``n`` must fit the array (one fold); dequant latency is not included.
    """
    rows, cols, df = design.array.rows, design.array.cols, design.array.dataflow
    s = int(getattr(design.pe, "macs_per_pe_per_cycle", 1))
    kp = -(-int(k) // s)
    for name, v in (("m", m), ("n", n), ("k", k)):
        if int(v) < 1:
            raise ConfigError(f"tile dimension {name} must be >= 1, got {v!r}")
    dims = {"ws": (m, kp, n), "os": (kp, m, n), "is": (n, kp, m)}[df]
    depth_name = {"ws": "k (packed)", "os": "m", "is": "k (packed)"}[df]
    width_name = {"ws": "n", "os": "n", "is": "m"}[df]
    if dims[1] > rows or dims[2] > cols:
        raise ConfigError(f"one {df} fold must fit the {rows}x{cols} array: {depth_name} must be in 1..{rows} "
                          f"and {width_name} in 1..{cols}, got {dims[1]!r} and {dims[2]!r}")
    return fold_latency(df, *dims)


@dataclass
class ArrayPipeline:
    """Stateful fold scheduler: the earliest start of the next fold under the array's constraints.

    ``propose(stream, depth, width, ready)`` returns ``(s_array, t, s_min)``: the array-only earliest
    streaming start, the weight-write start (WS/IS: as early as the bus, the previous swap and operand
    readiness allow) and the earliest start given operands ready at ``ready``.  The caller may delay the
    start further (dequant, SRAM bandwidth) and then calls ``commit(start, t, ...)``, which returns the
    cycle in which the fold's last output is valid.
    """

    dataflow: str
    lanes: int = 1  # weight-write bus lanes per column (fold j writes on lane j mod lanes)
    n_folds: int = 0
    _lane_free: dict[int, int] = field(default_factory=dict)  # lane -> earliest next write start on it
    _s: int = 0  # previous fold's start
    _stream: int = 0
    _depth: int = 0

    def propose(self, stream: int, depth: int, width: int, ready: int = 0) -> tuple[int, int, int]:
        if self.dataflow == "os":
            s_arr = 0 if self.n_folds == 0 else self._s + max(self._stream, self._depth)
            return s_arr, 0, max(s_arr, ready)
        if self.n_folds == 0:
            t_arr, s_stream = 0, 0
        else:
            shrink = max(0, self._depth - depth)
            t_arr = max(self._lane_free.get(self.n_folds % self.lanes, 0), self._s + shrink)
            s_stream = self._s + self._stream + shrink
        t = max(t_arr, ready)
        return max(t_arr + 1, s_stream), t, max(t + 1, s_stream, ready)

    def commit(self, start: int, t: int, stream: int, depth: int, width: int) -> int:
        if self.dataflow != "os":
            self._lane_free[self.n_folds % self.lanes] = t + depth
        self._s, self._stream, self._depth = start, stream, depth
        self.n_folds += 1
        return start + stream + depth + width - 2


def array_schedule(dataflow: str, stream, depth, width, extra_delay=None,
                   lanes: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """Array-only schedule of a fold sequence: (starts S, weight-write starts T, end).

    ``extra_delay[j]`` (optional) delays fold j's start beyond its earliest (as memory would).  ``end``
    counts cycles from cycle 0 through the cycle in which the last output is valid.
    """
    stream, depth, width = (np.asarray(x, dtype=np.int64) for x in (stream, depth, width))
    n = len(stream)
    extra = np.zeros(n, np.int64) if extra_delay is None else np.asarray(extra_delay, np.int64)
    pipe = ArrayPipeline(dataflow, lanes)
    starts = np.zeros(n, np.int64)
    writes = np.zeros(n, np.int64)
    last = 0
    for j in range(n):
        _, t, s_min = pipe.propose(int(stream[j]), int(depth[j]), int(width[j]))
        starts[j], writes[j] = s_min + int(extra[j]), t
        last = max(last, pipe.commit(int(starts[j]), t, int(stream[j]), int(depth[j]), int(width[j])))
    return starts, writes, last + 1
