"""The block_mac array: an R x C weight-stationary array with block conversion and FP32 accumulation at the column edge.

Each fold (R rows of K, the C columns) streams M activation rows through :class:`rtl.array.ws_array.WSArray`, whose
columns sum exact integer products on the elements' grid (no rounding inside the array).  The block size b
must be a multiple of R: a block spans b / R folds.  At the column edge, per column and per activation row
in flight (``max_rows``), a block register adds the fold sums exactly (``block_acc_bits``); on the block's
last fold the shared exponents are added and the block sum converted to FP32 once (RNE, subnormals,
overflow to inf: :func:`rtl.arith.binary32.round_fp32`) and added to the row's FP32 accumulator
(:func:`rtl.arith.binary32.fp32_add`) in block order, from +0: ``BlockMAC.gemm`` for one column tile, bit for bit.

Streams: ``wl`` loads weight rows (R beats, rows R-1..0, as WSArray) and carries the fold's per-column
weight exponent bytes ``ew`` (latched at every load beat; loads happen after the previous fold drained);
``a`` carries the activation row ``x``, its block exponent byte ``ea`` and flags constant within a fold:
``row0`` (the fold's first row), ``first_fold``/``last_fold`` of the block, ``first_block``/``last_block``
(the fold's block is the output's first / last); ``o`` gives a row's C FP32 outputs after its last block.

Timing: an activation row presented in cycle t leaves the integer array in cycle t + R + C - 1 (the
simulator's ``tile_latency_cycles`` convention) and the edge registers its result one cycle later
(``edge_latency_cycles`` = 1, the part the simulator counts as dequantization, not array latency).
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import fp32_add, round_fp32
from rtl.array.ws_array import WSArray
from rtl.pe.block_mac import BlockConfig

SIDE = {"ea": 8, "row0": 1, "first_fold": 1, "last_fold": 1, "first_block": 1, "last_block": 1}


def check_rows(block_size: int, rows: int) -> None:
    """Raise :class:`ConfigError` unless ``rows`` divides the block size (call before building the array)."""
    if block_size % rows:
        divisors = [d for d in range(1, block_size + 1) if block_size % d == 0]
        raise ConfigError(f"the block_mac array needs rows dividing the block size {block_size}, got "
                          f"rows={rows!r} (valid: {', '.join(map(str, divisors))})")


class BlockMacArray(wiring.Component):
    """R x C block_mac array (see the module docstring); ``rows`` must divide the block size (:func:`check_rows`)."""

    edge_latency_cycles = 1

    def __init__(self, config: BlockConfig, rows: int, cols: int, max_rows: int = 16):
        self.config, self.rows, self.cols, self.max_rows = config, rows, cols, max_rows
        self.core = WSArray(config.elements, rows, cols)
        self.latency_cycles = self.core.latency_cycles + self.edge_latency_cycles
        el = config.elements
        super().__init__({
            "wl": In(stream.Signature(data.StructLayout({"w": data.ArrayLayout(el.weight_shape, cols),
                                                         "ew": data.ArrayLayout(unsigned(8), cols)}))),
            "a": In(stream.Signature(data.StructLayout({"x": data.ArrayLayout(el.act_shape, rows), **SIDE}))),
            "o": Out(stream.Signature(data.StructLayout({"y": data.ArrayLayout(unsigned(32), cols)}))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, C = self.config, self.cols
        m.submodules.core = core = self.core
        m.d.comb += [self.wl.ready.eq(1), self.a.ready.eq(1), core.o.ready.eq(1),
                     core.wl.valid.eq(self.wl.valid), core.wl.payload.eq(self.wl.payload.w),
                     core.a.valid.eq(self.a.valid), core.a.payload.eq(self.a.payload.x)]
        ew = [Signal(8, name=f"ew_{c}") for c in range(C)]
        with m.If(self.wl.valid):
            m.d.sync += [ew[c].eq(self.wl.payload.ew[c]) for c in range(C)]
        # the row's exponent and flags travel beside the array, delayed by its latency
        side_layout = data.StructLayout(SIDE)
        side = Signal(side_layout)
        m.d.comb += [getattr(side, k).eq(getattr(self.a.payload, k)) for k in SIDE]
        for d in range(core.latency_cycles):
            nxt = Signal(side_layout, name=f"side_{d}")
            m.d.sync += nxt.eq(side)
            side = nxt
        valid = core.o.valid
        # column edge: per-row block registers and FP32 accumulators
        count = Signal(range(self.max_rows + 1))
        row = Signal(range(self.max_rows + 1))
        m.d.comb += row.eq(Mux(side.row0, 0, count))
        with m.If(valid):
            m.d.sync += count.eq(row + 1)
        acc_bits = cfg.elements.acc_bits
        m.d.sync += self.o.valid.eq(valid & side.last_fold & side.last_block)
        for c in range(C):
            blk = Array(Signal(signed(acc_bits), name=f"blk_{c}_{i}") for i in range(self.max_rows))
            facc = Array(Signal(32, name=f"facc_{c}_{i}") for i in range(self.max_rows))
            d = Signal(signed(acc_bits), name=f"d_{c}")
            m.d.comb += d.eq((Mux(side.first_fold, 0, blk[row]) + core.o.payload.y[c])[:acc_bits].as_signed())
            neg = d < 0
            value = round_fp32(m, neg, Mux(neg, -d, d)[:acc_bits], side.ea + ew[c] + cfg.exp_offset, f"cvt{c}")
            total = fp32_add(m, Mux(side.first_block, 0, facc[row]), value, f"acc{c}")
            with m.If(valid):
                m.d.sync += blk[row].eq(d)
                with m.If(side.last_fold):
                    m.d.sync += [facc[row].eq(total), self.o.payload.y[c].eq(total)]
        return m
