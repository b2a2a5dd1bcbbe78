"""Energy (pJ) and area (um^2) of arithmetic operators of any width, priced from a cost table.

Width scaling laws (each passes exactly through the table's two anchors and is monotone
non-decreasing in every width; property-tested):

- ``int_add(w)``: power law in w through the 8- and 32-bit anchors (Horowitz: energy exponent 0.87,
  area 0.96; "about linear").
- ``int_mul(a, b)``: power law in the partial-product count a*b through the 8x8 and 32x32 anchors
  (energy exponent 0.99 per a*b, i.e. 1.98 per width for squares; area 0.91).
- ``shift(w)``: barrel shifter, w*ceil(log2 w) 2:1 muxes, one mux priced at mux2/full-adder cell area
  ratio (Nangate 45 nm) times one bit-slice of ``int_add(w)``; ``shift:PxR`` (a P-bit value placed at
  offsets 0..R, e.g. an exact product on its fixed-point grid): a log shifter whose rows grow from P bits
  (:func:`shift_muxes`).
- ``shift_add_mul(a, w)``: (w - 1) adders of a bits (one per weight bit after the first; the MSB term
  of a two's-complement weight is a subtract, same adder).  It lands within 0-20% of ``int_mul`` at
  8x8 and 32x32 (tested), as an array multiplier is itself a shift-and-add structure.
- ``fp_mul(ExMy x ExMy)``: structural cost S = significand product int_mul(Ma+1, Mb+1) + exponent add
  int_add(max E + 2) + normalisation (a row of max M + 2 muxes) + rounding increment int_add(max M + 2);
  energy and area are a power law in S through the fp16 and fp32 anchors (:meth:`fp_breakdown` splits
  a price over these components).
- ``fp_add(ExMy)``: S = alignment and normalisation shifters 2*shift(M + 4) + exponent difference
  int_add(E + 1) + significand add int_add(M + 4) + rounding int_add(M + 2); power law in S through
  the fp16 and fp32 anchors.
- ``exp_add(E)``, ``lmul_add(w)``, ``cmp(w)``: one integer adder of that width (an L-Mul is a single
  add over the exponent|mantissa fields; a comparator is a subtractor).
- ``kulisch_add(w)``: an exact fixed-point accumulation = alignment ``shift(w)`` (placing the product
  at its exponent) + ``int_add(w)``.
- ``convert(w)``: leading-zero normalisation shift(w) + rounding int_add(w).
- ``register(bits)``: bits * DFF cell area; energy per written bit from the table.
- ``dequant_mul:F`` / ``dequant_add:F``: fp_mul(F x F) / fp_add(F).
- ``acc_overflow``: an event count, not hardware: zero cost.

Hardware kinds (:data:`HARDWARE_KINDS`; units of a PE's datapath, never activity counts):

- ``macc:AxBxW``: ``acc + a * b`` at the accumulator width W fused into one operator, as Yosys'
  ``alumacc``/``maccmap`` build it; priced as int_mul(A, B) + int_add(W).
- ``gate:W``: an accumulator's restart gate (``Mux(first, 0, acc)``): W AND gates; priced as a mux row.
- ``macc_gate:W``: the same gate in front of a fused MAC: its AND row enters the ``$macc`` adder tree instead
  of an adder's carry-chain LUTs, which FPGA mapping treats differently; same cells, its own calibration.
- ``negate:W``: a conditional two's-complement negate of a W-bit sign-magnitude product (exact float products
  are sign-magnitude): one W-bit adder, calibrated with ``int_add``.
- ``clamp:W``: saturation of a (W + 1)-bit sum to W bits (two compares against the limits and a
  select per bit); priced as a row of W 2:1 muxes (the compares are constant and fold in an ASIC).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from accel.activity import KINDS, parse_key
from accel.errors import ConfigError
from cost_models.tables import CostTable, get_table

#: Float format tags understood without the accel.formats registry: name -> (ebits, mbits).
FLOAT_TAGS = {"fp32": (8, 23), "float32": (8, 23), "fp16": (5, 10), "float16": (5, 10),
              "bf16": (8, 7), "bfloat16": (8, 7), "tf32": (8, 10)}
_EXMY = re.compile(r"(?:^|_|float\d+_)e(\d+)m(\d+)")
_INT = re.compile(r"^u?int(\d+)$")

#: Kinds of datapath units that are not activity kinds (see the module docstring).
HARDWARE_KINDS = {
    "macc": "fused multiply-accumulate acc + a x b at the accumulator width (Yosys $macc), a x b x W bits",
    "clamp": "saturation of a (W + 1)-bit sum to W bits: compares against the limits + a select per bit",
    "gate": "restart gate of an accumulator of W bits: an AND per bit (a group's first beat starts from 0)",
    "macc_gate": "restart gate of a fused MAC's W-bit accumulator: an AND per bit feeding the $macc adder tree",
    "sext": "the sign-extension part of a macc: R partial-product rows extended over C columns above the product",
    "negate": "sign application of a W-bit sign-magnitude value to two's complement: a conditional negate (an adder)",
}

#: A conversion of a W-bit fixed-point magnitude to binary32, beyond its normalising shift(W) and W-bit leading-zero
#: count: the 25-bit rounding increment + two 10-bit exponent adds (full adders) and the 32-bit result select (muxes).
CONVERT_FIXED_FA, CONVERT_FIXED_MUX = 25 + 2 * 10, 32

#: Kinds built as one W-bit adder (same structure and family factor as ``int_add``; ``negate`` is priced as one).
ADDER_KINDS = ("int_add", "exp_add", "lmul_add", "cmp", "negate")


def macc_parts(key: str) -> tuple[str, ...]:
    """``macc:AxBxW`` as parts: the multiplier ``int_mul:AxB``, the accumulate adder ``int_add:W`` and, when W
    exceeds the product width, ``sext:RxC``: Yosys' ``maccmap`` sums the B partial products (rows) sign-extended
    to W bits, so B - 1 rows of full adders run on over the C = W - A - B columns above the product."""
    a, b, w = (operand(x).bits for x in split_key(key)[1])
    out = (f"int_mul:{a}x{b}", f"int_add:{w}")
    rows, cols = min(a, b) - 1, w - a - b
    return out + ((f"sext:{rows}x{cols}",) if rows > 0 and cols > 0 else ())


def split_key(k: str) -> tuple[str, tuple[str, ...]]:
    """Split an activity key (:func:`accel.activity.parse_key`) or a hardware key (``macc:8x8x32``)."""
    kind, sep, rest = k.partition(":")
    if kind in HARDWARE_KINDS and sep and rest:
        return kind, tuple(rest.split("x"))
    return parse_key(k)


@dataclass(frozen=True)
class Operand:
    """An operand as the hardware sees it: integer of ``bits`` or float with ``ebits``/``mbits``."""

    tag: str
    bits: int
    ebits: int = 0
    mbits: int = 0

    @property
    def is_float(self) -> bool:
        return self.ebits > 0

    @property
    def significand_bits(self) -> int:
        """Bits of the magnitude a multiplier sees (mantissa + hidden one; integer width for ints)."""
        return self.mbits + 1 if self.is_float else self.bits


@cache
def operand(tag: str | int) -> Operand:
    """Parse an activity operand: a width (``8``), ``int4``/``uint4``, ``fp16``/``bf16``/``fp32``, ``e4m3`` or
    an ml_dtypes name (``float8_e4m3fn``); other names are looked up in ``accel.formats`` when present."""
    t = str(tag).strip().lower()
    if t.isdigit() and int(t) >= 1:
        return Operand(t, int(t))
    if m := _INT.match(t):
        return Operand(t, int(m.group(1)))
    if t in FLOAT_TAGS:
        e, mb = FLOAT_TAGS[t]
        return Operand(t, 1 + e + mb, e, mb)
    if m := _EXMY.search(t):
        e, mb = int(m.group(1)), int(m.group(2))
        if e >= 1:
            return Operand(t, (0 if t.endswith("fnu") else 1) + e + mb, e, mb)
    try:
        from accel import formats

        f = formats.get(t)
    except Exception:  # registry absent or name unknown to it: report our own message below
        f = None
    if f is not None:
        if getattr(f, "ebits", 0):
            return Operand(t, int(f.bits), int(f.ebits), int(f.mbits))
        return Operand(t, int(f.bits))
    raise ConfigError(f"unknown activity operand {tag!r}; expected a width like '8', 'int4', 'uint4', 'fp16', "
                      f"'bf16', 'fp32', 'e4m3' or an accel.formats name")


@dataclass(frozen=True)
class OpCost:
    """Energy per operation and area of one operator instance, with the law and source that gave them."""

    energy_pj: float
    area_um2: float
    law: str
    source: str
    node_nm: float

    def to_dict(self) -> dict:
        return {"energy_pj": self.energy_pj, "area_um2": self.area_um2, "law": self.law, "source": self.source,
                "node_nm": self.node_nm}


def shift_muxes(w: int, r: int | None = None) -> int:
    """2:1 muxes of a shifter: ``shift:W`` is a W-bit barrel shifter, W * ceil(log2 W); ``shift:PxR`` places a
    P-bit value at offsets 0 .. R (output P + R bits; e.g. an exact product on its fixed-point grid): a log
    shifter of ceil(log2(R + 1)) stages whose rows grow with the value, stage i holding min(P + 2^(i+1) - 1,
    P + R) bits, and never more than a min(P, R + 1):1 mux per output bit.  Non-decreasing in W, P and R."""
    if r is None:
        return w * math.ceil(math.log2(w)) if w > 1 else 0
    if r <= 0 or w <= 0:
        return 0
    out, stages = w + r, math.ceil(math.log2(r + 1))
    return min(sum(min(w + 2 ** (i + 1) - 1, out) for i in range(stages)), out * (min(w, r + 1) - 1))


def _power_law(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """y = y0 * (x / x0)^p with p chosen so that the law passes through (x1, y1) (exactly at both points)."""
    if x == x1:
        return y1
    p = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (x / x0) ** p


class OperatorModel:
    """Prices operators from one :class:`CostTable` (node scaling already folded into the table)."""

    def __init__(self, table: CostTable | str = "horowitz45"):
        self.table = get_table(table) if isinstance(table, str) else table
        self._memo: dict[str, OpCost] = {}
        t = self.table
        self._mux_per_fa = t.cells["mux2_um2"].value / t.cells["full_adder_um2"].value
        self._fp_ref = {op: [self._fp_structure(op, a.ebits, a.mbits, a.ebits, a.mbits) for a in t.ops[op]]
                        for op in ("fp_mul", "fp_add")}
        src = t.cite("horowitz")
        self._src = {op: "; ".join(sorted({t.cite(a.source) for a in t.ops[op]})) or src for op in t.ops}

    # -- raw (unscaled, table node) laws: (energy_pj, area_um2) -------------------------------------------
    def _int_add(self, w: float) -> tuple[float, float]:
        a, b = self.table.ops["int_add"]
        return (_power_law(w, a.bits, a.energy_pj, b.bits, b.energy_pj),
                _power_law(w, a.bits, a.area_um2, b.bits, b.area_um2))

    def _int_mul(self, wa: float, wb: float) -> tuple[float, float]:
        a, b = self.table.ops["int_mul"]
        x, x0, x1 = wa * wb, a.bits * a.bits, b.bits * b.bits
        return (_power_law(x, x0, a.energy_pj, x1, b.energy_pj), _power_law(x, x0, a.area_um2, x1, b.area_um2))

    def _shift(self, w: int, r: int | None = None) -> tuple[float, float]:
        out = w + (r or 0)
        if shift_muxes(w, r) == 0:
            return (0.0, 0.0)
        e, a = self._int_add(out)
        rows = shift_muxes(w, r) / out  # mux rows of the output's width
        return (rows * e * self._mux_per_fa, rows * a * self._mux_per_fa)

    def _mux_row(self, w: int) -> tuple[float, float]:
        """A row of w 2:1 muxes (a one-position normalisation shift)."""
        e, a = self._int_add(w)
        return (e * self._mux_per_fa, a * self._mux_per_fa)

    def _fp_parts(self, op: str, ea: int, ma: int, eb: int, mb: int) -> dict[str, tuple[float, float]]:
        """Structural components (unscaled, in integer-law units) of a float multiplier or adder."""
        e, m = max(ea, eb), max(ma, mb)
        if op == "fp_mul":
            return {"significand product": self._int_mul(ma + 1, mb + 1), "exponent add": self._int_add(e + 2),
                    "normalisation": self._mux_row(m + 2), "rounding": self._int_add(m + 2)}
        return {"exponent difference": self._int_add(e + 1), "alignment shifter": self._shift(m + 4),
                "significand add": self._int_add(m + 4), "normalisation": self._shift(m + 4),
                "rounding": self._int_add(m + 2)}

    def _fp_structure(self, op: str, ea: int, ma: int, eb: int, mb: int) -> tuple[float, float]:
        parts = self._fp_parts(op, ea, ma, eb, mb).values()
        return (sum(p[0] for p in parts), sum(p[1] for p in parts))

    def _fp(self, op: str, ea: int, ma: int, eb: int, mb: int) -> tuple[float, float]:
        s = self._fp_structure(op, ea, ma, eb, mb)
        (s0, s1), (a, b) = self._fp_ref[op], self.table.ops[op]
        return (_power_law(s[0], s0[0], a.energy_pj, s1[0], b.energy_pj),
                _power_law(s[1], s0[1], a.area_um2, s1[1], b.area_um2))

    def fp_breakdown(self, activity_key: str) -> dict[str, dict[str, float]]:
        """Energy/area of a float operator split over its structural components (shares of the total)."""
        kind, _ = parse_key(activity_key)
        if kind not in ("fp_mul", "fp_add", "dequant_mul", "dequant_add"):
            raise ConfigError(f"fp_breakdown needs a float multiply/add key, got {activity_key!r}")
        o = [operand(x) for x in parse_key(activity_key)[1]]
        op = "fp_mul" if kind in ("fp_mul", "dequant_mul") else "fp_add"
        if op == "fp_mul":
            a, b = o[0], o[-1]
            parts = self._fp_parts(op, a.ebits, a.significand_bits - 1, b.ebits, b.significand_bits - 1)
        else:
            f = max(o, key=lambda x: (x.ebits, x.mbits))
            f = f if f.is_float else operand("fp32")
            parts = self._fp_parts(op, f.ebits, f.mbits, f.ebits, f.mbits)
        total = self.price(activity_key)
        se, sa = sum(p[0] for p in parts.values()), sum(p[1] for p in parts.values())
        return {name: {"energy_pj": total.energy_pj * pe / se, "area_um2": total.area_um2 * pa / sa}
                for name, (pe, pa) in parts.items()}

    def _cost(self, raw: tuple[float, float], law: str, source: str) -> OpCost:
        t = self.table
        return OpCost(raw[0] * t.energy_scale, raw[1] * t.area_scale, law, source, t.node_nm)

    # -- public operator prices -----------------------------------------------------------------------
    def int_add(self, w: int) -> OpCost:
        return self._cost(self._int_add(w), f"int_add power law through anchors, w={w}", self._src["int_add"])

    def int_mul(self, wa: int, wb: int) -> OpCost:
        return self._cost(self._int_mul(wa, wb), f"int_mul power law in a*b through anchors, {wa}x{wb}",
                          self._src["int_mul"])

    def shift_add_mul(self, wa: int, ww: int) -> OpCost:
        e, a = self._int_add(wa)
        n = max(ww - 1, 1)
        return self._cost((n * e, n * a), f"shift_add_mul = {n} x int_add({wa})", self._src["int_add"])

    def shift(self, w: int, r: int | None = None) -> OpCost:
        return self._cost(self._shift(w, r), f"shifter of {shift_muxes(w, r)} mux2 ({w} bits in, offsets "
                          f"0..{r or w - 1}), mux2/FA cell ratio",
                          f"{self._src['int_add']}; {self.table.cite('nangate')}")

    def fp_mul(self, a: Operand, b: Operand) -> OpCost:
        return self._cost(self._fp("fp_mul", a.ebits, a.significand_bits - 1, b.ebits, b.significand_bits - 1),
                          f"fp_mul power law in structural cost through anchors, {a.tag}x{b.tag}",
                          self._src["fp_mul"])

    def fp_add(self, a: Operand) -> OpCost:
        return self._cost(self._fp("fp_add", a.ebits, a.mbits, a.ebits, a.mbits),
                          f"fp_add power law in structural cost through anchors, {a.tag}", self._src["fp_add"])

    def convert(self, w: int) -> OpCost:
        e1, a1 = self._shift(w)
        e2, a2 = self._int_add(w)
        return self._cost((e1 + e2, a1 + a2), f"convert = shift({w}) + int_add({w})", self._src["int_add"])

    def register(self, bits: int) -> OpCost:
        t = self.table
        e, a = t.cells["register_bit_energy_pj"], t.cells["dff_um2"]
        return self._cost((bits * e.value, bits * a.value), f"register {bits} bits x DFF",
                          f"{t.cite(a.source)}; energy: {t.cite(e.source)}")

    def price(self, activity_key: str) -> OpCost:
        """Price one count of an activity key (``int_mul:8x4``, ``fp_mul:fp16xfp16``, ...)."""
        c = self._memo.get(activity_key)
        if c is None:
            c = self._memo[activity_key] = self._price(activity_key)
        return c

    def _price(self, activity_key: str) -> OpCost:
        kind, ops = split_key(activity_key)
        o = [operand(x) for x in ops]
        widest = max(x.bits for x in o)
        if kind == "macc":
            (e1, a1), (e2, a2) = self._int_mul(o[0].bits, o[1].bits), self._int_add(o[2].bits)
            return self._cost((e1 + e2, a1 + a2), f"macc = int_mul({o[0].bits}x{o[1].bits}) + int_add({o[2].bits})",
                              self._src["int_mul"])
        if kind == "sext":
            e, a = self._int_add(o[1].bits)
            return self._cost((o[0].bits * e, o[0].bits * a), f"sext = {o[0].bits} x int_add({o[1].bits})",
                              self._src["int_add"])
        if kind in ("gate", "macc_gate"):
            return self._cost(self._mux_row(widest), f"gate = a row of {widest} mux2 (mux2/FA cell ratio)",
                              f"{self._src['int_add']}; {self.table.cite('nangate')}")
        if kind == "clamp":
            return self._cost(self._mux_row(widest), f"clamp = a row of {widest} mux2 (mux2/FA cell ratio)",
                              f"{self._src['int_add']}; {self.table.cite('nangate')}")
        if kind == "int_mul":
            return self.int_mul(o[0].bits, o[-1].bits)
        if kind == "shift_add_mul":
            return self.shift_add_mul(o[0].bits, o[-1].bits)
        if kind in ("fp_mul", "dequant_mul"):
            return self.fp_mul(o[0], o[-1])
        if kind in ("fp_add", "dequant_add"):
            fmt = max(o, key=lambda x: (x.ebits, x.mbits))
            return self.fp_add(fmt if fmt.is_float else operand("fp32"))
        if kind == "kulisch_add":
            e1, a1 = self._shift(widest)
            e2, a2 = self._int_add(widest)
            return self._cost((e1 + e2, a1 + a2), f"kulisch_add = shift({widest}) + int_add({widest})",
                              self._src["int_add"])
        if kind in ADDER_KINDS:
            c = self.int_add(widest)
            return OpCost(c.energy_pj, c.area_um2, f"{kind} = {c.law}", c.source, c.node_nm)
        if kind == "shift":  # shift:W (barrel shifter of W bits) or shift:PxR (a P-bit value placed at offsets 0..R)
            return self.shift(o[0].bits, o[1].bits if len(o) > 1 else None)
        if kind == "convert":
            return self.convert(widest)
        if kind == "acc_overflow":
            return OpCost(0.0, 0.0, "event count, not hardware", "n/a", self.table.node_nm)
        raise ConfigError(f"no cost law for activity kind {kind!r}; priced kinds: {', '.join(sorted(KINDS))}")
