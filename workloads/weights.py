"""Weight handles: a model tensor used as the second GEMM operand, in its stored format.

Every handle has a ``name`` (the tensor's name in the model file, recorded in traces), a logical
``shape`` (K, N) for ``y = x @ W``, a ``format`` (``q4_1``, ``q8_0``, ``fp32``...) and
``float64()``: the exact values of the stored weights as a (K, N) float64 array (cached).
"""

from __future__ import annotations

import numpy as np

from accel.errors import WorkloadError

#: GGML tensor types a handle can hold, by GGUF type name -> format name used in traces.
GGML_FORMATS = {"F32": "fp32", "F16": "fp16", "Q4_0": "q4_0", "Q4_1": "q4_1", "Q8_0": "q8_0"}


class FloatWeight:
    """A float weight stored as (N, K) rows (the PyTorch / safetensors layout), used as W = stored.T."""

    def __init__(self, name: str, stored: np.ndarray, fmt: str = "fp32"):
        if stored.ndim != 2:
            raise WorkloadError(f"weight {name!r} must be 2-D (out, in), got shape {stored.shape!r}")
        self.name = name
        self.format = fmt
        self.stored = stored
        self.shape = (stored.shape[1], stored.shape[0])
        self._f64: np.ndarray | None = None

    def float64(self) -> np.ndarray:
        if self._f64 is None:
            self._f64 = np.ascontiguousarray(self.stored, dtype=np.float64).T
        return self._f64

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Stored rows ``ids`` (an embedding lookup) as float64."""
        return np.asarray(self.stored[ids], dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, shape={self.shape}, format={self.format!r})"


class GGMLWeight(FloatWeight):
    """A GGML-quantized weight: raw llama.cpp blocks, one row of N per output feature, blocks along K."""

    def __init__(self, name: str, raw: np.ndarray, ggml_type: str, k: int):
        import gguf

        if ggml_type not in GGML_FORMATS:
            raise WorkloadError(f"tensor {name!r} has GGML type {ggml_type!r}; supported: "
                                f"{', '.join(GGML_FORMATS)}")
        self.name = name
        self.ggml_type = ggml_type
        self.format = GGML_FORMATS[ggml_type]
        self.qtype = gguf.GGMLQuantizationType[ggml_type]
        self.raw = raw
        self.shape = (k, raw.shape[0])
        self._f64 = None
        self._f32: np.ndarray | None = None

    @property
    def stored(self) -> np.ndarray:  # dequantized (N, K) rows, as llama.cpp computes them (float32)
        return self.float32().T

    def float32(self) -> np.ndarray:
        """(K, N) float32 values as gguf (and llama.cpp) dequantize them; cached."""
        if self._f32 is None:
            self._f32 = self._dequant(self.raw).T
        return self._f32

    def float64(self) -> np.ndarray:
        if self._f64 is None:
            rows = self._f32.T if self._f32 is not None else self._dequant(self.raw)
            self._f64 = rows.astype(np.float64).T
        return self._f64

    def _dequant(self, raw: np.ndarray) -> np.ndarray:
        import gguf

        if self.ggml_type in ("F32", "F16"):
            return np.asarray(raw, dtype=np.float32).reshape(raw.shape[0], -1)
        out = gguf.quants.dequantize(np.asarray(raw), self.qtype)
        return np.asarray(out, dtype=np.float32).reshape(raw.shape[0], self.shape[0])

    def rows(self, ids: np.ndarray) -> np.ndarray:
        return self._dequant(self.raw[np.asarray(ids)]).astype(np.float64)

    def release(self) -> None:
        """Drop the cached dequantized copies (memory)."""
        self._f32 = self._f64 = None


def as_float64(weight) -> np.ndarray:
    """A weight handle's or a plain array's values as float64 (K, N)."""
    if isinstance(weight, FloatWeight):
        return weight.float64()
    return np.asarray(weight, dtype=np.float64)
