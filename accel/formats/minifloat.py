"""Binary floating-point formats (sign, E exponent bits, M mantissa bits), described parametrically.

One dataclass covers IEEE-like formats, the OCP/ml_dtypes ``fn`` and ``fnuz`` families, all-finite
(Brevitas-style, FP6/FP4) minifloats and the unsigned E8M0 scale format; max, tiny values, codes and
classes are all derived from (E, M, bias, specials, signed, subnormals).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from accel.errors import FormatError
from accel.formats.element import ElementFormat
from accel.formats.rounding import check_rounding, round_magnitude

#: Special-value policies:
#:  ieee   - the all-ones exponent holds Inf (mantissa 0) and NaNs (mantissa != 0);
#:  fn     - finite; NaN only at the all-ones magnitude code (OCP E4M3: S.1111.111);
#:  fnuz   - finite; one NaN at the negative-zero code (0x80...), no negative zero;
#:  finite - every code is a finite number (no Inf, no NaN): overflow can only saturate.
SPECIALS = ("ieee", "fn", "fnuz", "finite")


@dataclass(frozen=True)
class FloatFormat(ElementFormat):
    """A minifloat (or wider float) format.

    ``subnormals=False`` means the exponent field 0 is an ordinary binade (no zero code), as in E8M0.
    """

    name: str
    ebits: int
    mbits: int
    bias: int
    specials: str = "ieee"
    signed: bool = True
    subnormals: bool = True

    def __post_init__(self):
        if self.ebits < 1:
            raise FormatError(f"{self.name!r}: exponent bits must be >= 1, got {self.ebits!r}")
        if self.mbits < 0:
            raise FormatError(f"{self.name!r}: mantissa bits must be >= 0, got {self.mbits!r}")
        if self.specials not in SPECIALS:
            raise FormatError(f"{self.name!r}: unknown specials {self.specials!r}; valid choices: "
                              f"{', '.join(SPECIALS)}")
        if self.specials == "fnuz" and not self.signed:
            raise FormatError(f"{self.name!r}: 'fnuz' needs a sign bit (its NaN is the negative-zero code)")
        if self.specials == "ieee" and self.mbits == 0:
            raise FormatError(f"{self.name!r}: 'ieee' specials need >= 1 mantissa bit to encode NaN")

    # ---- derived description -------------------------------------------------------------------
    @property
    def bits(self) -> int:
        return int(self.signed) + self.ebits + self.mbits

    @property
    def has_inf(self) -> bool:
        return self.specials == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.specials != "finite"

    @property
    def has_zero(self) -> bool:
        return self.subnormals

    @property
    def has_negative_zero(self) -> bool:
        return self.signed and self.has_zero and self.specials != "fnuz"

    @property
    def _mag_bits(self) -> int:
        return self.ebits + self.mbits

    @property
    def emin(self) -> int:
        """Exponent of the lowest binade (the subnormal step is ``2**(emin - mbits)``)."""
        return 1 - self.bias if self.subnormals else -self.bias

    @property
    def max_code(self) -> int:
        """Magnitude code of the largest finite value."""
        top = 2**self._mag_bits - 1
        return {"ieee": top - 2**self.mbits, "fn": top - 1, "fnuz": top, "finite": top}[self.specials]

    @functools.cached_property
    def max(self) -> float:
        return float(self._magnitude_value(np.array([self.max_code], dtype=np.uint64))[0])

    @property
    def emax(self) -> int:
        """``floor(log2(max))``: the element exponent OCP MX scales are derived from."""
        return int(np.frexp(self.max)[1]) - 1

    @property
    def min_normal(self) -> float:
        return float(np.ldexp(1.0, self.emin))

    @property
    def min_subnormal(self) -> float:
        """Smallest positive value (equals ``min_normal`` when there are no subnormals)."""
        if self.subnormals and self.mbits > 0:
            return float(np.ldexp(1.0, self.emin - self.mbits))
        return self.min_normal

    @property
    def nan_code(self) -> int | None:
        """The canonical (positive, quiet) NaN code, or None."""
        if self.specials == "ieee":
            return ((2**self.ebits - 1) << self.mbits) | (1 << (self.mbits - 1))
        if self.specials == "fn":
            return 2**self._mag_bits - 1
        if self.specials == "fnuz":
            return 1 << self._mag_bits
        return None

    # ---- decode --------------------------------------------------------------------------------
    def _magnitude_value(self, mag: np.ndarray) -> np.ndarray:
        field = (mag >> np.uint64(self.mbits)).astype(np.int64)
        mant = (mag & np.uint64(2**self.mbits - 1)).astype(np.float64)
        if self.subnormals:
            normal = field > 0
            sig = np.where(normal, mant + 2**self.mbits, mant)
            exp = np.where(normal, field, 1) - self.bias - self.mbits
        else:
            sig = mant + 2**self.mbits
            exp = field - self.bias - self.mbits
        return np.ldexp(sig, exp.astype(np.int32))

    def _split(self, codes) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(codes).astype(np.uint64)
        if np.any(c >> np.uint64(self.bits)):
            bad = c[(c >> np.uint64(self.bits)) != 0].ravel()[0]
            raise FormatError(f"{self.name}: code {int(bad)!r} does not fit in {self.bits} bits; "
                              f"valid codes: 0..{2**self.bits - 1}")
        sign = (c >> np.uint64(self._mag_bits)) & np.uint64(1) if self.signed else np.zeros_like(c)
        return sign.astype(bool), c & np.uint64(2**self._mag_bits - 1)

    def _special_masks(self, sign: np.ndarray, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(is_nan, is_inf) for split codes."""
        top_field = (mag >> np.uint64(self.mbits)) == 2**self.ebits - 1
        mant = mag & np.uint64(2**self.mbits - 1)
        none = np.zeros(mag.shape, bool)
        if self.specials == "ieee":
            return top_field & (mant != 0), top_field & (mant == 0)
        if self.specials == "fn":
            return mag == 2**self._mag_bits - 1, none
        if self.specials == "fnuz":
            return sign & (mag == 0), none
        return none, none

    def _decode_formula(self, codes) -> np.ndarray:
        sign, mag = self._split(codes)
        value = self._magnitude_value(mag)
        is_nan, is_inf = self._special_masks(sign, mag)
        value = np.where(is_inf, np.inf, value)
        value = np.where(sign, -value, value)
        return np.where(is_nan, np.nan, value)

    def classify(self, codes) -> np.ndarray:
        sign, mag = self._split(codes)
        is_nan, is_inf = self._special_masks(sign, mag)
        field = mag >> np.uint64(self.mbits)
        out = np.where(field > 0, "normal", "subnormal").astype("<U9")
        if self.subnormals:
            out[mag == 0] = "zero"
        else:
            out[:] = "normal"
        out[is_inf] = "inf"
        out[is_nan] = "nan"
        return out

    # ---- encode --------------------------------------------------------------------------------
    def default_saturate(self) -> bool:
        """Overflow policy when ``saturate=None``: clamp only when there is no Inf/NaN to go to."""
        return self.specials == "finite"

    def encode(self, x, rounding: str = "nearest_even", saturate: bool | None = None,
               seed: int | None = 0) -> np.ndarray:
        """Round ``x`` to this format and return its codes.

        Overflow (a rounded magnitude above ``max``, or an infinite input): with ``saturate`` it
        clamps to +-max; without, it becomes Inf (ieee) or NaN (fn, fnuz).  ``saturate=None`` picks
        ``default_saturate()`` (so float8_e4m3fn overflows to NaN, as ml_dtypes does).  Rounding toward
        zero never overflows a finite input (IEEE 754).  A format without Inf/NaN always saturates;
        asking it not to, or giving it a NaN, raises FormatError.  Unsigned formats turn negative
        inputs into NaN; formats without a zero code turn 0 into NaN and tiny values into the
        smallest value.  ``seed`` drives stochastic rounding only.
        """
        check_rounding(rounding)
        sat = self.default_saturate() if saturate is None else bool(saturate)
        if not self.has_nan and not sat:
            raise FormatError(f"{self.name}: saturate=False needs an Inf or NaN code to overflow to, and this "
                              f"format has none; valid choices: saturate=True or None")
        x = np.asarray(x, dtype=np.float64)
        sign = np.signbit(x)
        a = np.abs(x)
        is_nan = np.isnan(x)
        if not self.has_nan and is_nan.any():
            raise FormatError(f"{self.name}: cannot encode NaN, the format has no NaN code "
                              f"(ml_dtypes silently gives -0.0 here)")
        # Binade of |x| straight from the float64 exponent field (-1023 for 0, 1024 for Inf/NaN).
        binade = (a.view(np.uint64) >> np.uint64(52)).astype(np.int64) - 1023
        finite = binade < 1024
        exp = np.clip(binade, self.emin, 2**self.ebits - self.bias)
        q = a * _exp2(self.mbits - exp)  # exact: the significand in units of the binade's step
        q = np.fmin(q, 2.0 ** (self.mbits + 2))  # bounds Inf/huge inputs (still overflow); fmin drops NaN
        r = round_magnitude(q, rounding, seed)
        if self.mbits == 0 and rounding == "nearest_even":
            # The significand is 1 bit, so "even" refers to the exponent field: 1.5 * 2**e ties to the
            # power of two whose field is even (gfloat's rule; ml_dtypes always rounds such ties up).
            floor = np.floor(q)
            odd_field = (floor == 1) & ((exp + self.bias) % 2 == 1)
            r = np.where(q - floor == 0.5, floor + odd_field, r)
        # Codes are monotonic in the magnitude: code = (exp - emin) * 2**M + r (shifted by one binade
        # without subnormals), so a carry into the next binade and overflow need no special case.
        mag = r.astype(np.int64) + ((exp - self.emin - (0 if self.subnormals else 1)) << self.mbits)
        if not self.has_zero:
            mag = np.maximum(mag, 0)  # tiny values become the smallest value
        over = mag > self.max_code
        if sat or (rounding == "toward_zero"):
            mag = np.where(over & (finite | sat), self.max_code, mag)
            over = over & ~(finite | sat)
        if self.has_inf:
            mag = np.where(over, (2**self.ebits - 1) << self.mbits, mag)
        nan = is_nan | (over if not self.has_inf else False)
        if not self.signed:
            nan = nan | (sign & (a > 0))
        if not self.has_zero:
            nan = nan | (a == 0)
        if not self.has_nan and nan.any():
            raise FormatError(f"{self.name}: negative input to an unsigned format without a NaN code")
        if self.has_nan:
            mag = np.where(nan, self.nan_code & (2**self._mag_bits - 1), mag)
        code = mag
        if self.signed:
            # fnuz has no negative zero, and its single NaN is the negative-zero code.
            neg = sign & (mag != 0) if self.specials == "fnuz" else sign
            code = code | (neg.astype(np.int64) << self._mag_bits)
            if self.specials == "fnuz":
                code = np.where(nan, self.nan_code, code)
        return code.astype(self.code_dtype)


def _exp2(k: np.ndarray) -> np.ndarray:
    """2.0 ** k for integer arrays with -1022 <= k <= 1023, built from the exponent field (fast, exact)."""
    return ((k + 1023).astype(np.uint64) << np.uint64(52)).view(np.float64)
