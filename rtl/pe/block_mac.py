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
block; stage 2 converts and accumulates in FP32; ``o.y`` (FP32 bits) is valid ``latency_cycles`` (2
unpipelined) after the beat carrying ``end``.  A new block can follow on the next cycle.

``pipeline_depth`` P: P registers in the block conversion and P inside the FP32 accumulator loop, whose
P + 1 sums (and the block accumulator's P + 1) serve P + 1 dot products interleaved beat by beat, each in its
own block order (as :class:`rtl.pe.fp_mac.FpMacPE`); ``latency_cycles`` = 2P + 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import ROUND_DEPTHS, round_fp32
from rtl.arith.pipeline import Cuts, delay, split
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
    """The block_mac PE (see the module docstring)."""

    def __init__(self, config: BlockConfig, pipeline_depth: int = 0):
        self.config, self.pipeline_depth = config, pipeline_depth
        self.interleave = pipeline_depth + 1
        self.latency_cycles = 2 * pipeline_depth + 2
        super().__init__({"i": In(stream.Signature(config.in_layout())),
                          "o": Out(stream.Signature(config.out_layout()))})

    def elaborate(self, platform):
        from rtl.pe.fp_mac import accumulate_ring

        m = Module()
        cfg, el, P = self.config, self.config.elements, self.pipeline_depth
        p = self.i.payload
        m.d.comb += self.i.ready.eq(1)
        # stage 1: exact block dot products, P + 1 of them in turn (the ring of block sums)
        tail = Signal(signed(el.acc_bits))
        acc_next = Signal(signed(el.acc_bits))
        m.d.comb += acc_next.eq(Mux(self.i.valid, (Mux(p.first, 0, tail) + el.product(p.a, p.w))[:el.acc_bits],
                                    tail).as_signed())
        m.d.comb += tail.eq(delay(m, {"acc": acc_next}, P + 1, "blk_ring")["acc"])
        closing = self.i.valid & p.last
        blk = delay(m, {"valid": closing, "d": acc_next, "e": p.ea + p.ew, "start": p.start, "end": p.end}, 1, "blk")
        # stage 2: one rounding to FP32 (exponents added, P registers), one FP32 add in block order
        neg = blk["d"] < 0
        mag = Mux(neg, -blk["d"], blk["d"])[:el.acc_bits]
        cuts, extra = split(ROUND_DEPTHS, max(0, P - 1))
        pipe = Cuts(m, cuts, "cvt", {"valid": blk["valid"], "start": blk["start"], "end": blk["end"]})
        value = round_fp32(m, neg, mag, blk["e"] + cfg.exp_offset, "blk", pipe)
        v = delay(m, {**pipe.passengers, "value": value}, extra + min(P, 1), "cvt_x")
        total, done = accumulate_ring(m, v["value"], v["valid"], v["start"], v["valid"] & v["end"], P, "facc")
        m.d.comb += [self.o.valid.eq(done), self.o.payload.y.eq(total)]
        return m
