"""Quantize float arrays with a shared-scale scheme into a QTensor; bit-pack it to and from bytes.

``quantize(x, "int4_g128", axis=0)`` splits ``axis`` into groups (blocks) of the scheme's size and
stores element codes (same shape as ``x``) plus one scale (and zero point or min) per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.errors import FormatError
from accel.formats import get
from accel.formats.blocks import BFPFormat, Blocks, BlockScheme
from accel.formats.ggml import GGMLFormat


def pack_bits(values, bits: int) -> np.ndarray:
    """Pack unsigned ``values`` of ``bits`` bits each, LSB first (value i at bits [i*bits, (i+1)*bits))."""
    v = np.asarray(values).astype(np.uint64).ravel()
    if v.size and int(v.max()) >> bits:
        raise FormatError(f"value {int(v.max())!r} does not fit in {bits} bits; valid range: 0..{2**bits - 1}")
    if bits == 8:
        return v.astype(np.uint8)
    planes = ((v[:, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    return np.packbits(planes.ravel(), bitorder="little")


def unpack_bits(data, bits: int, count: int) -> np.ndarray:
    """Inverse of ``pack_bits``: ``count`` values of ``bits`` bits (uint64)."""
    raw = np.frombuffer(bytes(data), np.uint8) if not isinstance(data, np.ndarray) else data.astype(np.uint8)
    if bits == 8:
        return raw[:count].astype(np.uint64)
    planes = np.unpackbits(raw, bitorder="little")[: count * bits].reshape(count, bits).astype(np.uint64)
    return (planes << np.arange(bits, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def packed_size(count: int, bits: int) -> int:
    return (count * bits + 7) // 8


def _scheme(scheme) -> BlockScheme:
    obj = get(scheme)
    if not isinstance(obj, BlockScheme):
        raise FormatError(f"{getattr(obj, 'name', obj)!r} is an element format, not a quantization scheme; "
                          f"valid choices: group schemes (e.g. int4_g128, uint4_g32_asym, int8_per_channel), "
                          f"MX (mxfp4, mxfp8_e4m3, ...), BFP (bfp12_b32, ...), GGML (q4_0, q4_1, q8_0)")
    return obj


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise FormatError(f"axis {axis!r} out of range for a {ndim}-D array; valid choices: {-ndim}..{ndim - 1}")
    return axis % ndim


def _group(scheme: BlockScheme, length: int, axis: int) -> int:
    g = scheme.block_size or length
    if length % g:
        divisors = [d for d in range(1, length + 1) if length % d == 0]
        raise FormatError(f"axis {axis} has length {length!r}, not a multiple of the group size {g} of "
                          f"{scheme.name!r}; valid group sizes for this axis: {', '.join(map(str, divisors))}")
    return g


@dataclass(frozen=True, eq=False)
class QTensor:
    """Element ``codes`` (shape of the input) plus per-group ``scales`` (float64; the input shape with
    ``axis`` divided by the group size) and ``zeros`` (integer zero points, w = s * (q - z)) or ``mins``
    (w = s * q + m)."""

    codes: np.ndarray
    scales: np.ndarray
    zeros: np.ndarray | None
    mins: np.ndarray | None
    scheme: BlockScheme
    axis: int

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    @property
    def group_size(self) -> int:
        return self.shape[self.axis] // self.scales.shape[self.axis]

    def element_values(self) -> np.ndarray:
        """Decoded element values (float64; exact integers for integer elements), before scaling."""
        return self.scheme.element.decode(self.codes)

    def _to_blocks(self) -> Blocks:
        def rows(a):
            return None if a is None else np.moveaxis(a, self.axis, -1).reshape(-1)
        codes = np.moveaxis(self.codes, self.axis, -1).reshape(-1, self.group_size)
        return Blocks(codes, rows(self.scales), rows(self.zeros), rows(self.mins))

    def _from_rows(self, flat: np.ndarray) -> np.ndarray:
        moved = tuple(np.delete(self.shape, self.axis)) + (self.shape[self.axis],)
        return np.moveaxis(flat.reshape(moved), -1, self.axis)

    def dequantize(self) -> np.ndarray:
        """The represented values, float64 (exact: scale * element, with zero point or min)."""
        return self._from_rows(self.scheme.dequantize_blocks(self._to_blocks()))

    # ---- bytes ---------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Bit-packed storage (groups along ``axis`` contiguous).

        GGML schemes: llama.cpp's block layout (equal to ``gguf.quants.quantize``'s bytes for
        axis=-1).  Others: three planes, each packed LSB first: scale codes (scale format; for BFP
        the shared exponent E + 127, 8 bits), zero points (element width, asymmetric schemes only),
        element codes.
        """
        b = self._to_blocks()
        if isinstance(self.scheme, GGMLFormat):
            return self.scheme.to_block_bytes(b).tobytes()
        bits, scale_codes = _scale_codes(self.scheme, b.scales)
        parts = [pack_bits(scale_codes, bits)]
        if b.zeros is not None:
            parts.append(pack_bits(b.zeros, self.scheme.element.bits))
        parts.append(pack_bits(b.codes, self.scheme.element.bits))
        return b"".join(p.tobytes() for p in parts)

    @classmethod
    def from_bytes(cls, data: bytes, scheme, shape: tuple[int, ...], axis: int = -1) -> QTensor:
        """Inverse of ``to_bytes`` for a tensor of ``shape`` quantized along ``axis``."""
        scheme = _scheme(scheme)
        shape = tuple(int(s) for s in shape)
        axis = _axis(axis, len(shape))
        g = _group(scheme, shape[axis], axis)
        n_el = int(np.prod(shape))
        n_groups = n_el // g
        if isinstance(scheme, GGMLFormat):
            expected = n_groups * scheme.block_bytes
            _check_len(data, expected, scheme)
            b = scheme.from_block_bytes(np.frombuffer(data, np.uint8))
        else:
            bits = _scale_bits(scheme)
            el = scheme.element.bits
            sizes = [packed_size(n_groups, bits), packed_size(n_groups, el) if _has_zeros(scheme) else 0,
                     packed_size(n_el, el)]
            _check_len(data, sum(sizes), scheme)
            raw = np.frombuffer(data, np.uint8)
            s_raw, z_raw, c_raw = np.split(raw, np.cumsum(sizes)[:2])
            scales = _scales_from_codes(scheme, unpack_bits(s_raw, bits, n_groups))
            zeros = unpack_bits(z_raw, el, n_groups).astype(np.int64) if _has_zeros(scheme) else None
            codes = unpack_bits(c_raw, el, n_el).astype(scheme.element.code_dtype).reshape(n_groups, g)
            b = Blocks(codes, scales, zeros)
        return _assemble(b, scheme, shape, axis, g)


