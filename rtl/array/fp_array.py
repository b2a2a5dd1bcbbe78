"""An R x C weight-stationary array of FP32-accumulating cells, partial sums in FP32 down the columns.

Same dataflow and timing as :class:`rtl.array.ws_array.WSArray` (activations skewed in at the left edge and moved
right, partial sums moved down, outputs de-skewed at the bottom; latency R + C - 1 from an activation row
to its output row), but each cell computes ``psum_out = fp32(psum_in + a * w)`` (:func:`rtl.arith.binary32.fp32_add`,
one RNE rounding per cell) with the cell's exact product, so a column sums its R products in k order.

Pipelined cells (``pipeline_depth`` P): the product takes P registers and the add P + 1 (P inside the adder), so
activations are skewed P + 1 cycles per row and the psum input meets row 0 P cycles after the activation;
latency R + C - 1 + (R + 1) P (``sim.array_timing.tile_latency_cycles`` with ``pe.pipeline_depth``).  The output
scaling (``out_scale``) stays combinational.

The top of column c adds onto ``psum[c]`` (an FP32 input carried with each activation row, delayed c
cycles to meet it): feeding each output row's running sum back in for the next fold of K keeps the
golden's k-order FP32 accumulation across folds (+0 for the first fold), bit for bit.

The cell is a parameter (a *cell* provides ``act_shape``, ``weight_shape``, ``load_layout``,
``load(m, beat, name)`` -> the stationary weight, ``product(m, a, w, name)`` -> binary32 bits of the
exact product): :class:`rtl.pe.fp_mac.FpMacConfig` is one (minifloat codes, or 4-bit codes dequantized to
FP16 once, at the top edge, as each weight row is loaded); an L-Mul cell can be another.

Weight load: ``wl`` beats shift rows in from the top (load rows R-1, ..., 0 in order), as WSArray.

``out_scale`` (``minifloat_mac``'s per-token x per-channel output scaling, after the last fold): ``ws``
latches the C per-channel weight scales (binary32 bits); each activation row carries its per-token scale
``act_scale`` and a ``last`` flag (the fold that completes K); on ``last`` rows the column edge emits
y = fp32(acc * fp32(s_a * s_w)) (two RNE roundings, :func:`rtl.arith.binary32.fp32_mul`, the golden's
``_dequant_out``), on other rows the raw FP32 sum for the next fold.  Combinational after the last
de-skew register: the latency is unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.arith.binary32 import ADD_DEPTHS, fp32_add, fp32_mul
from rtl.arith.pipeline import Cuts, delay, split


class FpWSArray(wiring.Component):
    """R x C weight-stationary array of ``cell`` with FP32 partial sums (see the module docstring)."""

    def __init__(self, cell, rows: int, cols: int, *, out_scale: bool = False, pipeline_depth: int = 0):
        self.cell, self.rows, self.cols, self.out_scale = cell, rows, cols, out_scale
        self.pipeline_depth = pipeline_depth
        self.latency_cycles = rows + cols - 1 + (rows + 1) * pipeline_depth
        a_fields = {"x": data.ArrayLayout(cell.act_shape, rows), "psum": data.ArrayLayout(unsigned(32), cols)}
        members = {"wl": In(stream.Signature(data.ArrayLayout(cell.load_layout, cols)))}
        if out_scale:
            a_fields.update(act_scale=unsigned(32), last=1)
            members["ws"] = In(stream.Signature(data.ArrayLayout(unsigned(32), cols)))
        members["a"] = In(stream.Signature(data.StructLayout(a_fields)))
        members["o"] = Out(stream.Signature(data.StructLayout({"y": data.ArrayLayout(unsigned(32), cols)})))
        super().__init__(members)

    @staticmethod
    def _delay(m: Module, sig, n: int, shape, name: str):
        for d in range(n):
            nxt = Signal(shape, name=f"{name}_{d}")
            m.d.sync += nxt.eq(sig)
            sig = nxt
        return sig

    def elaborate(self, platform):
        m = Module()
        cell, R, C = self.cell, self.rows, self.cols
        m.d.comb += [self.wl.ready.eq(1), self.a.ready.eq(1)]

        # Stationary weights, loaded through the cell's load path at the top edge (one per column).
        w = [[Signal(cell.weight_shape, name=f"w_{r}_{c}") for c in range(C)] for r in range(R)]
        with m.If(self.wl.valid):
            for c in range(C):
                m.d.sync += w[0][c].eq(cell.load(m, self.wl.payload[c], f"load{c}"))
                for r in range(1, R):
                    m.d.sync += w[r][c].eq(w[r - 1][c])

        P = self.pipeline_depth
        a_in = [[self._delay(m, self.a.payload.x[r], r * (P + 1), cell.act_shape, f"skew_{r}")] for r in range(R)]
        for r in range(R):
            for c in range(1, C):
                reg = Signal(cell.act_shape, name=f"a_{r}_{c}")
                m.d.sync += reg.eq(a_in[r][c - 1])
                a_in[r].append(reg)
        if self.out_scale:
            ws = Signal(data.ArrayLayout(unsigned(32), C))
            m.d.comb += self.ws.ready.eq(1)
            with m.If(self.ws.valid):
                m.d.sync += ws.eq(self.ws.payload)
            sa = self._delay(m, self.a.payload.act_scale, self.latency_cycles, 32, "act_scale")
            last = self._delay(m, self.a.payload.last, self.latency_cycles, 1, "last")
        from rtl.pe.fp_mac import pipelined_product

        cuts, extra = split(ADD_DEPTHS, P)
        for c in range(C):
            psum = self._delay(m, self.a.payload.psum[c], c + P, 32, f"psum_in_{c}")
            for r in range(R):
                p = pipelined_product(m, cell, a_in[r][c], w[r][c], P, f"prod_{r}_{c}")
                total = fp32_add(m, psum, p, f"add_{r}_{c}", Cuts(m, cuts, f"add_{r}_{c}"))
                s = Signal(32, name=f"psum_{r}_{c}")
                m.d.sync += s.eq(delay(m, {"s": total}, extra, f"add_{r}_{c}_x")["s"])
                psum = s
            acc = self._delay(m, psum, C - 1 - c, 32, f"deskew_{c}")
            if self.out_scale:
                scale = fp32_mul(m, sa, ws[c], f"scale_{c}")
                y = fp32_mul(m, acc, scale, f"out_{c}")
                m.d.comb += self.o.payload.y[c].eq(Mux(last, y, acc))
            else:
                m.d.comb += self.o.payload.y[c].eq(acc)
        m.d.comb += self.o.valid.eq(self._delay(m, self.a.valid, self.latency_cycles, 1, "valid"))
        return m
