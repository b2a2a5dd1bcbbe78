"""The KV cache as the simulator sees it: which ops write and read it, its width, and where it lives.

Projections ``attn_k`` / ``attn_v`` write K and V into the cache (their outputs, stored in the cache's
format); attention products ``attn_qk`` / ``attn_pv`` read the cache as their second operand (K^T, V).
The cache is stored at ``design.kv_cache_format``'s bits per element (shared exponents and scales
included, from ``accel.formats``); without one it is stored like any activation.  It stays on chip when
all of it (every layer and sequence one phase of the trace reads) fits in half the weight buffer, the
half that holds operands kept across folds; otherwise it is written to and read from DRAM.
"""

from __future__ import annotations

from accel.errors import ConfigError, FormatError
from workloads.trace import ACTIVATION_OPS, GemmOp

__all__ = ["KV_READS", "KV_WRITES", "kv_role", "kv_bits_per_element", "kv_on_chip"]

KV_READS = ACTIVATION_OPS  # attention products: the second operand is the cached K^T or V
KV_WRITES = ("attn_k", "attn_v")


def kv_role(op: GemmOp) -> str | None:
    """``"read"``, ``"write"`` or None for an op that does not touch the KV cache."""
    base = op.name.split("[")[0]
    if base in KV_READS and op.activation_operand:
        return "read"
    if base in KV_WRITES:
        return "write"
    return None


def kv_bits_per_element(design, act_storage_bits: float) -> float:
    """Stored bits per cached element: the design's ``kv_cache_format``, else the activations' width."""
    fmt = design.kv_cache_format
    if fmt is None:
        return float(act_storage_bits)
    from accel.pe.base import storage_bits

    try:
        return storage_bits(fmt)
    except FormatError as exc:
        raise ConfigError(f"kv_cache_format: {exc}") from None


def kv_on_chip(ops, design, bits_per_element: float) -> bool:
    """Whether the whole cache one phase's ops read (the largest phase) fits in half the weight buffer."""
    per_phase: dict[str, int] = {}
    for op in ops:
        if kv_role(op) == "read":
            per_phase[op.phase] = per_phase.get(op.phase, 0) + op.k * op.n * op.count
    return max(per_phase.values(), default=0) * bits_per_element <= design.memory.weight_buffer.capacity_bits // 2
