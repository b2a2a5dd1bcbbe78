"""A streaming multiply-accumulate PE, one parametrised implementation for every PE variant with RTL.

``int8_mac`` is an array multiplier into a wide accumulator (wrap or saturate); ``mixpe_w4a8`` is a
shift-and-add multiplier into a group accumulator that also sums the activations (``S_a``, needed for
the zero-point or min correction), with dequantization after the group done by :mod:`rtl.array.dequant`;
``minifloat_mac`` (Kulisch) and ``mixpe_w4a16`` multiply minifloat codes exactly onto a fixed-point
grid (:mod:`rtl.arith.grid_products`) and accumulate exactly.

Protocol: one beat per cycle; the PE never stalls (``i.ready`` is always 1, ``o.ready`` is ignored).
Each input beat carries one activation ``a``, one weight ``w`` and ``first``/``last`` flags delimiting
a group.  ``first`` restarts the accumulators; on ``last`` the group's results appear on the output
stream one cycle later.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.multipliers import MULTIPLIERS, product, product_shape

OVERFLOW = ("wrap", "saturate")


@dataclass(frozen=True)
class MacConfig:
    """Operand shapes, multiplier kind and accumulator of one integer MAC PE (derived from a PE spec)."""

    act_bits: int
    act_signed: bool
    weight_bits: int
    weight_signed: bool
    acc_bits: int
    multiplier: str = "array"
    overflow: str = "wrap"
    act_sum_bits: int = 0  # 0: no activation sum; else its width
    act_float: tuple[int, int] | None = None  # (ebits, mbits) when activations are minifloat codes
    weight_float: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("act_bits", "weight_bits", "acc_bits"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= 128):
                problems.append(f"{name} must be an integer in 1..128, got {v!r}")
        if self.multiplier not in MULTIPLIERS:
            problems.append(f"multiplier must be one of {', '.join(MULTIPLIERS)}, got {self.multiplier!r}")
        if self.overflow not in OVERFLOW:
            problems.append(f"overflow must be one of {', '.join(OVERFLOW)}, got {self.overflow!r}")
        if not (isinstance(self.act_sum_bits, int) and 0 <= self.act_sum_bits <= 128):
            problems.append(f"act_sum_bits must be an integer in 0..128, got {self.act_sum_bits!r}")
        if problems:
            raise ConfigError("invalid MAC config: " + "; ".join(problems))

    @property
    def act_shape(self) -> Shape:
        if self.act_float:
            return unsigned(self.act_bits)
        return signed(self.act_bits) if self.act_signed else unsigned(self.act_bits)

    @property
    def weight_shape(self) -> Shape:
        if self.weight_float:
            return unsigned(self.weight_bits)
        return signed(self.weight_bits) if self.weight_signed else unsigned(self.weight_bits)

    @property
    def is_float(self) -> bool:
        return bool(self.act_float or self.weight_float)

    def _fields(self):
        from rtl.arith.floats import FloatFields

        return (FloatFields(*self.act_float) if self.act_float else None,
                FloatFields(*self.weight_float) if self.weight_float else None)

    @property
    def product_shape(self) -> Shape:
        if self.is_float:
            from rtl.arith.grid_products import exact_product_shape

            fa, fw = self._fields()
            return exact_product_shape(self.act_shape, fa, self.weight_shape, fw)
        return product_shape(self.act_shape, self.weight_shape)

    def product(self, a, w):
        """The exact product of one activation and one weight code (rtl.arith.multipliers, rtl.arith.grid_products)."""
        if self.is_float:
            from rtl.arith.grid_products import exact_product

            fa, fw = self._fields()
            return exact_product(a, self.act_shape, fa, w, self.weight_shape, fw, self.multiplier)
        return product(a, w, self.multiplier)

    def act_value(self, a):
        """The activation's integer value on its grid (the code itself for integer activations)."""
        if self.act_float:
            from rtl.arith.grid_products import grid_value

            return grid_value(a, self._fields()[0], self.act_shape)
        return a

    def in_layout(self) -> data.StructLayout:
        return data.StructLayout({"a": self.act_shape, "w": self.weight_shape, "first": 1, "last": 1})

    def out_layout(self) -> data.StructLayout:
        fields = {"acc": signed(self.acc_bits)}
        if self.act_sum_bits:
            fields["act_sum"] = signed(self.act_sum_bits)
        return data.StructLayout(fields)


def saturate(value, shape: Shape):
    """Clamp a (wider) signed value into ``shape``."""
    lo, hi = -(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1
    return Mux(value > hi, hi, Mux(value < lo, lo, value))


class MacPE(wiring.Component):
    """Streaming MAC with a group accumulator (see the module docstring); latency 1 cycle."""

    latency_cycles = 1

    def __init__(self, config: MacConfig):
        self.config = config
        super().__init__({
            "i": In(stream.Signature(config.in_layout())),
            "o": Out(stream.Signature(config.out_layout())),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        acc_shape = signed(cfg.acc_bits)
        acc = Signal(acc_shape)
        p = cfg.product(self.i.payload.a, self.i.payload.w)
        base = Mux(self.i.payload.first, 0, acc)
        total = base + p
        nxt = saturate(total, acc_shape) if cfg.overflow == "saturate" else total[:cfg.acc_bits].as_signed()
        acc_next = Signal(acc_shape)
        m.d.comb += acc_next.eq(nxt)
        m.d.comb += self.i.ready.eq(1)
        m.d.sync += self.o.valid.eq(self.i.valid & self.i.payload.last)
        with m.If(self.i.valid):
            m.d.sync += acc.eq(acc_next)
            m.d.sync += self.o.payload.acc.eq(acc_next)
        if cfg.act_sum_bits:
            s = Signal(signed(cfg.act_sum_bits))
            s_next = Signal(signed(cfg.act_sum_bits))
            m.d.comb += s_next.eq(Mux(self.i.payload.first, 0, s) + cfg.act_value(self.i.payload.a))
            with m.If(self.i.valid):
                m.d.sync += s.eq(s_next)
                m.d.sync += self.o.payload.act_sum.eq(s_next)
        return m


class ProductBlock(wiring.Component):
    """The PE's multiplier alone, combinational (``a``, ``w`` codes in, exact product out): for synthesis."""

    latency_cycles = 0

    def __init__(self, config: MacConfig):
        self.config = config
        super().__init__({"a": In(config.act_shape), "w": In(config.weight_shape), "p": Out(config.product_shape)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.config.product(self.a, self.w))
        return m
