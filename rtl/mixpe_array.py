"""The MixPE array: an R x C weight-stationary array with the group dequantization units at the column edge.

Each fold (R rows of K, the C columns) streams M activation rows through :class:`rtl.array.WSArray`;
at the bottom edge, column c's unit keeps per-row state for up to ``max_rows`` rows: the integer group
sums P (and the shared S_a) accumulated over the ``g / R`` folds of a group, then, at the group's last
fold, the FP32 term (:func:`rtl.dequant.dequant_term`) added to the row's FP32 accumulator; at the last
group ``y = fp32(s_a * acc)``.  This is ``MixPEW4A8.gemm`` for one column tile, bit for bit.

Streams: ``wl`` loads weight rows (as WSArray); ``q`` latches the fold's per-column scale and zero or
min (one beat per fold, before its activations); ``a`` carries the activation row, its fp32 per-token
scale and the fold's flags (``row0`` on the fold's first row, ``first_fold``/``last_fold`` of the group,
``first_group``/``last_group``), constant within a fold; ``o`` gives the C fp32 outputs of a row after
its last group.  Latency: R + C cycles from an activation row to its output (WSArray's R + C - 1, plus
the edge unit's register).  The group size must be a multiple of R.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.array import WSArray
from rtl.dequant import dequant_term
from rtl.fp32 import fp32_add, fp32_mul
from rtl.mac import MacConfig


def check_group_size(rows: int, group_size: int) -> None:
    """Raise :class:`ConfigError` unless ``group_size`` is a multiple of ``rows``."""
    if group_size % rows:
        raise ConfigError(f"the MixPE array needs a group size that is a multiple of its {rows} rows, got "
                          f"group_size={group_size!r} (valid: {rows}, {2 * rows}, {4 * rows}, ...)")


class MixPEArray(wiring.Component):
    """See the module docstring (construct through :func:`rtl.golden.mixpe_array`, which validates first)."""

    def __init__(self, config: MacConfig, rows: int, cols: int, group_size: int, correction: str, *,
                 max_rows: int = 16, zero_bits: int = 4):
        check_group_size(rows, group_size)
        self.config, self.rows, self.cols, self.group_size = config, rows, cols, group_size
        self.correction, self.max_rows, self.zero_bits = correction, max_rows, zero_bits
        self.folds_per_group = group_size // rows
        self.core = WSArray(config, rows, cols, act_sum=correction != "none")
        self.latency_cycles = self.core.latency_cycles + 1
        gs = max(1, (self.folds_per_group - 1).bit_length())
        self.p_bits = self.core.psum_bits + gs
        self.s_bits = self.core.act_sum_bits + gs
        q_fields = {"scale": data.ArrayLayout(unsigned(32), cols)}
        if correction == "zero":
            q_fields["zero"] = data.ArrayLayout(unsigned(zero_bits), cols)
        if correction == "min":
            q_fields["min"] = data.ArrayLayout(unsigned(32), cols)
        a_fields = {"x": data.ArrayLayout(config.act_shape, rows), "act_scale": unsigned(32), "row0": 1,
                    "first_fold": 1, "last_fold": 1, "first_group": 1, "last_group": 1}
        super().__init__({
            "wl": In(stream.Signature(data.ArrayLayout(config.weight_shape, cols))),
            "q": In(stream.Signature(data.StructLayout(q_fields))),
            "a": In(stream.Signature(data.StructLayout(a_fields))),
            "o": Out(stream.Signature(data.StructLayout({"y": data.ArrayLayout(unsigned(32), cols)}))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        C, L = self.cols, self.core.latency_cycles
        m.d.comb += [self.wl.ready.eq(1), self.q.ready.eq(1), self.a.ready.eq(1),
                     core.wl.valid.eq(self.wl.valid), core.wl.payload.eq(self.wl.payload),
                     core.a.valid.eq(self.a.valid), core.a.payload.eq(self.a.payload.x)]
        q = Signal(self.q.payload.shape())
        with m.If(self.q.valid):
            m.d.sync += q.eq(self.q.payload)
        # side band (scale and flags) delayed to meet the array's outputs
        side = self.a.payload
        for d in range(L):
            nxt = Signal(self.a.payload.shape(), name=f"side_{d}")
            m.d.sync += nxt.eq(side)
            side = nxt
        out = core.o.payload
        row = Signal(range(self.max_rows + 1))
        idx = Signal(range(self.max_rows))
        m.d.comb += idx.eq(Mux(side.row0, 0, row))
        with m.If(core.o.valid):
            m.d.sync += row.eq(idx + 1)
        s_mem = Array(Signal(signed(self.s_bits), name=f"sacc_{r}") for r in range(self.max_rows))
        s_new = Signal(signed(self.s_bits))
        if self.correction != "none":
            m.d.comb += s_new.eq(Mux(side.first_fold, 0, s_mem[idx]) + out.act_sum)
            with m.If(core.o.valid):
                m.d.sync += s_mem[idx].eq(s_new)
        m.d.sync += self.o.valid.eq(core.o.valid & side.last_fold & side.last_group)
        for c in range(C):
            p_mem = Array(Signal(signed(self.p_bits), name=f"pacc_{c}_{r}") for r in range(self.max_rows))
            f_mem = Array(Signal(32, name=f"facc_{c}_{r}") for r in range(self.max_rows))
            p_new = Signal(signed(self.p_bits), name=f"p_new_{c}")
            m.d.comb += p_new.eq(Mux(side.first_fold, 0, p_mem[idx]) + out.y[c])
            zero = q.zero[c] if self.correction == "zero" else None
            mn = q.min[c] if self.correction == "min" else None
            term = dequant_term(m, p_new, s_new if self.correction != "none" else None, q.scale[c], zero, mn,
                                self.correction, f"dq{c}")
            f_new = fp32_add(m, Mux(side.first_group, 0, f_mem[idx]), term, f"acc{c}")
            y = fp32_mul(m, side.act_scale, f_new, f"out{c}")
            with m.If(core.o.valid):
                m.d.sync += p_mem[idx].eq(p_new)
                with m.If(side.last_fold):
                    m.d.sync += f_mem[idx].eq(f_new)
                m.d.sync += self.o.payload.y[c].eq(y)
        return m
