"""Grids of PE configurations that differ in the element format only (for the minifloat-vs-integer claim).

Every configuration is the same ``minifloat_mac`` (per-token activation and per-channel weight FP32 scales,
exact products, FP32 accumulation, one dequantization per output), with equal weight and activation
element formats of one bit width: the signed integer of that width and the ExMy minifloats (sign + E + M
bits, saturating, subnormals) whose exponent field is 2 to 5 bits wide.  ExMy with E = 1 is left out: with
subnormals it is a uniform grid, an integer format with one level fewer; E > 5 spends the bits on range
that per-channel scales already give.
"""

from __future__ import annotations

from accel.errors import ConfigError, short_repr

WIDTHS = tuple(range(3, 9))
EXPONENT_BITS = (2, 3, 4, 5)


def element_formats(width: int, exponent_bits=EXPONENT_BITS) -> list[str]:
    """The integer format of ``width`` bits, then the ExMy minifloats of that width with E in ``exponent_bits``."""
    if not isinstance(width, int) or isinstance(width, bool) or not 3 <= width <= 8:
        raise ConfigError(f"element width must be an integer in 3..8 bits, got {short_repr(width)}")
    return [f"int{width}"] + [f"e{e}m{width - 1 - e}" for e in exponent_bits if 0 <= width - 1 - e]


def element_format_pes(widths=WIDTHS, exponent_bits=EXPONENT_BITS, *, accumulate: str = "fp32"
                       ) -> dict[int, list[str]]:
    """Canonical PE spec strings per element width: ``minifloat_mac`` with weight format = activation format,
    everything else equal (see the module docstring)."""
    from accel import pe

    return {w: [pe.get("minifloat_mac", act_format=f, weight_format=f, accumulate=accumulate).to_string()
                for f in element_formats(w, exponent_bits)] for w in widths}
