"""Shared-scale schemes: integer/minifloat group schemes, OCP MX block formats and BFP.

Each scheme quantizes a 2-D array of blocks (one row per block, ``block_size`` values) into element
codes plus one scale (and optionally a zero point or min) per block; ``accel.quant`` handles axes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from accel.errors import FormatError
from accel.formats.element import ElementFormat
from accel.formats.elements import INT_BITS, SCALE_FORMATS
from accel.formats.integer import IntFormat
from accel.formats.minifloat import FloatFormat
from accel.formats.registry import get, names, register, register_parser
from accel.formats.rounding import check_rounding, round_signed

ROUND_DEFAULT = "nearest_even"
_SCALE_SUFFIXES = ", ".join("_" + s for s in SCALE_FORMATS)


@dataclass(frozen=True)
class Blocks:
    """Quantized blocks: ``codes`` (n, block) element codes; ``scales`` (n,) float64; ``zeros`` (n,)
    integer zero points (w = s * (q - z)) or ``mins`` (n,) float64 (w = s * q + m), or neither."""

    codes: np.ndarray
    scales: np.ndarray
    zeros: np.ndarray | None = None
    mins: np.ndarray | None = None


class BlockScheme:
    """Mixin: dequantization and storage common to every shared-scale scheme."""

    name: str
    element: ElementFormat

    @property
    def group_size(self) -> int | None:
        return self.block_size

    def dequantize_blocks(self, b: Blocks) -> np.ndarray:
        v = self.element.decode(b.codes)
        if b.zeros is not None:
            v = v - b.zeros[:, None]
        out = b.scales[:, None] * v
        if b.mins is not None:
            out = out + b.mins[:, None]
        return out

    def check_rounding(self, rounding: str | None) -> str:
        return check_rounding(ROUND_DEFAULT if rounding is None else rounding)


def _scaled(x: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``x / scale`` per block row, 0 where the scale is 0 (all-zero or underflowed blocks)."""
    safe = np.where(scales > 0, scales, 1.0)
    return np.where(scales[:, None] > 0, x / safe[:, None], 0.0)


@dataclass(frozen=True)
class GroupScheme(BlockScheme):
    """An integer or minifloat element with one scale per ``block_size`` values along the axis.

    Scales are rounded to ``scale`` (nearest-even); a scale that underflows to 0 flushes its group to
    zero (as GGML's fp16 scales do), one that overflows raises FormatError.
    Symmetric: s = amax / element.max, w = s * q.  Asymmetric (unsigned integers): the group's range
    [min(x, 0), max(x, 0)] maps onto 0..max_int: s = (hi - lo) / max_int, integer zero point
    z = round(-lo / s), w = s * (q - z).
    ``block_size=None`` is one group over the whole axis (per-channel / per-token / per-tensor).
    """

    name: str
    element: ElementFormat
    block_size: int | None
    asym: bool = False
    scale: FloatFormat | None = None  # None: fp16

    def __post_init__(self):
        if self.scale is None:
            object.__setattr__(self, "scale", get("fp16"))
        if self.block_size is not None and self.block_size < 1:
            raise FormatError(f"{self.name!r}: group size must be a positive integer, got {self.block_size!r}; "
                              f"valid choices: g1, g2, ... (typically g32, g64, g128) or per_channel")
        if self.asym and not (isinstance(self.element, IntFormat) and not self.element.signed):
            raise FormatError(f"{self.name!r}: a zero point needs an unsigned integer element, "
                              f"got {self.element.name!r}; valid choices: {', '.join(_uint_names())}")
        if self.element.max * self.scale.min_subnormal >= 1:
            raise FormatError(f"{self.name!r}: {self.scale.name} scales cannot scale {self.element.name!r} "
                              f"(max {self.element.max!r}): a group with amax 1 would underflow; valid choices: "
                              f"a wider scale format suffix ({_SCALE_SUFFIXES})")
        if not self.asym and isinstance(self.element, IntFormat) and not self.element.signed:
            raise FormatError(f"{self.name!r}: unsigned element {self.element.name!r} needs a zero point; "
                              f"valid choices: append '_asym', or use a signed element")

    @property
    def bits_per_element(self) -> float:
        """Element bits plus the scale (and zero point) per group; whole-axis groups count element bits."""
        if self.block_size is None:
            return float(self.element.bits)
        extra = self.scale.bits + (self.element.bits if self.asym else 0)
        return self.element.bits + extra / self.block_size

    def quantize_blocks(self, x: np.ndarray, rounding: str | None = None, seed: int | None = 0) -> Blocks:
        rounding = self.check_rounding(rounding)
        el = self.element
        if self.asym:
            lo = np.minimum(x.min(axis=1), 0.0)
            hi = np.maximum(x.max(axis=1), 0.0)
            raw = (hi - lo) / el.max_int
        else:
            raw = np.abs(x).max(axis=1) / el.max
        scales = self.scale.decode(self.scale.encode(raw))
        bad = ~np.isfinite(scales) & np.isfinite(raw)
        if bad.any():
            raise FormatError(f"{self.name}: group scale {float(raw[bad][0])!r} overflows {self.scale.name}; "
                              f"valid choices: a wider scale format suffix ({_SCALE_SUFFIXES})")
        y = _scaled(x, scales)
        if self.asym:
            safe = np.where(scales > 0, scales, 1.0)
            zeros = np.where(scales > 0, np.clip(np.rint(-lo / safe), 0, el.max_int), 0).astype(np.int64)
            y = y + zeros[:, None]
            return Blocks(el.encode(y, rounding, saturate=True, seed=seed), scales, zeros=zeros)
        return Blocks(el.encode(y, rounding, saturate=True, seed=seed), scales)


