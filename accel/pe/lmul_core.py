"""L-Mul approximate multiplication (arXiv 2410.00907, "Addition is All You Need"), two realisations.

For x = (1 + x_m) 2^x_e and y = (1 + y_m) 2^y_e with m explicit mantissa bits:
- ``formula``: L(x, y) = (1 + x_m + y_m + 2^-l(m)) 2^(x_e + y_e), sign = xor; l(m) = m (m <= 3), 3 (m = 4),
  4 (m > 4).  The significand may reach [2, 3): the value is kept as is.
- ``adder``: one integer add of the exponent|mantissa fields plus the constant 2^(m - l) mantissa LSBs;
  a carry out of the mantissa field increments the exponent, so when s = x_m + y_m + 2^-l >= 1 the result is
  s 2^(x_e + y_e + 1) instead of (1 + s) 2^(x_e + y_e): different whenever s > 1.
Zero operands give zero.  Operands are taken in normalised form (any nonzero value with at most m+1
significant bits, subnormals included, is (1 + f) 2^e exactly); the exponent sum is unbounded here (the
PE holds products in FP32).
"""

from __future__ import annotations

import numpy as np

from accel.errors import ConfigError

REALISATIONS = ("formula", "adder")


def l_of_m(m: int) -> int:
    return m if m <= 3 else (3 if m == 4 else 4)


def normalise(x: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sign, exponent e, mantissa field f as an integer in [0, 2^m)) with |x| = (1 + f 2^-m) 2^e."""
    x = np.asarray(x, dtype=np.float64)
    fr, ex = np.frexp(np.abs(x))  # |x| = fr 2^ex, fr in [0.5, 1)
    e = ex - 1
    f = np.ldexp(fr, 1 + m) - 2.0**m
    return np.signbit(x), e.astype(np.int64), f


def lmul(x, y, m: int, realisation: str = "formula") -> np.ndarray:
    """L-Mul of arrays x, y whose values have at most m mantissa bits (float64 result, exact)."""
    if realisation not in REALISATIONS:
        raise ConfigError(f"unknown L-Mul realisation {realisation!r}; valid choices: {', '.join(REALISATIONS)}")
    sx, ex, fx = normalise(x, m)
    sy, ey, fy = normalise(y, m)
    l = l_of_m(m)
    F = fx + fy + 2.0 ** (m - l)  # mantissa-field sum in LSB units, offset included
    if realisation == "formula":
        mag = np.ldexp(1.0 + np.ldexp(F, -m), ex + ey)
    else:
        carry = np.floor(np.ldexp(F, -m))
        mag = np.ldexp(1.0 + np.ldexp(F - np.ldexp(carry, m), -m), ex + ey + carry.astype(np.int64))
    zero = (np.asarray(x) == 0) | (np.asarray(y) == 0)
    return np.where(zero, 0.0, np.where(sx ^ sy, -mag, mag))


def round_mantissa(x, m: int) -> np.ndarray:
    """Round to m explicit mantissa bits (nearest-even) with an unbounded exponent."""
    x = np.asarray(x, dtype=np.float64)
    fr, ex = np.frexp(x)
    return np.ldexp(np.rint(np.ldexp(fr, m + 1)), ex - m - 1)
