"""Two's-complement and unsigned integer formats (optionally fixed-point: value = int * 2**-frac_bits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.errors import FormatError
from accel.formats.element import ElementFormat
from accel.formats.rounding import check_rounding, round_signed


@dataclass(frozen=True)
class IntFormat(ElementFormat):
    """``bits``-bit integer; codes are the two's-complement (or unsigned) bit patterns."""

    name: str
    bits: int
    signed: bool = True
    frac_bits: int = 0

    def __post_init__(self):
        if not 1 <= self.bits <= 32:
            raise FormatError(f"{self.name!r}: integer bits must be 1..32, got {self.bits!r}")

    has_inf = False
    has_nan = False

    @property
    def min_int(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def max(self) -> float:
        return float(np.ldexp(self.max_int, -self.frac_bits))

    @property
    def min(self) -> float:
        return float(np.ldexp(self.min_int, -self.frac_bits))

    @property
    def emax(self) -> int:
        """``floor(log2(max))`` (0 for MX's int8 with 6 fraction bits)."""
        return int(np.frexp(self.max)[1]) - 1

    @property
    def min_normal(self) -> float:
        """Smallest positive value (integers have no subnormals)."""
        return float(np.ldexp(1.0, -self.frac_bits))

    min_subnormal = min_normal

    def to_int(self, codes) -> np.ndarray:
        """Integer values (int64) of ``codes``."""
        c = np.asarray(codes).astype(np.int64)
        if c.size and (c.min() < 0 or c.max() >= 2**self.bits):
            bad = c[(c < 0) | (c >= 2**self.bits)].ravel()[0]
            raise FormatError(f"{self.name}: code {int(bad)!r} does not fit in {self.bits} bits; "
                              f"valid codes: 0..{2**self.bits - 1}")
        if self.signed:
            c = np.where(c >= 2 ** (self.bits - 1), c - 2**self.bits, c)
        return c

    def from_int(self, q) -> np.ndarray:
        """Codes of integer values ``q`` (taken modulo 2**bits)."""
        return (np.asarray(q).astype(np.int64) & (2**self.bits - 1)).astype(self.code_dtype)

    def _decode_formula(self, codes) -> np.ndarray:
        return np.ldexp(self.to_int(codes).astype(np.float64), -self.frac_bits)

    def classify(self, codes) -> np.ndarray:
        return np.where(self.to_int(codes) == 0, "zero", "normal").astype("<U9")

    def encode(self, x, rounding: str = "nearest_even", saturate: bool | None = None,
               seed: int | None = 0) -> np.ndarray:
        """Round ``x * 2**frac_bits`` to an integer and return its codes.

        ``saturate`` (default) clamps to [min_int, max_int]; ``saturate=False`` wraps modulo 2**bits,
        as a C cast and ml_dtypes' int4 cast do.  NaN raises FormatError (no NaN code); so does an
        infinite input when wrapping.
        """
        check_rounding(rounding)
        sat = True if saturate is None else bool(saturate)
        x = np.asarray(x, dtype=np.float64)
        if np.isnan(x).any():
            raise FormatError(f"{self.name}: cannot encode NaN, integer formats have no NaN code")
        if not sat and np.isinf(x).any():
            raise FormatError(f"{self.name}: cannot wrap an infinite input; valid choices: saturate=True or None")
        q = round_signed(x * 2.0**self.frac_bits if self.frac_bits else x, rounding, seed)
        if sat:
            q = np.clip(q, self.min_int, self.max_int)
        else:
            q = np.mod(q, 2.0**self.bits)
        return self.from_int(q)
