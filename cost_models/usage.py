"""What a run used: activity counts, cycles, MACs, SRAM traffic per buffer, DRAM traffic, tokens.

:class:`Usage` is the one record the pricing stage reads.  It comes from a simulator result
(:func:`usage_from_sim`) or, without the simulator, from shapes (:func:`usage_for_gemm`: compulsory
traffic of a weight-stationary array, roofline cycles; labelled as such in every report).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accel.activity import Activity
from accel.errors import ConfigError

BUFFERS = ("weight_buffer", "input_buffer", "output_buffer")
#: The buffer the array's stationary operand is read from, by dataflow (OS keeps nothing stationary).
STATIONARY_BUFFER = {"ws": "weight_buffer", "is": "input_buffer"}
_OPERAND_BUFFER = {"weight": "weight_buffer", "w": "weight_buffer", "input": "input_buffer", "act": "input_buffer",
                   "a": "input_buffer", "activation": "input_buffer", "output": "output_buffer", "out": "output_buffer",
                   "psum": "output_buffer", "kv": "weight_buffer"}  # kv: DRAM traffic of the KV cache


@dataclass(frozen=True)
class Usage:
    activity: Activity
    cycles: int
    macs: int
    sram_read_bits: dict[str, int]
    sram_write_bits: dict[str, int]
    dram_bits: int
    tokens: int | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _buffer_bits(raw: Any, what: str) -> dict[str, int]:
    """Normalise a per-buffer or per-operand bit count mapping to ``{buffer name: bits}``."""
    out = dict.fromkeys(BUFFERS, 0)
    if raw is None:
        return out
    if not isinstance(raw, Mapping):
        raise ConfigError(f"simulator {what} must be a mapping of buffer or operand to bits, got {raw!r}")
    for k, v in raw.items():
        b = k if k in BUFFERS else _OPERAND_BUFFER.get(str(k).lower())
        if b is None:
            raise ConfigError(f"simulator {what} has unknown buffer/operand {k!r}; valid: "
                              f"{', '.join(BUFFERS + tuple(_OPERAND_BUFFER))}")
        out[b] += int(v)
    return out


def _get(obj: Any, d: Mapping, *names: str) -> Any:
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
        if n in d:
            return d[n]
    return None


def usage_from_sim(sim_result: Any) -> Usage:
    """Read a ``sim.SimResult`` (attributes, falling back to its ``to_dict()``)."""
    d = sim_result.to_dict() if hasattr(sim_result, "to_dict") else {}
    activity = _get(sim_result, d, "activity")
    cycles = _get(sim_result, d, "cycles", "total_cycles")
    missing = [n for n, v in (("activity", activity), ("cycles", cycles)) if v is None]
    if missing:
        raise ConfigError(f"simulator result lacks {', '.join(missing)}; cost_models needs activity and cycles")
    macs = _get(sim_result, d, "macs")
    reads = _get(sim_result, d, "sram_read_bits")
    writes = _get(sim_result, d, "sram_write_bits")
    dram = _get(sim_result, d, "dram_bits")
    if dram is None:
        dram = _get(sim_result, d, "dram_bits_by_operand")
    if isinstance(dram, Mapping):
        dram = sum(int(v) for v in dram.values())
    note = ""
    by_op = _get(sim_result, d, "sram_bits_by_operand")
    if reads is None and writes is None and by_op is not None:
        # sim.SimResult reports array-side SRAM traffic per operand and DRAM traffic per operand: the
        # array reads weights/inputs and writes outputs; DRAM fills the weight/input buffers and drains
        # the output buffer.
        dram_op = _buffer_bits(_get(sim_result, d, "dram_bits_by_operand") or {}, "dram_bits_by_operand")
        arr = _buffer_bits(by_op, "sram_bits_by_operand")
        reads = {"weight_buffer": arr["weight_buffer"], "input_buffer": arr["input_buffer"],
                 "output_buffer": dram_op["output_buffer"]}
        writes = {"weight_buffer": dram_op["weight_buffer"], "input_buffer": dram_op["input_buffer"],
                  "output_buffer": arr["output_buffer"]}
        note = "; SRAM reads = array-side weight/input traffic + output drain, writes = DRAM fills + array outputs"
    return Usage(activity=Activity(activity), cycles=int(cycles), macs=int(macs or 0),
                 sram_read_bits=_buffer_bits(reads, "sram_read_bits"),
                 sram_write_bits=_buffer_bits(writes, "sram_write_bits"), dram_bits=int(dram or 0),
                 tokens=_get(sim_result, d, "tokens"), source=f"simulator ({type(sim_result).__name__}){note}")


def usage_for_gemm(design, m: int, n: int, k: int, count: int = 1, tokens: int | None = None) -> Usage:
    """Shape-only usage of ``count`` GEMMs (M,K)x(K,N) on a weight-stationary array, without the simulator.

    Activity from ``design.pe.activity_for``.  Traffic: every operand crosses DRAM once (weights and
    inputs read, outputs written, at their storage widths); SRAM: weights written once and read once,
    inputs written once and read once per column tile (ceil(N/cols)), partial sums read and written
    once per row tile (ceil(K/rows)) at ``out_bits``.  Cycles: the roofline bound, max(compute, DRAM).
    """
    for name, v in (("m", m), ("n", n), ("k", k), ("count", count)):
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"GEMM {name} must be a positive integer, got {v!r}")
    pe, arr, mem = design.pe, design.array, design.memory
    wb, ab, ob = float(pe.weight_storage_bits), float(pe.act_storage_bits), int(pe.out_bits)
    col_tiles, row_tiles = math.ceil(n / arr.cols), math.ceil(k / arr.rows)
    w_bits, a_bits, o_bits = round(k * n * wb), round(m * k * ab), m * n * ob
    reads = {"weight_buffer": w_bits, "input_buffer": a_bits * col_tiles,
             "output_buffer": o_bits * max(row_tiles - 1, 0)}
    writes = {"weight_buffer": w_bits, "input_buffer": a_bits, "output_buffer": o_bits * row_tiles}
    dram = w_bits + a_bits + o_bits
    macs = m * n * k
    compute = math.ceil(macs / (arr.rows * arr.cols * int(pe.macs_per_pe_per_cycle)))
    memory = math.ceil(dram / 8 / mem.dram_bandwidth_bytes_per_cycle)
    return Usage(activity=pe.activity_for(m, n, k).scaled(count), cycles=max(compute, memory) * count,
                 macs=macs * count, sram_read_bits={b: v * count for b, v in reads.items()},
                 sram_write_bits={b: v * count for b, v in writes.items()}, dram_bits=dram * count, tokens=tokens,
                 source="analytic shape-only estimate (compulsory traffic, WS, roofline cycles; no simulator)",
                 extra={"compute_bound_cycles": compute * count, "memory_bound_cycles": memory * count})


def merge(parts: list[Usage], source: str, tokens: int | None = None) -> Usage:
    """Sum several usages (the GEMMs of a trace) into one."""
    if not parts:
        raise ConfigError("cannot merge an empty list of usages (a trace with no GEMM ops?)")
    act = Activity.merge(p.activity for p in parts)
    return Usage(activity=act, cycles=sum(p.cycles for p in parts), macs=sum(p.macs for p in parts),
                 sram_read_bits={b: sum(p.sram_read_bits.get(b, 0) for p in parts) for b in BUFFERS},
                 sram_write_bits={b: sum(p.sram_write_bits.get(b, 0) for p in parts) for b in BUFFERS},
                 dram_bits=sum(p.dram_bits for p in parts), tokens=tokens, source=source)


def trace_tokens(trace) -> int | None:
    """Tokens a trace produces: prefill ``tokens * batch``, decode ``batch`` (from ``trace.meta``)."""
    meta = getattr(trace, "meta", {}) or {}
    batch = int(meta.get("batch", 1) or 1)
    if meta.get("phase") == "decode":
        return batch
    t = meta.get("tokens")
    return int(t) * batch if t else None


def usage_for_trace(design, trace) -> Usage:
    """Shape-only usage of every GEMM of a trace (see :func:`usage_for_gemm`)."""
    parts = [usage_for_gemm(design, op.m, op.n, op.k, count=op.count) for op in trace.ops]
    return merge(parts, parts[0].source if parts else "", tokens=trace_tokens(trace))


class SimOpTotals:
    """One ``sim.OpResult`` seen with whole-run totals (instances counted), as :func:`usage_from_sim` reads."""

    def __init__(self, op):
        self.activity = op.activity  # already scaled by the op's count
        self.cycles = op.cycles * op.count
        self.macs = op.macs * op.count
        self.sram_bits_by_operand = {k: v * op.count for k, v in op.sram_bits.items()}
        self.dram_bits_by_operand = {k: v * op.count for k, v in op.dram_bits.items()}


def usages_from_sim_ops(sim_result) -> list[Usage]:
    """One :class:`Usage` per op of a ``sim.SimResult`` (``.ops``), in trace order."""
    return [usage_from_sim(SimOpTotals(op)) for op in sim_result.ops]
