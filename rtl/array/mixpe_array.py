"""The MixPE array: an R x C weight-stationary array with pipelined group dequantization at the column edge.

Each fold (R rows of K, the C columns) streams M activation rows through :class:`rtl.array.ws_array.WSArray`
cores.  With a group size g >= R (g % R == 0) one R-row core sums a fold; the column edge keeps the
integer group sums P (and S_a) of each row over the ``g / R`` folds of a group.  With g < R (R % g == 0)
each column's partial-sum chain is cut every g rows: R/g cores of g rows whose sums (the *taps*) are
delayed R - g cycles, so all R/g group sums of a row reach the column edge together, in the same cycle
an uncut R-row chain would deliver its sum (the simulator's timing, ``sim.array_timing``).  S_a per group
is summed at the left edge (activation values on their grid) and travels with the row.

At the edge, per column, :func:`rtl.array.dequant.dequant_datapath` (``latency_cycles`` pipeline registers,
R/g taps per beat, one FP32 accumulator per row in flight) adds each group's FP32 term in group order and
scales the output: ``MixPEW4A8.gemm`` / ``MixPEW4A16.gemm`` for one column tile, bit for bit.

Streams: ``wl`` loads weight rows (R beats, rows R-1..0, as WSArray; whole loads only); ``q`` latches the
fold's scales and zeros or mins, entry ``t * C + c`` for the fold's group t and column c (one beat per fold,
before its activations; held until the fold's outputs have entered the dequant pipeline); ``a`` carries
the activation row, its fp32 per-token scale (W4A8) and the fold's flags (``row0`` on the fold's first
row, ``first_fold``/``last_fold`` of the group, ``first_group``/``last_group``: the fold holds the
output's first / last group), constant within a fold; ``o`` gives the C fp32 outputs of a row after its
last group.

Timing (shared with the simulator, ``tests/rtl/array/test_mixpe_array.py``): an activation row presented in
cycle t leaves as an output row valid in cycle t + R + C - 1 + L, L = ``dequant_latency`` (the design's
``dequant.latency_cycles``): the array's R + C - 1, then the L-cycle dequant pipeline, paid once after the
last group sum reaches the edge, as ``sim.engine`` adds ``dequant.latency_cycles`` once per op after the
last valid array output.  So a fold of m rows takes ``sim.array_timing.tile_latency_cycles + L`` cycles
from its first activation row through its last output.  Rows may enter every cycle: each column's unit
takes the R/g group sums of a row per cycle, so the design must say ``throughput_per_cycle >= R/g``
(:func:`check_dequant_spec`), else the simulator would count dequant stalls this RTL does not have.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.array.dequant import DequantConfig, dequant_datapath
from rtl.array.ws_array import WSArray
from rtl.pe.mac import MacConfig


def check_group_size(rows: int, group_size: int) -> None:
    """Raise :class:`ConfigError` unless ``group_size`` divides ``rows`` or is a multiple of it."""
    if group_size % rows and rows % group_size:
        divisors = [d for d in range(1, rows + 1) if rows % d == 0]
        raise ConfigError(f"the MixPE array needs a group size that divides its {rows} rows or is a multiple of "
                          f"them, got group_size={group_size!r} (valid: {', '.join(map(str, divisors))}, "
                          f"{2 * rows}, {3 * rows}, ...)")


def _clog2(n: int) -> int:
    return (n - 1).bit_length()


def taps(rows: int, group_size: int) -> int:
    """Group sums per column per activation row at the column edge (R / g for g < R, else 1)."""
    return rows // group_size if group_size < rows else 1


def rtl_dequant_spec(rows: int, group_size: int):
    """The :class:`accel.design.DequantSpec` the RTL array implements when no design gives one: the design
    default (its ``latency_cycles``), one unit per column taking the R/g group sums of a row per cycle."""
    from accel.design import DequantSpec

    return DequantSpec(throughput_per_cycle=max(DequantSpec().throughput_per_cycle, taps(rows, group_size)))


def check_dequant_spec(dequant, rows: int, cols: int, group_size: int) -> None:
    """Raise :class:`ConfigError` unless the RTL array realises ``dequant`` with the simulator's timing:
    column-edge units, one per column, each accepting at least the R/g group sums of a row per cycle
    (fewer would make the simulator count dequant stalls the RTL does not have)."""
    need = taps(rows, group_size)
    problems = []
    if dequant.placement != "column_edge":
        problems.append(f"dequant.placement must be 'column_edge' (valid for the RTL array: column_edge), got "
                        f"{dequant.placement!r}")
    if dequant.count not in (None, cols):
        problems.append(f"dequant.count must be omitted or {cols} (one unit per column), got {dequant.count!r}")
    if dequant.throughput_per_cycle < need:
        problems.append(f"dequant.throughput_per_cycle must be >= {need} (the {rows // need}-row taps deliver "
                        f"{need} group sums per row per column, group_size={group_size}), got "
                        f"{dequant.throughput_per_cycle!r}")
    if problems:
        raise ConfigError("the RTL MixPE array cannot realise this dequant spec: " + "; ".join(problems))


class MixPEArray(wiring.Component):
    """See the module docstring (construct through :func:`rtl.config.mixpe_array`, which validates first)."""

    def __init__(self, config: MacConfig, rows: int, cols: int, group_size: int, correction: str, *,
                 max_rows: int = 16, zero_bits: int = 4, dequant_latency: int = 4, grid_exp: int = 0,
                 act_scale: bool = True, accumulate_cycles: int = 1):
        check_group_size(rows, group_size)
        self.config, self.rows, self.cols, self.group_size = config, rows, cols, group_size
        self.correction, self.max_rows, self.zero_bits = correction, max_rows, zero_bits
        self.taps = taps(rows, group_size)
        self.folds_per_group = max(1, group_size // rows)
        core_rows = rows // self.taps
        self.cores = [WSArray(config, core_rows, cols) for _ in range(self.taps)]
        self.array_latency = rows + cols - 1
        self.dequant = DequantConfig(correction, cols=cols, taps=self.taps, rows=max_rows,
                                     latency_cycles=dequant_latency, grid_exp=grid_exp, act_scale=act_scale,
                                     pre_depth=16 if self.folds_per_group > 1 else 0,
                                     accumulate_cycles=accumulate_cycles)
        self.latency_cycles = self.array_latency + dequant_latency
        fb = _clog2(self.folds_per_group)
        self.p_bits = self.cores[0].psum_bits + fb
        x = Signal(config.act_shape)
        v = Value.cast(config.act_value(x))
        self.s_bits = v.shape().width + (0 if v.shape().signed else 1) + _clog2(core_rows) + fb
        ct = cols * self.taps
        q_fields = {"scale": data.ArrayLayout(unsigned(32), ct)}
        if correction == "zero":
            q_fields["zero"] = data.ArrayLayout(unsigned(zero_bits), ct)
        if correction == "min":
            q_fields["min"] = data.ArrayLayout(unsigned(32), ct)
        a_fields = {"x": data.ArrayLayout(config.act_shape, rows)}
        if act_scale:
            a_fields["act_scale"] = unsigned(32)
        a_fields.update({"row0": 1, "first_fold": 1, "last_fold": 1, "first_group": 1, "last_group": 1})
        super().__init__({
            "wl": In(stream.Signature(data.ArrayLayout(config.weight_shape, cols))),
            "q": In(stream.Signature(data.StructLayout(q_fields))),
            "a": In(stream.Signature(data.StructLayout(a_fields))),
            "o": Out(stream.Signature(data.StructLayout({"y": data.ArrayLayout(unsigned(32), cols)}))),
        })

    def _delay(self, m: Module, value, cycles: int, name: str, *, reset_less: bool = True):
        for d in range(cycles):
            nxt = Signal(Value.cast(value).shape(), name=f"{name}_{d}", reset_less=reset_less)
            m.d.sync += nxt.eq(value)
            value = nxt
        return value

    def elaborate(self, platform):
        m = Module()
        R, C, T, L = self.rows, self.cols, self.taps, self.array_latency
        g_rows = R // T
        x = self.a.payload.x
        m.d.comb += [self.wl.ready.eq(1), self.q.ready.eq(1), self.a.ready.eq(1)]
        # Weight loads: beat b of a load writes row R-1-b; core t holds rows t*g_rows .. (t+1)*g_rows-1.
        beat = Signal(range(R), name="wl_beat")
        if T > 1:
            with m.If(self.wl.valid):
                m.d.sync += beat.eq(Mux(beat == R - 1, 0, beat + 1))
        for t, core in enumerate(self.cores):
            m.submodules[f"core{t}"] = core
            lo = R - (t + 1) * g_rows
            mine = self.wl.valid if T == 1 else self.wl.valid & (beat >= lo) & (beat < lo + g_rows)
            m.d.comb += [core.wl.valid.eq(mine), core.wl.payload.eq(self.wl.payload), core.a.valid.eq(self.a.valid)]
            m.d.comb += [core.a.payload[r].eq(x[t * g_rows + r]) for r in range(g_rows)]
        q = Signal(self.q.payload.shape())
        with m.If(self.q.valid):
            m.d.sync += q.eq(self.q.payload)
        # Side band: flags, per-token scale and the per-group activation sums, delayed to meet the outputs.
        side = {k: self.a.payload[k] for k in ("row0", "first_fold", "last_fold", "first_group", "last_group")}
        if self.dequant.act_scale:
            side["act_scale"] = self.a.payload.act_scale
        if self.correction != "none":
            for t in range(T):
                total = 0
                for r in range(g_rows):
                    v = Value.cast(self.config.act_value(x[t * g_rows + r]))
                    total = total + v
                s = Signal(signed(self.s_bits), name=f"sa_{t}")
                m.d.comb += s.eq(total)
                side[f"s{t}"] = s
        side = {k: self._delay(m, v, L, f"side_{k}") for k, v in side.items()}
        valid = self._delay(m, self.a.valid, L, "valid", reset_less=False)
        p = [[self._delay(m, core.o.payload.y[c], R - g_rows, f"tap_{t}_{c}") for c in range(C)]
             for t, core in enumerate(self.cores)]
        # Column edge: row index, group sums over the folds of a group (g > R).
        row = Signal(range(self.max_rows + 1))
        idx = Signal(range(self.max_rows))
        m.d.comb += idx.eq(Mux(side["row0"], 0, row))
        with m.If(valid):
            m.d.sync += row.eq(idx + 1)
        vals = {"valid": valid & side["last_fold"], "idx": idx, "first": side["first_group"],
                "last": side["last_group"]}
        if self.dequant.act_scale:
            vals["act_scale"] = side["act_scale"]

        def group_sum(value, key):
            if self.folds_per_group == 1:
                return value
            mem = Array(Signal(signed(self.p_bits if key[0] == "p" else self.s_bits), name=f"{key}_acc_{r}")
                        for r in range(self.max_rows))
            new = Signal(signed(self.p_bits if key[0] == "p" else self.s_bits), name=f"{key}_new")
            m.d.comb += new.eq(Mux(side["first_fold"], 0, mem[idx]) + value)
            with m.If(valid):
                m.d.sync += mem[idx].eq(new)
            return new

        for c in range(C):
            for t in range(T):
                vals[f"scale{c}_{t}"] = q.scale[t * C + c]
                if self.correction == "zero":
                    vals[f"zero{c}_{t}"] = q.zero[t * C + c]
                if self.correction == "min":
                    vals[f"min{c}_{t}"] = q.min[t * C + c]
                vals[f"p{c}_{t}"] = group_sum(p[t][c], f"p{c}_{t}")
        if self.correction != "none":
            for t in range(T):
                vals[f"s{t}"] = group_sum(side[f"s{t}"], f"s{t}")
        o_valid, y = dequant_datapath(m, self.dequant, vals)
        m.d.comb += self.o.valid.eq(o_valid)
        m.d.comb += [self.o.payload.y[c].eq(y[c]) for c in range(C)]
        return m
