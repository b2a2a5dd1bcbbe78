"""Test-local PE spec with exactly the attributes docs/contracts.md promises, and design builders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.activity import Activity
from accel.design import ArraySpec, BufferSpec, DequantSpec, Design, MemorySpec


@dataclass(frozen=True)
class FakePE:
    """Minimal stand-in for an accel.pe spec (timing tests must not depend on the golden arithmetic)."""

    name: str = "fake_w4a8"
    weight_bits: int = 4
    act_bits: int = 8
    weight_storage_bits: float = 4.5
    act_storage_bits: float = 8
    out_bits: int = 32
    group_size: int | None = 32
    macs_per_pe_per_cycle: int = 1
    dequant: str = "per_group"
    weight_scheme: str = "int4_g32"
    act_scheme: str = "int8"

    def to_string(self) -> str:
        return self.name

    def activity_for(self, m: int, n: int, k: int) -> Activity:
        a = Activity()
        a.add("int_mul", self.act_bits, self.weight_bits, count=m * n * k)
        return a

    def gemm(self, A, W):
        return np.asarray(A, float) @ np.asarray(W, float), self.activity_for(A.shape[0], W.shape[1], A.shape[1])


BIG = 1 << 40


def ideal_memory() -> MemorySpec:
    """Memory that never stalls: huge buffers and SRAM ports, infinite DRAM bandwidth, no latency.

    No design may have infinite bandwidth (the validator refuses it), so the idealisation is set past it.
    """
    buf = BufferSpec(BIG, 1, BIG)
    mem = MemorySpec(buf, buf, buf, dram_latency_cycles=0)
    object.__setattr__(mem, "dram_bandwidth_bytes_per_cycle", float("inf"))
    return mem


def design(pe=None, rows=8, cols=8, dataflow="ws", memory=None, dequant=None, weight_load_bits=None) -> Design:
    return Design(pe=pe or FakePE(), array=ArraySpec(rows, cols, dataflow, weight_load_bits_per_cycle=weight_load_bits),
                  memory=memory or MemorySpec(), dequant=dequant or DequantSpec())


def ideal_design(pe=None, rows=8, cols=8, dataflow="ws", weight_load_bits=None) -> Design:
    return design(pe, rows, cols, dataflow, ideal_memory(),
                  DequantSpec(placement="vector_unit", count=1, latency_cycles=0, throughput_per_cycle=BIG),
                  weight_load_bits)
