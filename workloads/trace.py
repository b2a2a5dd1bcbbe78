"""Trace types: the GEMMs of a model run, in order, as the simulator and cost models consume them.

The workloads package owns capture, save and load; ``sim`` and ``cost_models`` read these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class GemmOp:
    """One matrix product Y[M,N] = A[M,K] @ W[K,N].

    ``a`` holds the activation operand as computed (None in shape-only traces); ``w`` holds the second
    operand when it is itself an activation (attention Q.K^T, P.V) and None for model weights, which
    are referenced by ``weight_ref`` (tensor name in the model file) instead of copied.
    """

    layer: int
    name: str  # e.g. "attn_q", "ffn_up", "attn_qk[h3]", "lm_head"
    phase: str  # "prefill" | "decode"
    m: int
    n: int
    k: int
    a_format: str = "fp32"
    w_format: str = "fp32"
    weight_ref: str | None = None
    a: np.ndarray | None = field(default=None, repr=False, compare=False)
    w: np.ndarray | None = field(default=None, repr=False, compare=False)
    count: int = 1  # identical ops folded into one record (shape-only traces: heads, batch)

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.count


@dataclass
class Trace:
    """An ordered list of GEMM ops plus metadata (model, tokens, phase, settings)."""

    model: str
    ops: list[GemmOp]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)
