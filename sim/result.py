"""Simulation results: per-op records and the whole-run :class:`SimResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.activity import OPERANDS, Activity, ActivityTotals
from sim.bounds import LIMITS, binding

__all__ = ["OpResult", "SimResult", "OPERANDS"]


@dataclass(frozen=True)
class OpResult:
    """One GEMM op of the run.  Cycles and traffic are per instance; ``count`` instances ran back to back."""

    layer: int
    name: str
    phase: str
    m: int
    n: int
    k: int
    count: int
    cycles: int
    compute_cycles: int
    fill_drain_cycles: int
    memory_stall_cycles: int
    dequant_stall_cycles: int
    folds: int
    roofline_compute_cycles: float
    roofline_memory_cycles: float
    dram_bits: dict[str, int]
    sram_bits: dict[str, int]
    activity: Activity = field(repr=False)
    output: np.ndarray | None = field(default=None, repr=False, compare=False)
    limits: dict[str, float] = field(default_factory=dict)  # sim.bounds: cycles each resource alone needs

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k

    def totals(self) -> ActivityTotals:
        """This op's totals over its ``count`` instances (``activity`` is already scaled by the count)."""
        return ActivityTotals(activity=self.activity, cycles=self.cycles * self.count, macs=self.macs * self.count,
                              sram_bits_by_operand={k: v * self.count for k, v in self.sram_bits.items()},
                              dram_bits_by_operand={k: v * self.count for k, v in self.dram_bits.items()})

    def record(self, pe_per_cycle: int) -> dict[str, Any]:
        """Flat per-op row (per instance, plus ``count``) for tables and JSON."""
        row = {k: getattr(self, k) for k in ("layer", "name", "phase", "m", "n", "k", "count", "cycles",
                                              "compute_cycles", "fill_drain_cycles", "memory_stall_cycles",
                                              "dequant_stall_cycles", "folds", "roofline_compute_cycles",
                                              "roofline_memory_cycles")}
        row["stall_cycles"] = self.memory_stall_cycles + self.dequant_stall_cycles
        row["macs"] = self.macs
        row["utilization"] = self.macs / (self.cycles * pe_per_cycle) if self.cycles else 0.0
        row["bound"] = binding(self.limits) if self.limits else None
        for k in LIMITS:
            row[f"bound_{k}_cycles"] = self.limits.get(k)
        for op in OPERANDS:
            row[f"dram_bits_{op}"] = self.dram_bits[op]
            row[f"sram_bits_{op}"] = self.sram_bits[op]
        row["dram_bits"] = sum(self.dram_bits.values())
        return row


