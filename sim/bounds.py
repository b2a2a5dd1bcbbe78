"""The limits that bound an op's cycles, each the cycles one resource alone would need.

  - compute: the array's issue slots, the sum over folds of the rows streamed (``stream``): folds never
    overlap their streaming, so no schedule beats it;
  - weight_load: the stationary operand's writes into the shadow registers (WS/IS), each lane of the
    column bus writing its folds' rows back to back (fold j on lane j mod L); 0 for OS, which streams;
  - sram: the per-fold SRAM port cycles (the busiest buffer's bits over its ports), summed;
  - dram: the op's DRAM bits over the channel's bandwidth;
  - dequant: the per-fold work of the dequant units, summed.
The binding limit is the largest; the engine's cycles add the array's fill and drain and any overlap
lost between them.
"""

from __future__ import annotations

import numpy as np

from sim import dataflows
from sim.dequant import dequant_cycles

__all__ = ["LIMITS", "op_limits", "binding", "sram_cycles"]

LIMITS = ("compute", "weight_load", "sram", "dram", "dequant")


def sram_cycles(plan, mem) -> np.ndarray:
    """Per fold: cycles the busiest SRAM buffer needs to move the fold's bits through its ports."""
    def bw(buf):
        return buf.bandwidth_bits_per_cycle * buf.banks

    return np.ceil(np.maximum.reduce([plan.sram_w / bw(mem.weight_buffer), plan.sram_a / bw(mem.input_buffer),
                                      plan.sram_o / bw(mem.output_buffer)])).astype(np.int64)


def op_limits(plan, design) -> dict[str, float]:
    """Cycles each resource alone needs for ``plan``'s folds (module docstring)."""
    if not dataflows.get(plan.dataflow).preloads:
        load = 0.0
    else:
        lanes = plan.lanes
        load = float(max(plan.depth[lane::lanes].sum() for lane in range(min(lanes, plan.n_folds))))
    dram_bits = float(plan.dram_w.sum() + plan.dram_a.sum() + plan.dram_o.sum())
    return {"compute": float(plan.stream.sum()), "weight_load": load,
            "sram": float(sram_cycles(plan, design.memory).sum()),
            "dram": dram_bits / 8.0 / float(design.memory.dram_bandwidth_bytes_per_cycle),
            "dequant": float(dequant_cycles(design, plan.dq_ops, plan.width, plan.depth).sum())}


def binding(limits: dict[str, float]) -> str:
    """The limit with the most cycles (ties: the first in :data:`LIMITS`)."""
    return max(LIMITS, key=lambda k: (limits[k], -LIMITS.index(k)))
