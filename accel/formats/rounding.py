"""Rounding modes shared by every format: one definition of how a magnitude becomes an integer."""

from __future__ import annotations

import numpy as np

from accel.errors import FormatError

#: Every rounding mode, in the order the CLI and error messages list them.
ROUNDING_MODES = ("nearest_even", "nearest_away", "toward_zero", "stochastic")

#: Random bits per value for stochastic rounding (gfloat's ``srnumbits``).
STOCHASTIC_BITS = 16


def check_rounding(rounding: str) -> str:
    """Return ``rounding`` if it is a known mode, else raise FormatError listing the modes."""
    if rounding not in ROUNDING_MODES:
        raise FormatError(f"unknown rounding mode {rounding!r}; valid choices: {', '.join(ROUNDING_MODES)}")
    return rounding


def stochastic_bits(shape: tuple[int, ...], seed: int | None) -> np.ndarray:
    """The random integers in ``[0, 2**STOCHASTIC_BITS)`` that stochastic rounding with ``seed`` uses."""
    return np.random.default_rng(seed).integers(0, 2**STOCHASTIC_BITS, size=shape, dtype=np.int64)


def round_magnitude(a: np.ndarray, rounding: str, seed: int | None = 0) -> np.ndarray:
    """Round non-negative float64 ``a`` to integer-valued float64 with ``rounding``.

    Stochastic rounding follows gfloat's ``RoundMode.Stochastic``: the fraction is first rounded
    (ties to even) to STOCHASTIC_BITS bits, then the value rounds away from zero when
    ``fraction + r >= 2**STOCHASTIC_BITS`` with ``r = stochastic_bits(a.shape, seed)``.
    """
    check_rounding(rounding)
    if rounding == "nearest_even":
        return np.rint(a)
    if rounding == "toward_zero":
        return np.floor(a)
    floor = np.floor(a)
    frac = a - floor
    if rounding == "nearest_away":
        return floor + (frac >= 0.5)
    scaled = np.rint(np.ldexp(frac, STOCHASTIC_BITS))
    away = scaled + stochastic_bits(np.shape(a), seed) >= 2**STOCHASTIC_BITS
    return floor + away


def round_signed(y: np.ndarray, rounding: str, seed: int | None = 0) -> np.ndarray:
    """Round signed float64 ``y`` to integers: ``sign(y) * round_magnitude(|y|)`` (the modes are symmetric)."""
    check_rounding(rounding)
    if rounding == "nearest_even":
        return np.rint(y)
    if rounding == "toward_zero":
        return np.trunc(y)
    return np.copysign(round_magnitude(np.abs(y), rounding, seed), y)
