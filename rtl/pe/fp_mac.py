"""Streaming PEs that accumulate in FP32: ``minifloat_mac:accumulate=fp32`` and ``fp16_dequant_first``.

One datapath, as the golden models define it (``accel.pe.minifloat.MinifloatMAC``, the ``in_loop``
placement of ``accel.pe.mixpe.MixPEW4A16``):

1. weight (``fp16_dequant_first`` only, see :meth:`FpMacConfig.load`): the 4-bit code q with its group's
   FP16 scale s (and zero z or min m) becomes w16 = fp16(s (q - z)) [Q4_1: fp16(fp16(s q) + m)]: each
   ``fp16(...)`` is ONE rounding (RNE, subnormals, saturating at +-65504) of the exact value;
2. product a * w, exact in binary32 (NO rounding: <= 24 significand bits, normal range);
3. acc = fp32(acc + a * w) in k order from +0: ONE rounding per beat (RNE, IEEE 754,
   :func:`rtl.arith.binary32.fp32_add`).

The per-token/per-channel output scaling of ``minifloat_mac`` (y = fp32(acc fp32(s_a s_w))) is outside the
PE, as for the other variants.  NaN results are the canonical quiet NaN (numpy keeps payloads): checks
compare NaN by class.  Operand NaN/Inf codes follow IEEE 754 (the golden quantizers never produce them
except an FP16 NaN activation); scales and mins must be finite.

Protocol (as :class:`rtl.pe.mac.MacPE`): one beat per cycle, never stalls; ``first`` restarts from +0; on
``last`` the FP32 sum leaves ``latency_cycles`` later.  Pipelined (``pipeline_depth`` P > 0), the
accumulator loop holds P + 1 sums and beats of P + 1 dot products are interleaved (see :class:`FpMacPE`):
the sum order of each is unchanged, so the results are the golden's at every depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import ADD_DEPTHS, fp32_add
from rtl.arith.floats import (
    FP16,
    PRODUCT_DEPTHS,
    ROUND_TO_FLOAT_DEPTHS,
    FloatLayout,
    exact_product,
    round_to_float,
    unpack,
)
from rtl.arith.pipeline import Cuts, carrying, cut, delay, split

#: in-loop dequantization kinds: the weight formats of ``mixpe_w4a16`` (``accel.pe.operands``)
DEQUANT = ("int4", "uint4", "q4_0", "q4_1")
ZERO_BITS = 4


@dataclass(frozen=True)
class FpOperand:
    """One multiplier operand: a float of ``layout`` or (``layout`` None) an integer of ``bits``."""

    bits: int
    layout: FloatLayout | None = None
    signed: bool = True

    def __post_init__(self) -> None:
        if self.layout is not None and self.layout.bits != self.bits:
            raise ConfigError(f"operand bits {self.bits!r} differ from its float layout's {self.layout.bits!r}")

    @property
    def shape(self):
        if self.layout is not None or not self.signed:
            return unsigned(self.bits)
        return signed(self.bits)

    def unpack(self, code):
        return unpack(code, self.layout, self.shape)


@dataclass(frozen=True)
class FpMacConfig:
    """An FP32-accumulating PE (derived from a spec by ``rtl.config.fp_mac_config``).

    ``act``, ``weight``: the multiplier's operands (for ``dequant``: FP16, the dequantized weight).
    ``dequant``: None, or the weight format of 4-bit codes dequantized to FP16 before the multiply.
    Also the cell of :class:`rtl.array.fp_array.FpWSArray` (``act_shape``, ``weight_shape``, ``load_layout``,
    ``load``, ``product``).
    """

    act: FpOperand
    weight: FpOperand
    dequant: str | None = None
    code_signed: bool = True  # with dequant: two's-complement codes (int4, q4_0) or unsigned (uint4, q4_1)

    def __post_init__(self) -> None:
        if self.dequant is not None:
            if self.dequant not in DEQUANT:
                raise ConfigError(f"unknown dequant weight format {self.dequant!r}; valid: {', '.join(DEQUANT)}")
            if self.weight.layout != FP16:
                raise ConfigError(f"in-loop dequantization produces FP16 weights, got weight {self.weight!r}")

    @property
    def act_shape(self):
        return self.act.shape

    @property
    def weight_shape(self):
        """The weight the multiplier reads (a stationary array cell holds this)."""
        return self.weight.shape

    @property
    def load_layout(self):
        """What a weight beat carries: the code, or code + FP16 scale (+ zero or FP16 min)."""
        if self.dequant is None:
            return self.weight.shape
        fields = {"code": signed(4) if self.code_signed else unsigned(4), "scale": unsigned(16)}
        if self.dequant == "uint4":
            fields["zero"] = unsigned(ZERO_BITS)
        if self.dequant == "q4_1":
            fields["min"] = unsigned(16)
        return data.StructLayout(fields)

    def load_depths(self) -> tuple[int, ...]:
        """Estimated logic depth of the segments of :meth:`load` between its pipeline boundaries."""
        if self.dequant is None:
            return ()
        scale = (6 + ROUND_TO_FLOAT_DEPTHS[0], *ROUND_TO_FLOAT_DEPTHS[1:])
        if self.dequant != "q4_1":
            return scale
        return (*scale, 10, 10, *ROUND_TO_FLOAT_DEPTHS)  # | min on the grid | add, magnitude | round

    def operations(self) -> int:
        """Rounding FP operations from a beat to its product (each takes ``pipeline_depth`` registers)."""
        return 1 + (self.dequant is not None) + (self.dequant == "q4_1")

    def product_depths(self) -> tuple[int, ...]:
        """Segments of :meth:`product` between its pipeline boundaries (estimated logic depth)."""
        return PRODUCT_DEPTHS

    def beat_depths(self) -> tuple[int, ...]:
        """Segments from a beat to its product: :meth:`load`, then :meth:`product`."""
        return (*self.load_depths(), *self.product_depths())

    def load(self, m: Module, beat, name: str = "dq", pipe: Cuts | None = None):
        """The multiplier's weight from a weight beat (FP16 dequantization, see the module docstring)."""
        if self.dequant is None:
            return beat
        code = beat.code
        q = code - beat.zero if self.dequant == "uint4" else code
        q = q.as_signed() if self.code_signed or self.dequant == "uint4" else q
        qs = Signal(signed(6), name=f"{name}_q")
        m.d.comb += qs.eq(q)
        s = unpack(beat.scale, FP16)
        neg = qs < 0
        qmag = Mux(neg, -qs, qs)[:5]
        later = {"min": beat.min} if self.dequant == "q4_1" else {}  # read after the first rounding
        w, later = carrying(pipe, later, lambda: round_to_float(
            m, s.sign ^ neg, s.sig * qmag, s.shift + s.lsb_exp, FP16, overflow="saturate", name=f"{name}_sq",
            pipe=pipe))
        if self.dequant != "q4_1":
            return w
        from rtl.arith.grid_products import grid_value

        w, mn = cut(pipe, w, later["min"])
        gw = Signal(signed(42), name=f"{name}_gw")
        gm = Signal(signed(42), name=f"{name}_gm")
        m.d.comb += [gw.eq(grid_value(w, FP16, unsigned(16))), gm.eq(grid_value(mn, FP16, unsigned(16)))]
        both_neg_zero = (w[:15] == 0) & (mn[:15] == 0) & w[15] & mn[15]
        gw, gm, both_neg_zero = cut(pipe, gw, gm, both_neg_zero)
        total = Signal(signed(43), name=f"{name}_sum")  # exact on FP16's 2^-24 grid
        m.d.comb += total.eq(gw + gm)
        neg_t = total < 0
        sign = Mux(total == 0, both_neg_zero, neg_t)
        mag = Signal(42, name=f"{name}_mag")
        m.d.comb += mag.eq(Mux(neg_t, -total, total)[:42])
        sign, mag = cut(pipe, sign, mag)
        return round_to_float(m, sign, mag, FP16.lsb_exp, FP16, overflow="saturate", name=f"{name}_add", pipe=pipe)

    def product(self, m: Module, a, w, name: str = "prod", pipe: Cuts | None = None):
        """binary32 bits of the exact product of an activation and a (loaded) weight."""
        return exact_product(m, self.act.unpack(a), self.weight.unpack(w), name=name, pipe=pipe)


