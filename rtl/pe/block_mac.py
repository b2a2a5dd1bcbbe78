"""Streaming ``block_mac`` PE (OCP MX and BFP operands): exact integer block dots, FP32 accumulation per block.

Datapath (the golden ``accel.pe.block.BlockMAC``): each element pair is multiplied exactly on the
elements' fixed-point grid (``MacConfig.product``: minifloat codes via :mod:`rtl.arith.grid_products`, integer
significands directly) and summed in a ``block_acc_bits`` register that cannot overflow.  At a block's
last element the two 8-bit shared exponents are added (one exponent add) and the block sum D is
converted to binary32 as D * 2^(ea + ew + exp_offset), rounded once, to nearest-even, with subnormal
results and overflow to infinity (:func:`rtl.arith.binary32.round_fp32`, the first rounding); the block
value is then added to the FP32 accumulator (:func:`rtl.arith.binary32.fp32_add`, RNE, the second rounding)
in block order, starting from +0.

Protocol: one beat per cycle, never stalls (``i.ready`` = 1).  A beat carries element codes ``a``,
``w`` (bit patterns), the blocks' shared exponent bytes ``ea``, ``ew`` (read on ``last``), and flags:
``first``/``last`` delimit a block (at most ``block_size`` beats), ``start`` (with ``first``) opens a
dot product, ``end`` (with ``last``) closes it.  Pipeline: stage 1 multiplies and accumulates the
block; stage 2 converts and accumulates in FP32; ``o.y`` (FP32 bits) is valid 2 cycles after the beat
carrying ``end``.  A new block can follow on the next cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import fp32_add, round_fp32
from rtl.pe.mac import MacConfig


@dataclass(frozen=True)
class BlockConfig:
    """Element multiplier (a :class:`MacConfig` whose ``acc_bits`` is the block accumulator), block size and
    the exponent of the grid LSB product at exponent bytes 0 (block value = D * 2^(ea + ew + exp_offset))."""

    elements: MacConfig
    block_size: int
    exp_offset: int
    exp_bits: int = 8

    def __post_init__(self) -> None:
        if not (isinstance(self.block_size, int) and self.block_size >= 1):
            raise ConfigError(f"block_size must be a positive integer, got {self.block_size!r}")

    def in_layout(self) -> data.StructLayout:
        e = self.elements
        return data.StructLayout({"a": e.act_shape, "w": e.weight_shape, "ea": unsigned(self.exp_bits),
                                  "ew": unsigned(self.exp_bits), "first": 1, "last": 1, "start": 1, "end": 1})

    def out_layout(self) -> data.StructLayout:
        return data.StructLayout({"y": unsigned(32)})


class BlockMacPE(wiring.Component):
    """The block_mac PE (see the module docstring); latency 2 cycles from the ``end`` beat."""

    latency_cycles = 2

    def __init__(self, config: BlockConfig):
        self.config = config
        super().__init__({"i": In(stream.Signature(config.in_layout())),
                          "o": Out(stream.Signature(config.out_layout()))})

    def elaborate(self, platform):
        m = Module()
        cfg, el = self.config, self.config.elements
        p = self.i.payload
        m.d.comb += self.i.ready.eq(1)
        # stage 1: exact block dot product
        acc = Signal(signed(el.acc_bits))
        acc_next = Signal(signed(el.acc_bits))
        m.d.comb += acc_next.eq((Mux(p.first, 0, acc) + el.product(p.a, p.w))[:el.acc_bits].as_signed())
        blk_valid, blk_start, blk_end = Signal(), Signal(), Signal()
        blk_d = Signal(signed(el.acc_bits))
        blk_e = Signal(unsigned(cfg.exp_bits + 1))
        closing = self.i.valid & p.last
        m.d.sync += blk_valid.eq(closing)
        with m.If(self.i.valid):
            m.d.sync += acc.eq(acc_next)
        with m.If(closing):
            m.d.sync += [blk_d.eq(acc_next), blk_e.eq(p.ea + p.ew), blk_start.eq(p.start), blk_end.eq(p.end)]
        # stage 2: one rounding to FP32 (exponents added), one FP32 add in block order
        neg = blk_d < 0
        mag = Mux(neg, -blk_d, blk_d)[:el.acc_bits]
        value = round_fp32(m, neg, mag, blk_e + cfg.exp_offset, "blk")
        facc = Signal(32)
        total = fp32_add(m, Mux(blk_start, 0, facc), value, "facc")
        with m.If(blk_valid):
            m.d.sync += facc.eq(total)
        m.d.sync += self.o.valid.eq(blk_valid & blk_end)
        with m.If(blk_valid & blk_end):
            m.d.sync += self.o.payload.y.eq(total)
        return m
