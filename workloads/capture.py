"""Trace capture: a matmul provider that records every product it passes on as a GemmOp."""

from __future__ import annotations

from typing import Any

import numpy as np

from accel.errors import TraceError
from workloads import providers as prov
from workloads.trace import PHASES, GemmOp, Trace
from workloads.weights import FloatWeight


class Recorder:
    """Wraps ``provider``; each call appends a GemmOp with the operands as computed.

    Model weights are recorded by tensor name (``weight_ref``), never copied; the second operand of
    attention products (K^T, V) is an activation and is kept in ``w``.  Set ``phase`` before a run.
    ``keep_tensors=False`` records shapes only.
    """

    def __init__(self, provider: prov.Provider = prov.reference, *, a_format: str = "fp64",
                 w_format: str | None = None, keep_tensors: bool = True):
        self.provider = provider
        self.a_format = a_format
        self.w_format = w_format
        self.keep_tensors = keep_tensors
        self.ops: list[GemmOp] = []
        self._phase = "prefill"

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        if value not in PHASES:
            raise TraceError(f"phase must be one of {', '.join(PHASES)}, got {value!r}")
        self._phase = value

    def __call__(self, x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
        y = self.provider(x, weight, name=name, layer=layer)
        m, k = x.shape
        keep = self.keep_tensors
        if isinstance(weight, FloatWeight):
            n = weight.shape[1]
            op = GemmOp(layer, name, self._phase, m, n, k, self.a_format, self.w_format or weight.format,
                        weight_ref=weight.name, a=x if keep else None)
        else:
            n = weight.shape[1]
            op = GemmOp(layer, name, self._phase, m, n, k, self.a_format, self.a_format,
                        a=x if keep else None, w=np.ascontiguousarray(weight) if keep else None)
        self.ops.append(op)
        return y

    def trace(self, model: str, **meta: Any) -> Trace:
        return Trace(model=model, ops=list(self.ops), meta=dict(meta))