class FpMacPE(wiring.Component):
    """Streaming FP32-accumulating MAC (see the module docstring).

    ``pipeline_depth`` P: P registers per rounding operation from a beat to its product (the FP16
    dequantization's one or two roundings, the product; :meth:`FpMacConfig.operations`) and P inside the
    accumulating adder, whose loop is then P + 1 registers long and holds P + 1 running sums
    (``interleave``): beat t adds onto the sum of beat t - P - 1, so P + 1 dot products are interleaved beat
    by beat, each in k order (a cycle without a valid beat adds -0, which leaves any sum unchanged).
    ``latency_cycles`` = P (operations + 1) + 1 from the ``last`` beat to ``o``.  P = 0 is the one-cycle MAC.
    """

    def __init__(self, config: FpMacConfig, pipeline_depth: int = 0):
        self.config, self.pipeline_depth = config, pipeline_depth
        self.interleave = pipeline_depth + 1
        self.latency_cycles = pipeline_depth * (config.operations() + 1) + 1
        in_layout = data.StructLayout({"a": config.act_shape, "w": config.load_layout, "first": 1, "last": 1})
        super().__init__({"i": In(stream.Signature(in_layout)),
                          "o": Out(stream.Signature(data.StructLayout({"acc": unsigned(32)})))})

    def elaborate(self, platform):
        m = Module()
        cfg, b, P = self.config, self.i.payload, self.pipeline_depth
        m.d.comb += self.i.ready.eq(1)
        p, side = product_pipeline(m, cfg, b.a, b.w, P * cfg.operations(),
                                   {"valid": self.i.valid, "first": b.first, "last": b.last})
        acc, closing = accumulate_ring(m, p, side["valid"], side["first"], side["valid"] & side["last"], P)
        m.d.comb += [self.o.valid.eq(closing), self.o.payload.acc.eq(acc)]
        return m


