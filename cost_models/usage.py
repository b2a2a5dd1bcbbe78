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

from accel.activity import Activity, ActivityTotals, ReportsTotals
from accel.errors import ConfigError

BUFFERS = ("weight_buffer", "input_buffer", "output_buffer")
#: The buffer each operand's traffic goes through (accel.activity.OPERANDS); the KV cache streams like weights.
_OPERAND_BUFFER = {"weight": "weight_buffer", "input": "input_buffer", "output": "output_buffer", "kv": "weight_buffer"}


def operand_buffer(operand: str) -> str:
    """The SRAM buffer an operand's traffic goes through."""
    return _OPERAND_BUFFER[operand]


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


def _buffer_bits(by_operand: Mapping[str, float]) -> dict[str, int]:
    """``{buffer name: bits}`` from bits per operand."""
    out = dict.fromkeys(BUFFERS, 0)
    for k, v in by_operand.items():
        out[_OPERAND_BUFFER[k]] += int(v)
    return out


def usage_from_sim(run: ActivityTotals | ReportsTotals) -> Usage:
    """The usage of a simulated run (a ``sim.SimResult`` or ``OpResult``, or their :class:`ActivityTotals`).

    The array reads weights and inputs from their buffers and writes outputs to the output buffer; DRAM fills the
    weight and input buffers and drains the output buffer.
    """
    if isinstance(run, ActivityTotals):
        t = run
    elif callable(getattr(run, "totals", None)):
        t = run.totals()
    else:
        raise ConfigError(f"expected a simulator result (sim.SimResult, OpResult) or accel.activity.ActivityTotals, "
                          f"got {type(run).__name__}")
    dram_op, arr = _buffer_bits(t.dram_bits_by_operand), _buffer_bits(t.sram_bits_by_operand)
    reads = {"weight_buffer": arr["weight_buffer"], "input_buffer": arr["input_buffer"],
             "output_buffer": dram_op["output_buffer"]}
    writes = {"weight_buffer": dram_op["weight_buffer"], "input_buffer": dram_op["input_buffer"],
              "output_buffer": arr["output_buffer"]}
    note = "; SRAM reads = array-side weight/input traffic + output drain, writes = DRAM fills + array outputs"
    return Usage(activity=Activity(t.activity), cycles=int(t.cycles), macs=int(t.macs), sram_read_bits=reads,
                 sram_write_bits=writes, dram_bits=t.dram_bits, source=f"simulator ({type(run).__name__}){note}")


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


def usages_from_sim_ops(sim_result) -> list[Usage]:
    """One :class:`Usage` per op of a ``sim.SimResult`` (``.ops``), in trace order."""
    return [usage_from_sim(op) for op in sim_result.ops]
