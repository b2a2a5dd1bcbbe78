"""GGML (llama.cpp) group formats Q4_0, Q4_1 and Q8_0: block 32, fp16 scale, exact llama.cpp arithmetic.

Quantization follows llama.cpp's reference (``ggml-quants.c``) in float32: the element is computed
with the float32 scale before it is rounded to fp16.  Byte layout per block: fp16 d, [fp16 m], codes
(4-bit: byte j holds element j in the low nibble and element j + 16 in the high nibble).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.errors import FormatError
from accel.formats.blocks import Blocks, BlockScheme
from accel.formats.integer import IntFormat
from accel.formats.registry import get, register
from accel.formats.rounding import round_signed

GGML_BLOCK = 32
KINDS = ("q4_0", "q4_1", "q8_0")


@dataclass(frozen=True)
class GGMLFormat(BlockScheme):
    """One of KINDS.  q4_0: w = d * (q - 8); q4_1: w = d * q + m; q8_0: w = d * q (q int8)."""

    name: str
    element: IntFormat
    block_size: int = GGML_BLOCK

    def __post_init__(self):
        if self.name not in KINDS:
            raise FormatError(f"unknown GGML format {self.name!r}; valid choices: {', '.join(KINDS)}")

    @property
    def scale(self):
        return get("fp16")

    @property
    def block_bytes(self) -> int:
        return 2 * (2 if self.name == "q4_1" else 1) + self.block_size * self.element.bits // 8

    @property
    def bits_per_element(self) -> float:
        return self.block_bytes * 8 / self.block_size

    def check_rounding(self, rounding: str | None) -> str:
        if rounding is not None:
            raise FormatError(f"{self.name}: GGML formats round as llama.cpp does; got rounding={rounding!r}; "
                              f"valid choices: None")
        return "llama.cpp"

    def quantize_blocks(self, x: np.ndarray, rounding: str | None = None, seed: int | None = 0) -> Blocks:
        self.check_rounding(rounding)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._quantize(x.astype(np.float32))

    def _quantize(self, x: np.ndarray) -> Blocks:
        """llama.cpp's arithmetic.  Where d is so small that 1/d overflows (C behaviour undefined),
        0 * inf is taken as the zero code."""
        fp16 = self.scale
        if self.name == "q8_0":
            d = np.abs(x).max(axis=1) / np.float32(127)
            y = np.nan_to_num((x * _inverse(d)[:, None]).astype(np.float64), nan=0.0)
            q = np.clip(round_signed(y, "nearest_away"), -127, 127)
            return Blocks(self.element.from_int(q), fp16.decode(fp16.encode(d)))
        if self.name == "q4_0":
            imax = np.abs(x).argmax(axis=1)
            d = x[np.arange(len(x)), imax] / np.float32(-8)
            y = x * _inverse(d)[:, None] + np.float32(8.5)
            q = np.clip(np.trunc(np.nan_to_num(y, nan=8.5)), 0, 15)
            n = len(x)
            return Blocks(self.element.from_int(q), fp16.decode(fp16.encode(d)), zeros=np.full(n, 8, np.int64))
        lo = x.min(axis=1)
        d = (x.max(axis=1) - lo) / np.float32(15)
        y = (x - lo[:, None]) * _inverse(d)[:, None] + np.float32(0.5)
        q = np.clip(np.trunc(np.nan_to_num(y, nan=0.5)), 0, 15)
        return Blocks(self.element.from_int(q), fp16.decode(fp16.encode(d)), mins=fp16.decode(fp16.encode(lo)))

    # ---- llama.cpp byte layout -----------------------------------------------------------------
    def to_block_bytes(self, b: Blocks) -> np.ndarray:
        """(n, block_bytes) uint8 rows in llama.cpp's layout."""
        fp16 = self.scale
        parts = [_fp16_bytes(fp16, b.scales)]
        if self.name == "q4_1":
            parts.append(_fp16_bytes(fp16, b.mins))
        codes = b.codes.astype(np.uint8)
        if self.element.bits == 4:
            half = self.block_size // 2
            codes = codes[:, :half] | (codes[:, half:] << np.uint8(4))
        parts.append(codes)
        return np.concatenate(parts, axis=1)

    def from_block_bytes(self, raw: np.ndarray) -> Blocks:
        """Inverse of ``to_block_bytes``."""
        fp16 = self.scale
        raw = np.asarray(raw, np.uint8).reshape(-1, self.block_bytes)
        scales = fp16.decode(raw[:, 0:2].copy().view("<u2")[:, 0])
        rest = raw[:, 2:]
        mins = None
        if self.name == "q4_1":
            mins = fp16.decode(rest[:, 0:2].copy().view("<u2")[:, 0])
            rest = rest[:, 2:]
        if self.element.bits == 4:
            codes = np.concatenate([rest & np.uint8(0x0F), rest >> np.uint8(4)], axis=1)
        else:
            codes = rest.copy()
        zeros = np.full(len(raw), 8, np.int64) if self.name == "q4_0" else None
        return Blocks(codes, scales, zeros=zeros, mins=mins)


def _inverse(d: np.ndarray) -> np.ndarray:
    """llama.cpp's ``id = d ? 1/d : 0`` in float32."""
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)


def _fp16_bytes(fp16, values: np.ndarray) -> np.ndarray:
    return fp16.encode(values).astype("<u2").view(np.uint8).reshape(-1, 2)


register("q4_0", GGMLFormat("q4_0", get("uint4")))
register("q4_1", GGMLFormat("q4_1", get("uint4")))
register("q8_0", GGMLFormat("q8_0", get("int8")))