@dataclass
class SimResult:
    """Totals over every op (instances counted), the per-op list, and run metadata."""

    design_name: str
    mode: str
    rows: int
    cols: int
    macs_per_pe_per_cycle: int
    ops: list[OpResult]
    wall_seconds: float = 0.0
    freq_mhz: float | None = None
    decoder: bool = False  # the trace ends in next-token logits: report time to first token / per output token

    def _sum(self, attr: str) -> int:
        return int(sum(getattr(o, attr) * o.count for o in self.ops))

    @property
    def cycles(self) -> int:
        return self._sum("cycles")

    @property
    def compute_cycles(self) -> int:
        return self._sum("compute_cycles")

    @property
    def fill_drain_cycles(self) -> int:
        return self._sum("fill_drain_cycles")

    @property
    def memory_stall_cycles(self) -> int:
        return self._sum("memory_stall_cycles")

    @property
    def dequant_stall_cycles(self) -> int:
        return self._sum("dequant_stall_cycles")

    @property
    def stall_cycles(self) -> int:
        return self.memory_stall_cycles + self.dequant_stall_cycles

    @property
    def macs(self) -> int:
        return int(sum(o.macs * o.count for o in self.ops))

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.rows * self.cols * self.macs_per_pe_per_cycle

    @property
    def utilization(self) -> float:
        """MACs done / (cycles x peak MACs per cycle)."""
        return self.macs / (self.cycles * self.peak_macs_per_cycle) if self.cycles else 0.0

    @property
    def roofline_compute_cycles(self) -> float:
        return float(sum(o.roofline_compute_cycles * o.count for o in self.ops))

    @property
    def roofline_memory_cycles(self) -> float:
        return float(sum(o.roofline_memory_cycles * o.count for o in self.ops))

    @property
    def roofline_cycles(self) -> float:
        """Sum over ops of max(compute bound, memory bound): no schedule can beat it."""
        return float(sum(max(o.roofline_compute_cycles, o.roofline_memory_cycles) * o.count for o in self.ops))

    def _bits(self, kind: str) -> dict[str, int]:
        return {op: int(sum(getattr(o, kind)[op] * o.count for o in self.ops)) for op in OPERANDS}

    @property
    def bound(self) -> dict[str, Any]:
        """The binding limit (``sim.bounds``) over the run and per phase, with every limit's cycles (x count)."""
        def summary(ops):
            cycles = {k: float(sum(o.limits.get(k, 0.0) * o.count for o in ops)) for k in LIMITS}
            by_binding = {k: 0 for k in LIMITS}  # simulated cycles of the ops each limit binds
            for o in ops:
                if o.limits:
                    by_binding[binding(o.limits)] += o.cycles * o.count
            return {"binding": binding(cycles), "cycles": cycles, "simulated_cycles": sum(o.cycles * o.count
                                                                                            for o in ops),
                    "simulated_cycles_by_binding": by_binding}

        out = summary(self.ops)
        out["by_phase"] = {p: summary([o for o in self.ops if o.phase == p])
                           for p in dict.fromkeys(o.phase for o in self.ops)}
        return out

    @property
    def latency(self) -> dict[str, Any] | None:
        """Decoders: time to first token (the prefill phase's cycles) and time per output token (one decode
        step's cycles; with a batch, every sequence gets one token per step), in cycles and ms at ``freq_mhz``."""
        if not self.decoder:
            return None
        out: dict[str, Any] = {"freq_mhz": self.freq_mhz}
        for phase, key in (("prefill", "time_to_first_token"), ("decode", "time_per_output_token")):
            ops = [o for o in self.ops if o.phase == phase]
            if ops:
                c = sum(o.cycles * o.count for o in ops)
                out[key] = {"cycles": c, "ms": c / (self.freq_mhz * 1e3) if self.freq_mhz else None}
        return out

    @property
    def dram_bits_by_operand(self) -> dict[str, int]:
        return self._bits("dram_bits")

    @property
    def sram_bits_by_operand(self) -> dict[str, int]:
        return self._bits("sram_bits")

    @property
    def dram_bits(self) -> int:
        return sum(self.dram_bits_by_operand.values())

    @property
    def activity(self) -> Activity:
        return Activity.merge(o.activity for o in self.ops)

    def totals(self) -> ActivityTotals:
        """The run's totals, as the cost model reads them."""
        return ActivityTotals(activity=self.activity, cycles=self.cycles, macs=self.macs,
                              sram_bits_by_operand=self.sram_bits_by_operand,
                              dram_bits_by_operand=self.dram_bits_by_operand)

    @property
    def outputs(self) -> list[np.ndarray | None]:
        return [o.output for o in self.ops]

    @property
    def pe_cycles(self) -> int:
        """Simulated PE-cycles (cycles x R x C)."""
        return self.cycles * self.rows * self.cols

    @property
    def pe_cycles_per_second(self) -> float:
        return self.pe_cycles / self.wall_seconds if self.wall_seconds > 0 else math.inf

    @property
    def per_op(self):
        """Per-op table (pandas DataFrame), one row per op record."""
        import pandas as pd

        return pd.DataFrame([o.record(self.peak_macs_per_cycle) for o in self.ops])

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design_name,
            "mode": self.mode,
            "array": f"{self.rows}x{self.cols}",
            "cycles": self.cycles,
            "compute_cycles": self.compute_cycles,
            "fill_drain_cycles": self.fill_drain_cycles,
            "memory_stall_cycles": self.memory_stall_cycles,
            "dequant_stall_cycles": self.dequant_stall_cycles,
            "stall_cycles": self.stall_cycles,
            "utilization": self.utilization,
            "macs": self.macs,
            "roofline": {"compute_cycles": self.roofline_compute_cycles,
                         "memory_cycles": self.roofline_memory_cycles,
                         "bound_cycles": self.roofline_cycles},
            "bound": self.bound,
            "latency": self.latency,
            "dram_bits": self.dram_bits,
            "dram_bits_by_operand": self.dram_bits_by_operand,
            "sram_bits_by_operand": self.sram_bits_by_operand,
            "activity": self.activity.to_dict(),
            "wall_seconds": self.wall_seconds,
            "pe_cycles_per_second": self.pe_cycles_per_second,
            "per_op": [o.record(self.peak_macs_per_cycle) for o in self.ops],
        }