def _uint_names() -> list[str]:
    return [f"uint{b}" for b in INT_BITS]


def _group_element_names() -> list[str]:
    return [n for n in names() if isinstance(obj := get(n), IntFormat) or (isinstance(obj, FloatFormat) and obj.signed)]


_GROUP_RE = re.compile(r"(?P<el>[a-z0-9_]+?)_(?:g(?P<g>\d+)|(?P<pc>per_channel))(?P<asym>_asym)?"
                       r"(?:_(?P<scale>" + "|".join(SCALE_FORMATS) + r"))?")


@functools.lru_cache(maxsize=1024)
def group_scheme(name: str) -> GroupScheme | None:
    """Parse ``ELEMENT_g<N>[_asym][_SCALE]`` or ``ELEMENT_per_channel[_asym][_SCALE]`` (None if not one; cached:
    schemes are immutable)."""
    m = _GROUP_RE.fullmatch(name)
    if m is None:
        return None
    element = get(m["el"])
    if not isinstance(element, (IntFormat, FloatFormat)) or (isinstance(element, FloatFormat) and not element.signed):
        raise FormatError(f"{name!r}: group element {m['el']!r} must be an integer or a signed minifloat; valid "
                          f"choices: {', '.join(_group_element_names())}")
    return GroupScheme(name, element, None if m["pc"] else int(m["g"]), bool(m["asym"]),
                       get(m["scale"] or "fp16"))


def _typical_group_names() -> list[str]:
    out = []
    for b in INT_BITS:
        out += [f"int{b}_g{g}" for g in (32, 64, 128)] + [f"int{b}_per_channel"]
    for b in INT_BITS:
        out += [f"uint{b}_g{g}_asym" for g in (32, 64, 128)] + [f"uint{b}_per_channel_asym"]
    return out


# ---- OCP Microscaling ------------------------------------------------------------------------------
#: E8M0 exponent range of an MX scale (also the range of BFP's 8-bit shared exponent).
MX_SCALE_EXP = (-127, 127)
#: Bias of the 8-bit shared exponent (E8M0 and BFP): the stored byte is E + 127.
EXP8_BIAS = 127


def shared_exponents(x: np.ndarray, emax: int = 0) -> np.ndarray:
    """Per row: floor(log2(max|x|)) - emax clipped to MX_SCALE_EXP; all-zero rows get the smallest exponent."""
    amax = np.abs(x).max(axis=1)
    safe = np.where(amax > 0, amax, 1.0)
    e = np.frexp(safe)[1].astype(np.int64) - 1 - emax
    return np.where(amax > 0, np.clip(e, *MX_SCALE_EXP), MX_SCALE_EXP[0])


