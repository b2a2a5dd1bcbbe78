"""Parametric R x C weight-stationary systolic arrays of integer MAC cells, with column-edge outputs.

:class:`WSArray` loads whole weight tiles through a shift register (below); :class:`WSShadowArray` is the
simulator's micro-architecture: double-buffered weights written over an L-lane row-addressed bus per column
(``array.weight_load_bits_per_cycle``), so its cycle count equals ``sim``'s for whole ops, loads included.

Dataflow (WS): weight ``W[r, c]`` sits in cell (r, c); activation row vectors ``a[m, 0:R]`` enter at
the left edge, skewed so row r sees ``a[m, r]`` r cycles later; activations move right one cell per
cycle, partial sums move down one cell per cycle; column c's sum leaves the bottom edge and is
de-skewed so a whole output row ``y[m, 0:C] = sum_r a[m, r] * W[r, c]`` leaves together.  The
activation row sum ``S_a[m] = sum_r a[m, r]`` (MixPE's zero/min correction term, shared by every
column) is computed once at the left edge and leaves with the outputs.  Column-edge dequantization
(``P - z * S_a`` and the scale) consumes these integer outputs.

Weight load: ``wl`` beats shift weight rows in from the top (one row of C weights per beat, all
columns at once); after R beats the beat loaded last sits in row 0, so load rows R-1, ..., 0 in order.

Latency: an activation beat entering at cycle t leaves as an output beat at cycle t + R + C - 1
(``latency_cycles``); beats may enter every cycle.  Partial sums are exact (``psum_bits`` holds every
sum of R products).
"""

from __future__ import annotations

from math import ceil, log2

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.pe.mac import MacConfig


def _clog2(n: int) -> int:
    return ceil(log2(n)) if n > 1 else 0