def product_pipeline(m: Module, cell, a, w_beat, registers: int, side: dict, name: str = "beat"):
    """(binary32 product, ``side`` values) of a beat after ``registers`` registers: with any, one holds the
    product, the others go over the cell's load and product (``cell.beat_depths()``; extra ones after)."""
    cuts, extra = split(cell.beat_depths(), max(0, registers - 1))
    pipe = Cuts(m, cuts, name, {**side, "_a": a})
    w = cell.load(m, w_beat, f"{name}_dq", pipe)
    if cell.load_depths():
        (w,) = pipe.cut(w)
    a = pipe.passengers.pop("_a")
    p = cell.product(m, a, w, f"{name}_prod", pipe)
    out = delay(m, {**pipe.passengers, "_p": p}, extra + min(registers, 1), f"{name}_x")
    return out.pop("_p"), out


def pipelined_product(m: Module, cell, a, w, registers: int, name: str = "prod"):
    """The cell's product of an activation and a loaded weight after ``registers`` registers (one holds the
    product, the others go over ``cell.product_depths()``)."""
    cuts, extra = split(cell.product_depths(), max(0, registers - 1))
    p = cell.product(m, a, w, name, Cuts(m, cuts, name))
    return delay(m, {"p": p}, extra + min(registers, 1), f"{name}_x")["p"]


def accumulate_ring(m: Module, p, valid, first, closing, registers: int, name: str = "acc",
                    side: dict | None = None):
    """The FP32 accumulator loop with ``registers`` pipeline registers: (running sum, ``closing`` and
    ``side`` values delayed to it).  ``registers + 1`` sums circulate; an invalid beat adds -0; ``first``
    restarts from +0."""
    cuts, extra = split(ADD_DEPTHS, registers)
    ring = Signal(32, name=f"{name}_ring")
    pipe = Cuts(m, cuts, name, {**(side or {}), "closing": closing})
    s = fp32_add(m, Mux(valid & first, 0, ring), Mux(valid, p, 1 << 31), name, pipe)
    out = delay(m, {**pipe.passengers, "_s": s}, extra + 1, f"{name}_x")
    m.d.comb += ring.eq(out.pop("_s"))
    if side is None:
        return ring, out["closing"]
    return ring, out


class FpProductBlock(wiring.Component):
    """The multiplier alone, combinational: activation and (loaded) weight codes in, exact binary32 out."""

    latency_cycles = 0

    def __init__(self, config: FpMacConfig):
        self.config = config
        super().__init__({"a": In(config.act_shape), "w": In(config.weight_shape), "p": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.config.product(m, self.a, self.w))
        return m


class FpWeightDequant(wiring.Component):
    """The in-loop FP16 weight dequantization alone, combinational: a weight beat in, FP16 bits out."""

    latency_cycles = 0

    def __init__(self, config: FpMacConfig):
        if config.dequant is None:
            raise ConfigError("FpWeightDequant needs a config with dequant (fp16_dequant_first), got dequant=None")
        self.config = config
        super().__init__({"beat": In(config.load_layout), "w": Out(16)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.w.eq(self.config.load(m, self.beat))
        return m
