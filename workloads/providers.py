"""Matmul providers: every matrix product of a forward pass goes through one of these.

A provider is ``provider(x (M, K), weight, *, name, layer) -> (M, N)`` where ``weight`` is a weight
handle (:mod:`workloads.weights`) or, for attention (Q.K^T, P.V), a plain activation array (K, N).
The same forward code runs with the float64 reference, float32 numpy, or a PE golden model.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from accel.activity import Activity
from accel.errors import AccelError, WorkloadError
from workloads.protocol import ATTENTION_MODES
from workloads.weights import GGML_FORMATS, FloatWeight, GGMLWeight, as_float64

log = logging.getLogger(__name__)


class Provider(Protocol):
    def __call__(self, x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray: ...


def reference(x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
    """float64 products of the exact stored weight values."""
    return np.matmul(np.asarray(x, dtype=np.float64), as_float64(weight))


def float32(x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
    """Plain float32 numpy (what a quick numpy port would do); the benchmark's peer."""
    if isinstance(weight, GGMLWeight):
        w = weight.float32()
    elif isinstance(weight, FloatWeight):
        w = np.asarray(weight.stored, dtype=np.float32).T
    else:
        w = np.asarray(weight, dtype=np.float32)
    return np.matmul(np.asarray(x, dtype=np.float32), w)


class WeightOnly:
    """Weights quantized with ``scheme`` (groups along K) and dequantized; float64 products otherwise.

    Isolates the accuracy cost of a weight format from any PE's activation and accumulator rounding.
    GGML weights already in ``scheme`` are used as stored.
    """

    def __init__(self, scheme: str):
        from accel import formats

        try:
            formats.get(scheme)
        except AccelError as exc:
            raise WorkloadError(f"unknown weight scheme {scheme!r}: {exc}") from None
        self.scheme = scheme
        self._w: dict[str, np.ndarray] = {}

    def weights(self, weight: Any) -> np.ndarray:
        if weight.name not in self._w:
            from accel import quant

            if isinstance(weight, GGMLWeight) and weight.format == self.scheme:
                self._w[weight.name] = weight.float64()
            else:
                self._w[weight.name] = quant.quantize(weight.float64(), self.scheme, axis=0).dequantize()
        return self._w[weight.name]

    def __call__(self, x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
        if not isinstance(weight, FloatWeight):
            return reference(x, weight, name=name, layer=layer)
        return np.matmul(np.asarray(x, dtype=np.float64), self.weights(weight))

    def settings(self) -> dict[str, Any]:
        return {"weights": self.scheme}


MISMATCHED_MODES = ("requantize", "reference")


class PEProvider:
    """Products computed by an ``accel.pe`` spec's golden model: ``spec.gemm(A, W)``.

    Model weights go in their stored format when the spec takes it (GGML Q4_1 SmolLM2 weights as a
    QTensor), otherwise quantized from their float values with the spec's weight scheme (MiniLM).
    Attention products (both operands activations) use the float64 reference unless
    ``attention="pe"`` (every product through the PE) or ``"pe_only"`` (attention through the PE,
    weight products exact on the float64 reference: L-Mul's attention-only setting).  When the spec
    takes stored GGML blocks, a GGML weight stored in another format (SmolLM2's Q8_0 tied embedding /
    LM head under a Q4_1 spec) stays as stored on the float64 reference by default
    (``mismatched="reference"``, as a deployment that keeps the 8-bit head on its own path would), or
    is requantized with the spec's scheme (``mismatched="requantize"``).  ``routes`` records, per
    weight tensor used, which arithmetic it went through.  Activity counts of every product through
    the PE are summed in ``.activity``.
    """

    def __init__(self, spec, *, attention: str = "reference", stored_format: bool = True,
                 mismatched: str = "reference"):
        if attention not in ATTENTION_MODES:
            raise WorkloadError(f"attention mode must be one of {', '.join(ATTENTION_MODES)}, got {attention!r}")
        if mismatched not in MISMATCHED_MODES:
            raise WorkloadError(f"mismatched-weight mode must be one of {', '.join(MISMATCHED_MODES)}, "
                                f"got {mismatched!r}")
        self.spec = spec
        self.attention = attention
        self.mismatched = mismatched
        self.stored_format = stored_format
        self.activity = Activity()
        self.requantized: dict[str, str] = {}  # tensor name -> "stored -> spec scheme"
        self.routes: dict[str, str] = {}  # weight tensor name -> the arithmetic its products went through
        self._weights: dict[str, Any] = {}

    def mismatched_weight(self, weight: Any) -> bool:
        """A GGML weight stored in another GGML format than the one this PE takes as stored blocks."""
        scheme = self.spec.weight_scheme
        return (isinstance(weight, GGMLWeight) and weight.format != scheme
                and scheme in GGML_FORMATS.values())

    def operand(self, weight: Any) -> Any:
        """What ``spec.gemm`` gets for a weight handle (cached per tensor)."""
        if weight.name not in self._weights:
            self._weights[weight.name] = self._operand(weight)
        return self._weights[weight.name]

    def _operand(self, weight: Any) -> Any:
        from accel import quant

        scheme = self.spec.weight_scheme
        if self.stored_format and isinstance(weight, GGMLWeight) and weight.format == scheme:
            self.routes[weight.name] = f"PE, stored {weight.format} blocks"
            return ggml_qtensor(weight)
        self.routes[weight.name] = f"PE, {weight.format} quantized to {scheme}"
        if isinstance(weight, GGMLWeight):
            self.requantized[weight.name] = f"{weight.format} -> {scheme}"
            log.info("%s is stored as %s; requantized to the PE's %s", weight.name, weight.format, scheme)
        return quant.quantize(weight.float64(), scheme, axis=0)

    def __call__(self, x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
        if not isinstance(weight, FloatWeight):
            if self.attention == "reference":
                return reference(x, weight, name=name, layer=layer)
            y, act = self.spec.gemm(np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64))
        elif self.attention == "pe_only":
            self.routes[weight.name] = f"float64 reference, stored {weight.format} values"
            return reference(x, weight, name=name, layer=layer)
        elif self.mismatched == "reference" and self.mismatched_weight(weight):
            self.routes[weight.name] = f"float64 reference, stored {weight.format} values"
            return reference(x, weight, name=name, layer=layer)
        else:
            y, act = self.spec.gemm(np.asarray(x, dtype=np.float64), self.operand(weight))
        self.activity.update(act)
        return np.asarray(y, dtype=np.float64)

    def settings(self) -> dict[str, Any]:
        return {"pe": self.spec.to_string(), "attention": self.attention, "stored_format": self.stored_format,
                "mismatched": self.mismatched, "requantized": dict(self.requantized), "routes": dict(self.routes)}


def ggml_qtensor(weight: GGMLWeight):
    """The stored GGML blocks of ``weight`` as an ``accel.quant.QTensor`` of shape (K, N), groups along K (axis 0).

    llama.cpp stores N rows of K (blocks along K); the QTensor of those rows is transposed, codes and
    per-group scales/mins alike, without requantizing anything.
    """
    from accel import quant

    k, n = weight.shape
    rows = quant.QTensor.from_bytes(np.ascontiguousarray(weight.raw).tobytes(), weight.format, shape=(n, k), axis=-1)

    def t(a):
        return None if a is None else np.ascontiguousarray(np.asarray(a).T)

    return quant.QTensor(t(rows.codes), t(rows.scales), t(rows.zeros), t(rows.mins), rows.scheme, 0)
