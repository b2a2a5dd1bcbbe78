"""The MixPE group dequantization unit (one per array column): FP32, after each group's integer GEMM.

Per output it consumes one beat per group j, in group order, and reproduces the golden
``accel.pe.mixpe.dequant_groups`` and the final per-token scaling of ``MixPEW4A8.gemm`` bit for bit:

- zero points (uint4): ``t = P - z * S_a`` (exact integer), ``term = fp32(s * fp32(t))``;
- mins (Q4_1): ``term = fp32(fp32(d * fp32(P)) + fp32(m * fp32(S_a)))``;
- otherwise (int4, Q4_0): ``term = fp32(s * fp32(P))``;
- ``acc = fp32(acc + term)`` starting from +0; on the output's last group ``y = fp32(s_a * acc)``.

Beat fields: ``p``, ``act_sum``, ``scale`` (fp32 bits of the fp16 scale), ``zero`` or ``min``,
``act_scale`` (fp32 bits, read on ``last``), ``first``/``last``.  ``y`` (fp32 bits) leaves one cycle
after ``last``.  Arithmetic: :mod:`rtl.fp32` (RNE; normal numbers and zero).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.fp32 import fp32_add, fp32_mul, int_to_fp32

CORRECTIONS = ("none", "zero", "min")


def dequant_term(m: Module, p, act_sum, scale, zero, min_, correction: str, name: str = "dq"):
    """FP32 bits of one group's dequantized term (see the module docstring); ``zero``/``min_`` per
    ``correction``."""
    if correction == "zero":
        t = Signal(signed(max(len(p), len(zero) + 1 + len(act_sum)) + 1), name=f"{name}_t")
        m.d.comb += t.eq(p - zero * act_sum)
        return fp32_mul(m, scale, int_to_fp32(m, t, f"{name}_cvt_t"), f"{name}_mul_s")
    if correction == "min":
        dp = fp32_mul(m, scale, int_to_fp32(m, p, f"{name}_cvt_p"), f"{name}_mul_d")
        ms = fp32_mul(m, min_, int_to_fp32(m, act_sum, f"{name}_cvt_sa"), f"{name}_mul_m")
        return fp32_add(m, dp, ms, f"{name}_add_m")
    return fp32_mul(m, scale, int_to_fp32(m, p, f"{name}_cvt_p"), f"{name}_mul_s")


class DequantUnit(wiring.Component):
    """Group dequantization and FP32 accumulation of one output stream (see the module docstring)."""

    latency_cycles = 1

    def __init__(self, acc_bits: int, act_sum_bits: int, correction: str, zero_bits: int = 4):
        if correction not in CORRECTIONS:
            raise ConfigError(f"unknown dequant correction {correction!r}; valid: {', '.join(CORRECTIONS)}")
        self.acc_bits, self.act_sum_bits, self.correction, self.zero_bits = acc_bits, act_sum_bits, correction, \
            zero_bits
        fields = {"p": signed(acc_bits), "scale": unsigned(32), "act_scale": unsigned(32), "first": 1, "last": 1}
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
        term = dequant_term(m, b.p, b.act_sum if c != "none" else None, b.scale, b.zero if c == "zero" else None,
                            b.min if c == "min" else None, c)
        acc = Signal(32)
        acc_next = Signal(32)
        m.d.comb += acc_next.eq(fp32_add(m, Mux(b.first, 0, acc), term, "acc"))
        y = fp32_mul(m, b.act_scale, acc_next, "mul_sa")
        m.d.sync += self.o.valid.eq(self.i.valid & b.last)
        with m.If(self.i.valid):
            m.d.sync += acc.eq(acc_next)
            with m.If(b.last):
                m.d.sync += self.o.payload.y.eq(y)
        return m