class WSArray(wiring.Component):
    """R x C weight-stationary array of ``config``'s multiplier (see the module docstring)."""

    def __init__(self, config: MacConfig, rows: int, cols: int, *, act_sum: bool = False):
        self.config, self.rows, self.cols, self.act_sum = config, rows, cols, act_sum
        self.psum_bits = config.product_shape.width + _clog2(rows)
        self.act_sum_bits = config.act_bits + _clog2(rows) + (0 if config.act_signed else 1)
        self.latency_cycles = rows + cols - 1
        out_fields = {"y": data.ArrayLayout(signed(self.psum_bits), cols)}
        if act_sum:
            out_fields["act_sum"] = signed(self.act_sum_bits)
        super().__init__({
            "wl": In(stream.Signature(data.ArrayLayout(config.weight_shape, cols))),
            "a": In(stream.Signature(data.ArrayLayout(config.act_shape, rows))),
            "o": Out(stream.Signature(data.StructLayout(out_fields))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, R, C = self.config, self.rows, self.cols
        m.d.comb += [self.wl.ready.eq(1), self.a.ready.eq(1)]

        # Weights: a shift register of rows, loaded from the top.
        w = [[Signal(cfg.weight_shape, name=f"w_{r}_{c}") for c in range(C)] for r in range(R)]
        with m.If(self.wl.valid):
            for c in range(C):
                m.d.sync += w[0][c].eq(self.wl.payload[c])
                for r in range(1, R):
                    m.d.sync += w[r][c].eq(w[r - 1][c])

        # Left-edge skew: row r delayed r cycles.
        a_edge = []
        for r in range(R):
            sig = self.a.payload[r]
            for d in range(r):
                nxt = Signal(cfg.act_shape, name=f"skew_{r}_{d}")
                m.d.sync += nxt.eq(sig)
                sig = nxt
            a_edge.append(sig)

        # Cells: activation registers move right, partial sums move down.
        a_in = [[a_edge[r]] for r in range(R)]
        for r in range(R):
            for c in range(1, C):
                reg = Signal(cfg.act_shape, name=f"a_{r}_{c}")
                m.d.sync += reg.eq(a_in[r][c - 1])
                a_in[r].append(reg)
        psum_shape = signed(self.psum_bits)
        bottom = []
        for c in range(C):
            psum = None
            for r in range(R):
                p = cfg.product(a_in[r][c], w[r][c])
                s = Signal(psum_shape, name=f"psum_{r}_{c}")
                m.d.sync += s.eq(p if psum is None else psum + p)
                psum = s
            bottom.append(psum)

        # Bottom-edge de-skew: column c delayed C-1-c cycles.
        for c in range(C):
            sig = bottom[c]
            for d in range(C - 1 - c):
                nxt = Signal(psum_shape, name=f"deskew_{c}_{d}")
                m.d.sync += nxt.eq(sig)
                sig = nxt
            m.d.comb += self.o.payload.y[c].eq(sig)

        # Valid (and the shared activation row sum) travel a delay line of the array latency.
        v = self.a.valid
        s_a = None
        if self.act_sum:
            s_a = Signal(signed(self.act_sum_bits))
            total = self.a.payload[0].as_signed() if cfg.act_signed else self.a.payload[0]
            for r in range(1, R):
                total = total + self.a.payload[r]
            m.d.comb += s_a.eq(total)
        for d in range(self.latency_cycles):
            nv = Signal(name=f"valid_{d}")
            m.d.sync += nv.eq(v)
            v = nv
            if s_a is not None:
                ns = Signal(signed(self.act_sum_bits), name=f"act_sum_{d}")
                m.d.sync += ns.eq(s_a)
                s_a = ns
        m.d.comb += self.o.valid.eq(v)
        if s_a is not None:
            m.d.comb += self.o.payload.act_sum.eq(s_a)
        return m


class WSShadowArray(wiring.Component):
    """R x C weight-stationary array with double-buffered weights and an ``lanes``-lane weight-load bus per
    column: the micro-architecture of ``sim.array_timing`` (and of its register-level reference
    ``sim.array_reference``), so a fold sequence driven on the simulator's schedule leaves in the cycles it
    computes.

    - ``wl``: per lane and column, a row-addressed write ``{en, row, w, top}`` into PE (row, c)'s shadow
      register at the cycle's closing edge; ``top`` marks the fold's top row (its partial-sum input is zero).
      Lane l of every column is one bus; ``lanes`` of them let that many folds' write waves overlap
      (``array.weight_load_bits_per_cycle``: ``accel.design.weight_load_lanes``).
    - ``a``: per row, ``{v, a, first, tn}`` entering column 0; an activation moves one PE right per cycle.  A
      PE swaps shadow -> active when an activation with ``first`` (the fold's first row) reaches it, and
      multiplies with the swapped-in weight in that cycle; ``tn`` (the fold's width) travels with it.
    - ``o``: per column, ``{v, y}``: the bottom row's partial sum, valid in the cycle after the bottom PE
      formed it (``v`` only for columns inside the fold).  Folds occupy the bottom rows, so every fold's
      sum leaves at the bottom edge: the chain is not cut inside a fold (group size >= the fold's rows).
    """

    def __init__(self, config: MacConfig, rows: int, cols: int, lanes: int = 1):
        if not (isinstance(lanes, int) and lanes >= 1):
            from accel.errors import ConfigError

            raise ConfigError(f"weight-load lanes must be an integer >= 1, got {lanes!r}")
        self.config, self.rows, self.cols, self.lanes = config, rows, cols, lanes
        self.psum_bits = config.product_shape.width + _clog2(rows)
        write = data.StructLayout({"en": 1, "row": max(_clog2(rows), 1), "w": config.weight_shape, "top": 1})
        act = data.StructLayout({"v": 1, "a": config.act_shape, "first": 1, "tn": _clog2(cols + 1)})
        out = data.StructLayout({"v": 1, "y": signed(self.psum_bits)})
        super().__init__({
            "wl": In(stream.Signature(data.ArrayLayout(data.ArrayLayout(write, cols), lanes))),
            "a": In(stream.Signature(data.ArrayLayout(act, rows))),
            "o": Out(stream.Signature(data.ArrayLayout(out, cols))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, R, C = self.config, self.rows, self.cols
        m.d.comb += [self.wl.ready.eq(1), self.a.ready.eq(1)]
        psum_shape = signed(self.psum_bits)
        act_layout = self.a.payload.shape().elem_shape
        # activation registers (value, valid, first, fold width) moving right; column 0 sees the left edge
        cur = [[Signal(act_layout, name=f"a_{r}_0") for r in range(R)]]
        for r in range(R):
            m.d.comb += cur[0][r].eq(Mux(self.a.valid, self.a.payload[r].as_value(), 0))
        for c in range(1, C):
            cur.append([Signal(act_layout, name=f"a_{r}_{c}") for r in range(R)])
            for r in range(R):
                m.d.sync += cur[c][r].eq(cur[c - 1][r])
        psum = [[Signal(psum_shape, name=f"psum_{r}_{c}") for c in range(C)] for r in range(R)]
        out_v = [Signal(name=f"out_v_{c}") for c in range(C)]
        for c in range(C):
            for r in range(R):
                x = cur[c][r]
                shadow = Signal(cfg.weight_shape, name=f"shadow_{r}_{c}")
                shadow_top = Signal(name=f"shadow_top_{r}_{c}")
                active = Signal(cfg.weight_shape, name=f"w_{r}_{c}")
                active_top = Signal(name=f"top_{r}_{c}")
                swap = x.v & x.first
                w = Mux(swap, shadow, active)
                top = Mux(swap, shadow_top, active_top)
                m.d.sync += [active.eq(w), active_top.eq(top)]
                up = 0 if r == 0 else Mux(top, 0, psum[r - 1][c])
                m.d.sync += psum[r][c].eq(up + cfg.product(x.a, w))
                if r == R - 1:
                    m.d.sync += out_v[c].eq(x.v & (c < x.tn))
                for lane in range(self.lanes):
                    port = self.wl.payload[lane][c]
                    with m.If(self.wl.valid & port.en & (port.row == r)):
                        m.d.sync += [shadow.eq(port.w), shadow_top.eq(port.top)]
            m.d.comb += [self.o.payload[c].v.eq(out_v[c]), self.o.payload[c].y.eq(psum[R - 1][c])]
        m.d.comb += self.o.valid.eq(Cat(*out_v).any())
        return m
