"""DSP blocks per operator when the FPGA flow may use them (:mod:`cost_models.fpga.model` models LUT-only mapping).

Yosys maps every multiply of at least 2 x 2 bits (a ``$mul``, or the multiply of a fused ``$macc``) onto the
target's hard multipliers, tiling wider ones (techmap ``mul2dsp``), as measured by synthesis:

- XC7 ``DSP48E1``: 25 x 18 signed (the wider operand on the 25-bit port).  A wider operand is split into unsigned
  low pieces one bit narrower (24, 17 bits) and a signed top piece; an unsigned operand needs one more bit.
  Products narrower than 9 bits stay in LUTs (a 4 x 4 significand product is never a DSP).
- ECP5 ``MULT18X18D``: 18 x 18, signed or unsigned, split into 18-bit pieces; a top piece narrower than 2
  bits stays in LUTs (19 x 18: one DSP and 18 LUTs).
- iCE40 HX/LP: no DSPs (``synth_ice40`` without ``-dsp``).

Multiplies counted: ``int_mul`` A x B (signed unless a ``uint`` operand), a ``macc``'s multiplier, a float
multiply's significand product (``fp_mul``/``dequant_mul``: unsigned P_a x P_b; an integer operand of a weight
dequant multiply is its code magnitude).  Shift-add multipliers, L-Mul adders, adders and shifters: none.
Validated (:func:`cost_models.fpga.blocks.dsp_validation`) against synthesis with DSPs allowed: width probes and
PEs on XC7 and ECP5 (``data/synth_sweep.yaml``, ``dsp_blocks``) and every ECP5 row of ``rtl/reports/synth_table.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost_models.operators import macc_parts, operand, split_key


@dataclass(frozen=True)
class DspTile:
    """One hard multiplier: its port widths, whether it is signed only, and the narrowest product it takes."""

    a_bits: int
    b_bits: int
    signed_only: bool
    min_product_bits: int
    primitive: str


DSP_TARGETS = {"xc7": DspTile(25, 18, True, 9, "DSP48E1"), "ecp5": DspTile(18, 18, False, 0, "MULT18X18D")}
MIN_OPERAND_BITS = 2


def _pieces(bits: int, port: int, signed_only: bool) -> int:
    """Hard multipliers along one operand: low pieces of ``port`` bits (``port - 1`` when the DSP is signed only, as
    a low piece is unsigned) until the signed top fits the port; a top piece under 2 bits stays in LUTs."""
    if bits <= port:
        return 1
    low = port - 1 if signed_only else port
    top = bits - low * math.ceil((bits - port) / low)
    return math.ceil((bits - port) / low) + (1 if top >= MIN_OPERAND_BITS else 0)


def multiplies(key: str) -> list[tuple[int, int, bool]]:
    """The multiplies in one operator instance: (a bits, b bits, unsigned)."""
    kind, ops = split_key(key)
    if kind == "macc":
        return multiplies(macc_parts(key)[0])
    o = [operand(x) for x in ops]
    if kind == "int_mul":
        return [(o[0].bits, o[-1].bits, all(x.tag.startswith("uint") for x in (o[0], o[-1])))]
    if kind in ("fp_mul", "dequant_mul"):
        return [(o[0].significand_bits, o[-1].significand_bits, True)]
    return []


def dsps(key: str, target: str) -> int:
    """Hard multipliers one operator instance takes on ``target`` (0 on targets without DSPs)."""
    tile = DSP_TARGETS.get(target)
    if tile is None:
        return 0
    n = 0
    for a, b, unsigned in multiplies(key):
        if min(a, b) < MIN_OPERAND_BITS or a + b < tile.min_product_bits:
            continue
        extra = 1 if unsigned and tile.signed_only else 0
        wide, narrow = max(a, b) + extra, min(a, b) + extra
        n += _pieces(wide, tile.a_bits, tile.signed_only) * _pieces(narrow, tile.b_bits, tile.signed_only)
    return n


def block_dsps(ops, target: str) -> int:
    return sum(dsps(k, target) for k in ops)

