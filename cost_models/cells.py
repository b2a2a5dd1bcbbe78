"""Structural area: an operator as standard cells (AND2, full adder, MUX2, DFF) times the table's cell areas.

The second, independent area model (the first is the anchored width laws of :mod:`cost_models.operators`).
It follows gate-level structure, so it tracks how synthesis grows with width; it is what the ASIC
calibration (:mod:`cost_models.fpga.calibration`) validates against synthesised NAND2-equivalents.

Cell counts (w = width, P = significand bits = mantissa + 1):
  adder-like (int_add, exp_add, lmul_add, cmp): w FA;  negate W: W MUX2 + W AND2;  kulisch_add(w): shift(w) + w FA
  int_mul a x b (array): a*b AND2 + (min(a,b) - 1) * max(a,b) FA
  shift_add_mul a x w: a*w AND2 (bit selects) + (w - 1) * (a + w) FA (one adder per weight bit after the
    first, growing with the shifted copy)
  shift(w): w * ceil(log2 w) MUX2 (shift:PxR: a P-bit value at offsets 0..R, operators.shift_muxes)
  convert(w) (to binary32): shift(w) + w FA (leading zeros) + 45 FA (rounding, exponent) + 32 MUX2 (result)
  fp_mul: int_mul(Pa, Pb) + (E + 2) FA exponent add + (M + 2) MUX2 normalisation + (M + 2) FA rounding
  fp_add: 2 * shift(M + 4) + (E + 1) + (M + 4) + (M + 2) FA
  macc AxBxW (fused multiply-accumulate, A >= B): int_mul(A, B) + int_add(W) + sext((B - 1) x (W - A - B))
  sext RxC: R x C FA (R partial-product rows sign-extended over C columns above the product, as Yosys'
    maccmap sums them; synthesis shares part of them, which the family factor measures)
  clamp W: W MUX2 (a select per bit; the overflow test is the top two bits of the (W + 1)-bit sum)
  gate W, macc_gate W: W AND2 (an accumulator's restart to 0)
  registers: one DFF per bit
"""

from __future__ import annotations

from collections import Counter

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
from cost_models.tables import CostTable, get_table

CELL_KEYS = {"and2": "and2_um2", "fa": "full_adder_um2", "mux2": "mux2_um2", "dff": "dff_um2"}


def _shift(w: int, p: int | None = None) -> Counter:
    return Counter({"mux2": shift_muxes(w, p)}) if w > 1 else Counter()


def _mul(a: int, b: int) -> Counter:
    return Counter({"and2": a * b, "fa": (min(a, b) - 1) * max(a, b)})


def cells(key: str) -> Counter:
    """Standard-cell counts of one operator instance for an activity key."""
    kind, ops = split_key(key)
    if kind == "macc":
        return sum((cells(p) for p in macc_parts(key)), Counter())
    o = [operand(x) for x in ops]
    w = max(x.bits for x in o)
    if kind == "negate":  # a conditional invert (XOR ~ MUX2) + an incrementer's carry chain (AND2), no full adders
        return Counter({"mux2": w, "and2": w})
    if kind in ADDER_KINDS:
        return Counter({"fa": w})
    if kind == "sext":
        return Counter({"fa": o[0].bits * o[1].bits})
    if kind == "clamp":
        return Counter({"mux2": w})
    if kind in ("gate", "macc_gate"):
        return Counter({"and2": w})
    if kind == "int_mul":
        return _mul(o[0].bits, o[-1].bits)
    if kind == "shift_add_mul":
        a, b = o[0].bits, o[-1].bits
        return Counter({"and2": a * b, "fa": max(b - 1, 1) * (a + b)})
    if kind == "shift":
        return _shift(o[0].bits, o[1].bits if len(o) > 1 else None)
    if kind == "kulisch_add":
        return _shift(w) + Counter({"fa": w})
    if kind == "convert":
        return _shift(w) + Counter({"fa": w + CONVERT_FIXED_FA, "mux2": CONVERT_FIXED_MUX})
    if kind in ("fp_mul", "dequant_mul"):
        a, b = o[0], o[-1]
        e, m = max(a.ebits, b.ebits), max(a.significand_bits, b.significand_bits) - 1
        return _mul(a.significand_bits, b.significand_bits) + Counter({"fa": (e + 2) + (m + 2), "mux2": m + 2})
    if kind in ("fp_add", "dequant_add"):
        f = max(o, key=lambda x: (x.ebits, x.mbits))
        e, m = (f.ebits, f.mbits) if f.is_float else (8, 23)
        return _shift(m + 4) + _shift(m + 4) + Counter({"fa": (e + 1) + (m + 4) + (m + 2)})
    if kind == "acc_overflow":
        return Counter()
    raise ConfigError(f"no structural cell model for activity kind {kind!r}")


def area_um2(counts: Counter, table: CostTable | str = "horowitz45") -> float:
    """Area of the given cell counts with the table's cell areas (node scaling applied)."""
    t = get_table(table) if isinstance(table, str) else table
    return sum(n * t.cells[CELL_KEYS[c]].value for c, n in counts.items()) * t.area_scale


def structural_ge(keys, register_bits: int = 0, table: CostTable | str = "horowitz45") -> float:
    """NAND2-equivalents of a block made of the given operators and registers."""
    t = get_table(table) if isinstance(table, str) else table
    total = sum((cells(k) for k in keys), Counter()) + Counter({"dff": register_bits})
    return area_um2(total, t) / (t.cells["nand2_um2"].value * t.area_scale)