@dataclass(frozen=True)
class MXFormat(BlockScheme):
    """OCP MX v1.0: ``block_size`` elements share an E8M0 scale X = 2**(floor(log2 amax) - emax_elem).

    Elements are round(V / X) saturated to the element's max (so a block's amax can clip, as in the
    spec); all-zero blocks get the smallest scale 2**-127, as gfloat's ``compute_scale_amax`` does.
    """

    name: str
    element: ElementFormat
    block_size: int = 32

    @property
    def scale(self) -> FloatFormat:
        return get("e8m0")

    @property
    def bits_per_element(self) -> float:
        return self.element.bits + self.scale.bits / self.block_size

    def scale_exponents(self, x: np.ndarray) -> np.ndarray:
        return shared_exponents(x, self.element.emax)

    def quantize_blocks(self, x: np.ndarray, rounding: str | None = None, seed: int | None = 0) -> Blocks:
        rounding = self.check_rounding(rounding)
        scales = np.ldexp(1.0, self.scale_exponents(x).astype(np.int32))
        return Blocks(self.element.encode(x / scales[:, None], rounding, saturate=True, seed=seed), scales)


MX_ELEMENTS = {"mxfp8_e4m3": "float8_e4m3fn", "mxfp8_e5m2": "float8_e5m2", "mxfp6_e2m3": "float6_e2m3fn",
               "mxfp6_e3m2": "float6_e3m2fn", "mxfp4": "float4_e2m1fn"}


# ---- Block floating point ----------------------------------------------------------------------
#: BFP names -> significand bits n (sign included); storage is n + 8 / block bits per element.
BFP_BITS = {"bfp12": 4, "bfp14": 6, "bfp16": 8}
BFP_BLOCKS = (16, 32, 64, 128)


@dataclass(frozen=True)
class BFPFormat(BlockScheme):
    """Block floating point (d-Matrix BFP[n|8]{b}): n-bit signed significands, one 8-bit exponent.

    E = floor(log2(max|x|)); step = 2**(E - (n - 2)); q = clip(round(x / step), -(2**(n-1) - 1),
    2**(n-1) - 1); x_hat = q * step.  ``scales`` hold the step; the stored byte is E + EXP8_BIAS.
    """

    name: str
    element: IntFormat
    block_size: int

    @property
    def bits_per_element(self) -> float:
        return self.element.bits + 8 / self.block_size

    def shared_exponents(self, x: np.ndarray) -> np.ndarray:
        return shared_exponents(x)

    def steps(self, exponents: np.ndarray) -> np.ndarray:
        """The element step 2**(E - (n - 2)) of shared exponents E."""
        return np.ldexp(1.0, (np.asarray(exponents, np.int64) - (self.element.bits - 2)).astype(np.int32))

    def exponent_bytes(self, steps: np.ndarray) -> np.ndarray:
        """The stored 8-bit shared exponents (E + 127) of element steps."""
        return np.frexp(steps)[1].astype(np.int64) - 1 + (self.element.bits - 2) + EXP8_BIAS

    def steps_from_bytes(self, stored: np.ndarray) -> np.ndarray:
        """Inverse of ``exponent_bytes``."""
        return self.steps(np.asarray(stored, np.int64) - EXP8_BIAS)

    def quantize_blocks(self, x: np.ndarray, rounding: str | None = None, seed: int | None = 0) -> Blocks:
        rounding = self.check_rounding(rounding)
        n = self.element.bits
        steps = self.steps(self.shared_exponents(x))
        y = x / steps[:, None]
        q = np.clip(round_signed(y, rounding, seed), -(2 ** (n - 1) - 1), 2 ** (n - 1) - 1)
        return Blocks(self.element.from_int(q), steps)


def _register_blocks() -> None:
    for name, el in MX_ELEMENTS.items():
        register(name, MXFormat(name, get(el)))
    register("mxint8", MXFormat("mxint8", IntFormat("int8_frac6", 8, signed=True, frac_bits=6)))
    for base, n in BFP_BITS.items():
        for b in BFP_BLOCKS:
            register(f"{base}_b{b}", BFPFormat(f"{base}_b{b}", get(f"int{n}"), b))


_register_blocks()
for _name in _typical_group_names():
    register(_name, group_scheme(_name))
register_parser(group_scheme)
