"""Structural LUT count of each operator (target-independent; see :mod:`cost_models.fpga.model` for the laws) and
the parts a composite operator is calibrated as.
"""

from __future__ import annotations

from accel.errors import ConfigError
from cost_models.operators import (
    ADDER_KINDS,
    CONVERT_FIXED_FA,
    CONVERT_FIXED_MUX,
    macc_parts,
    operand,
    shift_muxes,
    split_key,
)

#: The FPGA families with a LUT model.
TARGETS = ("xc7", "ice40")


def _shift(w: int, p: int | None = None) -> float:
    return shift_muxes(w, p) / 2


def _mul(a: int, b: int) -> float:
    return max(min(a, b) - 1, 1) * max(a, b)


def structural_luts(key: str) -> float:
    """Target-independent structural LUT count of one operator instance for an activity key."""
    kind, ops = split_key(key)
    if kind == "macc":
        return sum(structural_luts(p) for p in macc_parts(key))
    o = [operand(x) for x in ops]
    w = max(x.bits for x in o)
    if kind in ADDER_KINDS:
        return float(w)
    if kind == "sext":
        return float(o[0].bits * o[1].bits)
    if kind in ("clamp", "gate", "macc_gate"):
        return float(w)
    if kind == "int_mul":
        return _mul(o[0].bits, o[-1].bits)
    if kind == "shift_add_mul":
        return o[-1].bits * (o[0].bits + o[-1].bits)
    if kind == "shift":
        return _shift(o[0].bits, o[1].bits if len(o) > 1 else None)
    if kind == "kulisch_add":
        return _shift(w) + w
    if kind == "convert":
        return _shift(w) + w + CONVERT_FIXED_FA + CONVERT_FIXED_MUX / 2
    if kind in ("fp_mul", "dequant_mul"):
        a, b = o[0], o[-1]
        e, m = max(a.ebits, b.ebits), max(a.significand_bits, b.significand_bits) - 1
        pa, pb = a.significand_bits, b.significand_bits
        norm = sum(_shift(x.significand_bits) + x.significand_bits for x in (a, b) if x.is_float)  # integers: none
        return _mul(pa, pb) + (e + 2) + (m + 2) + norm + _shift(m + 3) + (e + m) + (e + 2)
    if kind in ("fp_add", "dequant_add"):
        f = max(o, key=lambda x: (x.ebits, x.mbits))
        e, m = (f.ebits, f.mbits) if f.is_float else (8, 23)
        return 2 * _shift(m + 4) + (e + 1) + (m + 4) + (m + 2) + (m + 4)
    if kind == "acc_overflow":
        return 0.0
    raise ConfigError(f"no FPGA structural model for activity kind {kind!r}")


def family_of(key: str) -> str:
    kind, _ = split_key(key)
    return {"dequant_mul": "fp_mul", "dequant_add": "fp_add", "negate": "int_add"}.get(kind, kind)


def parts(key: str) -> tuple[str, ...]:
    """The operator as calibrated parts: ``kulisch_add:w`` is an alignment ``shift:w`` plus an ``int_add:w``; a
    fused ``macc`` is its multiplier, adder and sign-extension rows (:func:`cost_models.operators.macc_parts`);
    each part priced with its own family's factor.  ``convert:w`` (fixed point -> binary32: leading-zero count,
    normalising shift, rounding, exponent and range logic) is its own family, calibrated on synthesised converters."""
    kind, ops = split_key(key)
    if kind == "kulisch_add":
        w = max(operand(x).bits for x in ops)
        return (f"shift:{w}", f"int_add:{w}")
    if kind == "macc":
        return macc_parts(key)
    return (key,)
