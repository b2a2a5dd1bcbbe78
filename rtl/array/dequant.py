"""The MixPE group dequantization datapath (FP32, after each group's integer GEMM), pipelined.

Per output it takes the exact group sums in group order and reproduces the golden
``accel.pe.mixpe.dequant_groups`` (and the per-token scaling of ``MixPEW4A8.gemm``) bit for bit:

- zero points (uint4): ``t = P - z * S_a`` (exact integer), ``term = fp32(s * fp32(t))``;
- mins (Q4_1): ``term = fp32(fp32(d * fp32(P)) + fp32(m * fp32(S_a)))``;
- otherwise (int4, Q4_0): ``term = fp32(s * fp32(P))``;
- ``acc = fp32(acc + term)`` from +0, in group order (``taps`` group sums arriving together are added
  one after another, lowest group first); on the output's last group ``y = fp32(s_a * acc)`` (W4A8) or
  ``y = acc`` (W4A16, ``act_scale=False``).

P and S_a are integers in units of ``2^grid_exp`` (W4A8: 0; W4A16: -24, FP16's grid): the first rounding
is ``fp32`` of the integer (RNE), then the exponent is lowered by ``-grid_exp`` (exact: results stay normal).
Arithmetic: the normal-range operators of :mod:`rtl.arith.binary32` (RNE; normal numbers and zero).

Pipeline: the steps convert | scale | min-add (Q4_1 only) | accumulate | act-scale (W4A8 only) get
``latency_cycles`` registers.  ``accumulate_cycles - 1`` of them go inside the accumulate step (between
the FP32 adders' own stages, :mod:`rtl.arith.pipeline`): the loop that reads an output row's running sum,
adds the group terms and writes it back then takes ``accumulate_cycles`` cycles, and the next group sum
of the same row may arrive only that many cycles later (the simulator's ``dequant.accumulate_cycles``;
the stand-alone :class:`DequantUnit` keeps ``accumulate_cycles`` outputs in flight, interleaved).  The
rest go at the boundaries between the operations' own pipeline segments (:meth:`DequantConfig.segments`,
estimated depths), placed by :func:`rtl.arith.pipeline.choose_cuts` to make the deepest stage as shallow as
possible; registers beyond one per boundary delay the output.  Results do not depend
on the registers; the output is valid ``latency_cycles`` cycles after the input beat of the output's last
group (0: combinational).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Array, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import ADD_DEPTHS, MUL_DEPTHS, ROUND_DEPTHS, fp32_add, fp32_mul, int_to_fp32
from rtl.arith.pipeline import Cuts, carrying, choose_cuts, delay, split

CORRECTIONS = ("none", "zero", "min")

@dataclass(frozen=True)
class DequantConfig:
    """Shape of one dequant datapath: ``cols`` outputs side by side, each fed ``taps`` group sums per beat
    and keeping ``rows`` accumulators (one per output row in flight), ``latency_cycles`` pipeline registers.
    ``pre_depth``: logic depth in front of the datapath's inputs (placement only)."""

    correction: str
    cols: int = 1
    taps: int = 1
    rows: int = 1
    latency_cycles: int = 1
    grid_exp: int = 0
    act_scale: bool = True
    pre_depth: int = 0
    accumulate_cycles: int = 1

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise ConfigError(f"unknown dequant correction {self.correction!r}; valid: {', '.join(CORRECTIONS)}")
        for name in ("cols", "taps", "rows"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ConfigError(f"dequant datapath {name} must be an integer >= 1, got {v!r}")
        if not (isinstance(self.latency_cycles, int) and self.latency_cycles >= 0):
            raise ConfigError(f"dequant latency_cycles must be an integer >= 0, got {self.latency_cycles!r}")
        most = min(self.latency_cycles, len(self.loop_depths()) - 1) + 1
        if not (isinstance(self.accumulate_cycles, int) and 1 <= self.accumulate_cycles <= most):
            raise ConfigError(f"dequant accumulate_cycles must be an integer in 1..{most} (at most latency_cycles + 1 "
                              f"and the accumulator adders' stages), got {self.accumulate_cycles!r}")

    def loop_depths(self) -> list[int]:
        """Segments of the accumulator loop: ``taps`` FP32 adders one after another."""
        return list(ADD_DEPTHS) * self.taps

    def loop_cuts(self) -> frozenset[int]:
        """The loop's pipeline boundaries (of ``loop_depths``) holding its ``accumulate_cycles - 1`` registers."""
        return choose_cuts(self.loop_depths(), self.accumulate_cycles - 1)

    def ops(self) -> list[tuple[str, tuple[int, ...]]]:
        """The datapath's operations in order, each with the estimated depths of its pipeline segments: the
        segment list :meth:`segments` places the registers on (``pre``: logic in front; ``out``: the output)."""
        conv = ((8,) if self.correction == "zero" else ()) + ROUND_DEPTHS  # (p - z S_a), int -> fp32
        ops = [("pre", (self.pre_depth,)), ("convert", conv), ("scale", MUL_DEPTHS)]
        if self.correction == "min":
            ops.append(("min_add", ADD_DEPTHS))
        ops.append(("accumulate", (-(-sum(self.loop_depths()) // self.accumulate_cycles),)))  # its deepest stage
        if self.act_scale:
            ops.append(("act_scale", MUL_DEPTHS))
        return [*ops, ("out", (0,))]

    def segments(self) -> tuple[list[int], dict[str, int]]:
        """(segment depths, the first segment of each operation)."""
        depths, first = [], {}
        for op, d in self.ops():
            first[op] = len(depths)
            depths += d
        return depths, first

    def cuts(self) -> tuple[frozenset[int], int]:
        """(the boundaries of :meth:`segments` holding a register, registers left for the output): the
        ``latency_cycles`` registers not inside the accumulator loop."""
        return split(self.segments()[0], self.latency_cycles - (self.accumulate_cycles - 1))


def _grid_scaled(m: Module, bits: Value, grid_exp: int, name: str) -> Value:
    """fp32 bits times 2^grid_exp (grid_exp <= 0; the value is zero or has exponent >= 127 + grid_exp > 0)."""
    if grid_exp == 0:
        return bits
    sig = Signal(32, name=name)
    m.d.comb += sig.eq(Mux(bits[:31] == 0, bits, bits - ((-grid_exp) << 23)))
    return sig


class _Schedule:
    """Where each value of the datapath sits among the chosen boundaries (segment indices of
    :meth:`DequantConfig.segments`): operations are built with the cuts inside their segments and values
    are brought forward through the registers of the boundaries (and the loop) they cross.  A value *at*
    segment s is the output of segment s - 1 (inputs: at 1, after the ``pre`` segment)."""

    def __init__(self, m: Module, cfg: DequantConfig, name: str):
        self.m, self.cfg, self.name = m, cfg, name
        self.chosen, self.extra = cfg.cuts()
        self.depths, self.first = cfg.segments()
        self.sizes = {op: len(d) for op, d in cfg.ops()}
        self.n = 0

    def bring(self, v, at: int, to: int):
        """Value ``v`` (at segment ``at``) as the input of segment ``to``."""
        regs = sum(at <= b <= to for b in self.chosen)
        if at <= self.first["accumulate"] < to:
            regs += self.cfg.accumulate_cycles - 1
        self.n += 1
        return delay(self.m, {"v": v}, regs, f"{self.name}_b{self.n}")["v"]

    def op(self, name: str, inputs: list[tuple], build):
        """``build(pipe, *values)`` as operation ``name`` on ``inputs`` ((value, at) pairs): (value, at)."""
        start, k = self.first[name], self.sizes[name]
        ins = [self.bring(v, at, start) for v, at in inputs]
        self.n += 1
        pipe = Cuts(self.m, {b - start for b in self.chosen if start < b < start + k}, f"{self.name}_o{self.n}")
        return build(pipe, *ins), start + k


def dequant_datapath(m: Module, cfg: DequantConfig, vals: dict, name: str = "dq") -> tuple[Value, list[Value]]:
    """Build the pipelined datapath; returns (output valid, [y fp32 bits per column]).

    ``vals``: ``valid``, ``first``, ``last`` (the beat holds the output's first / last group), ``idx``
    (accumulator row, when ``rows > 1``), per column c and tap t ``p{c}_{t}`` (group sums), ``scale{c}_{t}``
    (fp32 bits), ``zero{c}_{t}`` or ``min{c}_{t}`` (fp32 bits); ``s{t}`` (activation sums, with a
    correction), ``act_scale`` (fp32 bits, with ``act_scale``).
    """
    C, T, corr = cfg.cols, cfg.taps, cfg.correction
    sch = _Schedule(m, cfg, name)
    IN = 1

    def cvt(pipe, x, tag):
        bits = int_to_fp32(m, x, f"{name}_cvt_{tag}", pipe)
        return _grid_scaled(m, bits, cfg.grid_exp, f"{name}_f_{tag}")

    def zsub(pipe, p, z, s, tag):
        d = Signal(signed(max(len(p), len(z) + 1 + len(s)) + 1), name=f"{name}_t_{tag}")
        m.d.comb += d.eq(p - z * s)
        (d,) = pipe.cut(d)
        return cvt(pipe, d, tag)

    def mul(tag):
        return lambda pipe, a, b: fp32_mul(m, a, b, f"{name}_{tag}", pipe)

    fs = {}
    if corr == "min":
        for t in range(T):
            fs[t] = sch.op("convert", [(vals[f"s{t}"], IN)], lambda pipe, x, t=t: cvt(pipe, x, f"s{t}"))
    terms = {}
    for c in range(C):
        for t in range(T):
            tag = f"{c}_{t}"
            if corr == "zero":
                f = sch.op("convert", [(vals[f"p{tag}"], IN), (vals[f"zero{tag}"], IN), (vals[f"s{t}"], IN)],
                           lambda pipe, p, z, s, tag=tag: zsub(pipe, p, z, s, tag))
            else:
                f = sch.op("convert", [(vals[f"p{tag}"], IN)], lambda pipe, x, tag=tag: cvt(pipe, x, tag))
            term = sch.op("scale", [(vals[f"scale{tag}"], IN), f], mul(f"mul_s_{tag}"))
            if corr == "min":
                ms = sch.op("scale", [(vals[f"min{tag}"], IN), fs[t]], mul(f"mul_m_{tag}"))
                term = sch.op("min_add", [term, ms],
                              lambda pipe, a, b, tag=tag: fp32_add(m, a, b, f"{name}_add_m_{tag}", pipe))
            terms[c, t] = term
    # the accumulator loop: read a row's sum, add the taps' terms in group order, write it back
    loop = sch.first["accumulate"]
    valid, first, idx = (sch.bring(vals[k], IN, loop) if k in vals else 0 for k in ("valid", "first", "idx"))
    written = delay(m, {"valid": valid, "idx": idx}, cfg.accumulate_cycles - 1, f"{name}_loopw")
    cells = [[Signal(32, name=f"{name}_acc_{c}_{r}") for r in range(cfg.rows)] for c in range(C)]
    ys = []
    for c in range(C):
        pipe = Cuts(m, cfg.loop_cuts(), f"{name}_loop{c}")
        acc = Mux(first, 0, Array(cells[c])[idx] if cfg.rows > 1 else cells[c][0])
        pending = [sch.bring(v, at, loop) for v, at in (terms[c, t] for t in range(T))]
        for t in range(T):
            if t:
                (acc,) = pipe.cut(acc)
            later = {str(u): pending[u] for u in range(t + 1, T)}
            acc, later = carrying(pipe, later, lambda a=acc, b=pending[t], tag=f"{name}_acc_add_{c}_{t}", p=pipe:
                                  fp32_add(m, a, b, tag, p))
            pending[t + 1:] = [later[str(u)] for u in range(t + 1, T)]
        with m.If(written["valid"]):
            m.d.sync += (Array(cells[c])[written["idx"]] if cfg.rows > 1 else cells[c][0]).eq(acc)
        y = (acc, loop + 1)
        if cfg.act_scale:
            y = sch.op("act_scale", [(vals["act_scale"], IN), y], mul(f"mul_sa_{c}"))
        ys.append(delay(m, {"y": sch.bring(*y, sch.first["out"])}, sch.extra, f"{name}_ox{c}")["y"])
    done = sch.bring(vals["valid"] & vals["last"], IN, sch.first["out"])
    return delay(m, {"v": done}, sch.extra, f"{name}_ov")["v"], ys


def dequant_term(m: Module, p, act_sum, scale, zero, min_, correction: str, name: str = "dq"):
    """FP32 bits of one group's dequantized term, combinational (see the module docstring)."""
    if correction == "zero":
        t = Signal(signed(max(len(p), len(zero) + 1 + len(act_sum)) + 1), name=f"{name}_t")
        m.d.comb += t.eq(p - zero * act_sum)
        return fp32_mul(m, scale, int_to_fp32(m, t, f"{name}_cvt_t"), f"{name}_mul_s")
    if correction == "min":
        dp = fp32_mul(m, scale, int_to_fp32(m, p, f"{name}_cvt_p"), f"{name}_mul_d")
        ms = fp32_mul(m, min_, int_to_fp32(m, act_sum, f"{name}_cvt_sa"), f"{name}_mul_m")
        return fp32_add(m, dp, ms, f"{name}_add_m")
    return fp32_mul(m, scale, int_to_fp32(m, p, f"{name}_cvt_p"), f"{name}_mul_s")


def check_unit_latency(latency_cycles) -> None:
    """Raise :class:`ConfigError` unless a stand-alone unit's latency is >= 1 (see :class:`DequantUnit`)."""
    if not (isinstance(latency_cycles, int) and latency_cycles >= 1):
        raise ConfigError(f"the stand-alone dequant unit needs latency_cycles >= 1 (a registered output), got "
                          f"{latency_cycles!r}")


class DequantUnit(wiring.Component):
    """Group dequantization and FP32 accumulation of one output stream (see the module docstring).

    Beat fields: ``p``, ``act_sum`` (with a correction), ``scale`` (fp32 bits of the fp16 scale), ``zero``
    or ``min``, ``act_scale`` (fp32 bits, read on ``last``; W4A8 only), ``first``/``last``.  ``y`` (fp32
    bits) leaves ``latency_cycles`` (>= 1: its inputs are ports, so at least one register) cycles after the
    ``last`` beat.  With ``accumulate_cycles`` S > 1 the unit keeps S running sums, one per cycle slot
    (cycle number mod S): S outputs are interleaved beat by beat, each output's beats S cycles apart.
    """

    def __init__(self, acc_bits: int, act_sum_bits: int, correction: str, zero_bits: int = 4, *,
                 latency_cycles: int = 1, grid_exp: int = 0, act_scale: bool = True, accumulate_cycles: int = 1):
        check_unit_latency(latency_cycles)  # (validate before constructing: rtl.config.dequant_unit)
        self.cfg = DequantConfig(correction, rows=accumulate_cycles, latency_cycles=latency_cycles, grid_exp=grid_exp,
                                 act_scale=act_scale, accumulate_cycles=accumulate_cycles)
        self.interleave = accumulate_cycles
        self.acc_bits, self.act_sum_bits, self.correction, self.zero_bits = acc_bits, act_sum_bits, correction, \
            zero_bits
        self.latency_cycles = latency_cycles
        fields = {"p": signed(acc_bits), "scale": unsigned(32), "first": 1, "last": 1}
        if act_scale:
            fields["act_scale"] = unsigned(32)
        if correction != "none":
            fields["act_sum"] = signed(act_sum_bits)
        if correction == "zero":
            fields["zero"] = unsigned(zero_bits)
        if correction == "min":
            fields["min"] = unsigned(32)
        super().__init__({"i": In(stream.Signature(data.StructLayout(fields))),
                          "o": Out(stream.Signature(data.StructLayout({"y": unsigned(32)})))})

    def elaborate(self, platform):
        m = Module()
        b = self.i.payload
        m.d.comb += self.i.ready.eq(1)
        c = self.correction
        vals = {"valid": self.i.valid, "first": b.first, "last": b.last, "p0_0": b.p, "scale0_0": b.scale}
        if self.interleave > 1:
            slot = Signal(range(self.interleave), name="slot")
            m.d.sync += slot.eq(Mux(slot == self.interleave - 1, 0, slot + 1))
            vals["idx"] = slot
        if self.cfg.act_scale:
            vals["act_scale"] = b.act_scale
        if c != "none":
            vals["s0"] = b.act_sum
        if c == "zero":
            vals["zero0_0"] = b.zero
        if c == "min":
            vals["min0_0"] = b.min
        valid, (y,) = dequant_datapath(m, self.cfg, vals)
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.y.eq(y)]
        return m