def _check_len(data: bytes, expected: int, scheme) -> None:
    if len(data) != expected:
        raise FormatError(f"{scheme.name}: expected {expected} bytes for this shape, got {len(data)!r}")


def _has_zeros(scheme: BlockScheme) -> bool:
    return bool(getattr(scheme, "asym", False))


def _scale_bits(scheme: BlockScheme) -> int:
    return 8 if isinstance(scheme, BFPFormat) else scheme.scale.bits


def _scale_codes(scheme: BlockScheme, scales: np.ndarray) -> tuple[int, np.ndarray]:
    if isinstance(scheme, BFPFormat):
        return _scale_bits(scheme), scheme.exponent_bytes(scales)
    return scheme.scale.bits, scheme.scale.encode(scales)


def _scales_from_codes(scheme: BlockScheme, codes: np.ndarray) -> np.ndarray:
    if isinstance(scheme, BFPFormat):
        return scheme.steps_from_bytes(codes)
    return scheme.scale.decode(codes.astype(scheme.scale.code_dtype))


def _assemble(b: Blocks, scheme: BlockScheme, shape: tuple[int, ...], axis: int, g: int) -> QTensor:
    moved = tuple(np.delete(shape, axis)) + (shape[axis],)
    gshape = moved[:-1] + (shape[axis] // g,)

    def back(a, s):
        return None if a is None else np.moveaxis(np.asarray(a).reshape(s), -1, axis)

    return QTensor(back(b.codes, moved), back(b.scales, gshape), back(b.zeros, gshape), back(b.mins, gshape),
                   scheme, axis)


def quantize(x, scheme, axis: int = -1, rounding: str | None = None, seed: int | None = 0) -> QTensor:
    """Quantize ``x`` with ``scheme`` (a name or scheme object) in groups along ``axis``.

    ``rounding`` defaults to the scheme's own (nearest-even; llama.cpp's for GGML); ``seed`` drives
    stochastic rounding.  The length of ``axis`` must be a multiple of the group size.
    """
    scheme = _scheme(scheme)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise FormatError("cannot quantize a 0-D array; valid choices: arrays with at least one axis")
    axis = _axis(axis, x.ndim)
    g = _group(scheme, x.shape[axis], axis)
    blocks = np.moveaxis(x, axis, -1).reshape(-1, g)
    return _assemble(scheme.quantize_blocks(blocks, rounding, seed), scheme, x.shape, axis, g)


__all__ = ["QTensor", "pack_bits", "packed_size", "quantize", "unpack_bits"]
