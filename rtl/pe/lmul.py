"""Streaming ``lmul`` PE: L-Mul products of two minifloats, exact in FP32, FP32 accumulation, per-output dequant.

Datapath (the golden ``accel.pe.minifloat.LMulPE`` on ``accel.pe.lmul_core``): each code is decoded to
normalised form x = +-(1 + f 2^-m) 2^e (subnormals normalised by a leading-zero count); the product is
one integer add of the mantissa fields plus the constant 2^(m - l(m)): ``formula`` keeps the
significand 2^m + F (it may reach [2, 3)), ``adder`` carries F >> m into the exponent and keeps
F mod 2^m.  Zero operands give +0.  The product is exact in FP32 (the spec checks the range), so its
conversion (:func:`rtl.arith.binary32.round_fp32`) never rounds; the accumulator adds it in FP32 (RNE, the
only rounding in the loop) in k order, from +0.  At the output, y = fp32(acc * fp32(s_a * s_w)): two
RNE multiplies (:func:`rtl.arith.binary32.fp32_mul`) with the per-token and per-channel FP32 scales.

``LmulConfig`` is also a cell of :class:`rtl.array.fp_array.FpWSArray` (an R x C array with FP32 partial sums
down the columns, k order kept across folds by the psum input), so the lmul array is that array.

Protocol: one beat per cycle, never stalls.  A beat carries codes ``a``, ``w``, the FP32 scales
``sa``, ``sw`` (read on ``last``) and ``first``/``last`` flags delimiting one output's dot product.
``o`` carries ``acc`` (the FP32 sum) and ``y`` (dequantized), valid ``latency_cycles`` (2 unpipelined) after
the ``last`` beat.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from accel.pe.lmul_core import REALISATIONS
from rtl.arith.binary32 import MUL_DEPTHS, ROUND_DEPTHS, fp32_mul, leading_zeros, round_fp32
from rtl.arith.pipeline import Cuts, cut, delay, split


@dataclass(frozen=True)
class LmulConfig:
    """Field widths and biases of the two operand formats (same mantissa width ``mbits``), the L-Mul offset
    exponent l(m) and the realisation."""

    act_ebits: int
    act_bias: int
    weight_ebits: int
    weight_bias: int
    mbits: int
    l: int
    realisation: str = "formula"

    def __post_init__(self) -> None:
        if self.realisation not in REALISATIONS:
            raise ConfigError(f"unknown L-Mul realisation {self.realisation!r}; valid choices: "
                              f"{', '.join(REALISATIONS)}")
        if not (1 <= self.l <= self.mbits):
            raise ConfigError(f"l must be in 1..mbits={self.mbits!r}, got {self.l!r}")

    @property
    def act_bits(self) -> int:
        return 1 + self.act_ebits + self.mbits

    @property
    def weight_bits(self) -> int:
        return 1 + self.weight_ebits + self.mbits

    # the cell protocol of rtl.array.fp_array.FpWSArray: codes stay codes, the product is L(a, w) in FP32
    @property
    def act_shape(self):
        return unsigned(self.act_bits)

    @property
    def weight_shape(self):
        return unsigned(self.weight_bits)

    @property
    def load_layout(self):
        return self.weight_shape

    def load(self, m: Module, beat, name: str = "load", pipe=None):
        return beat

    def load_depths(self) -> tuple[int, ...]:
        return ()

    def operations(self) -> int:
        return 1

    def product_depths(self) -> tuple[int, ...]:
        """Segments of :func:`lmul_product` between its pipeline boundaries (estimated logic depth)."""
        return (10, *ROUND_DEPTHS)

    def beat_depths(self) -> tuple[int, ...]:
        return self.product_depths()

    def product(self, m: Module, a, w, name: str = "prod", pipe: Cuts | None = None):
        return lmul_product(m, self, a, w, name, pipe)

    def in_layout(self) -> data.StructLayout:
        return data.StructLayout({"a": unsigned(self.act_bits), "w": unsigned(self.weight_bits),
                                  "sa": unsigned(32), "sw": unsigned(32), "first": 1, "last": 1})

    def out_layout(self) -> data.StructLayout:
        return data.StructLayout({"acc": unsigned(32), "y": unsigned(32)})


def _normalise(m: Module, code, ebits: int, mbits: int, bias: int, name: str):
    """(sign, zero, exponent e, mantissa field f) of a minifloat code with |x| = (1 + f 2^-m) 2^e.

    A subnormal f_field 2^(1 - bias - m) with lz leading zeros (of m) is 2^(-bias - lz) (1 + f 2^-m),
    f = (f_field << (lz + 1)) mod 2^m: exact."""
    e_field, f_field, s = code[mbits:mbits + ebits], code[:mbits], code[mbits + ebits]
    lz = Signal(range(mbits + 1), name=f"{name}_lz")
    m.d.comb += lz.eq(leading_zeros(f_field))
    sub = e_field == 0
    e = Signal(signed(ebits + 3), name=f"{name}_e")
    f = Signal(mbits, name=f"{name}_f")
    m.d.comb += [e.eq(Mux(sub, -bias - lz, e_field - bias)),
                 f.eq(Mux(sub, (f_field << (lz + 1))[:mbits], f_field))]
    return s, sub & (f_field == 0), e, f


def lmul_product(m: Module, cfg: LmulConfig, a, w, name: str = "lmul", pipe: Cuts | None = None) -> Signal:
    """The FP32 encoding of L(a, w) (exact; +0 when an operand is zero)."""
    M = cfg.mbits
    sa, za, ea, fa = _normalise(m, a, cfg.act_ebits, M, cfg.act_bias, f"{name}_a")
    sw, zw, ew, fw = _normalise(m, w, cfg.weight_ebits, M, cfg.weight_bias, f"{name}_w")
    F = Signal(M + 2, name=f"{name}_F")
    m.d.comb += F.eq(fa + fw + (1 << (M - cfg.l)))
    if cfg.realisation == "formula":
        sig, exp = (1 << M) + F, ea + ew - M
    else:  # the integer adder: a carry out of the mantissa field increments the exponent
        carry = F[M:]
        sig, exp = Cat(F[:M], Const(1, 1)), ea + ew + carry - M
    zero = za | zw
    e = Signal(signed(cfg.act_ebits + cfg.weight_ebits + 4), name=f"{name}_exp")
    m.d.comb += e.eq(exp)
    sign, mag, e = cut(pipe, Mux(zero, 0, sa ^ sw), Mux(zero, 0, sig), e)
    return round_fp32(m, sign, mag, e, f"{name}_p", pipe)


class LmulPE(wiring.Component):
    """The lmul PE (see the module docstring).  ``pipeline_depth`` P: P registers per rounding operation: from a
    beat to its product, inside the accumulating adder (P + 1 dot products interleaved beat by beat, as
    :class:`rtl.pe.fp_mac.FpMacPE`) and 2P over the output scaling's two multiplies; ``latency_cycles`` =
    4P + 2 from the ``last`` beat."""

    def __init__(self, config: LmulConfig, pipeline_depth: int = 0):
        self.config, self.pipeline_depth = config, pipeline_depth
        self.interleave = pipeline_depth + 1
        self.latency_cycles = 4 * pipeline_depth + 2
        super().__init__({"i": In(stream.Signature(config.in_layout())),
                          "o": Out(stream.Signature(config.out_layout()))})

    def elaborate(self, platform):
        from rtl.pe.fp_mac import accumulate_ring, product_pipeline

        m = Module()
        p, P = self.i.payload, self.pipeline_depth
        m.d.comb += self.i.ready.eq(1)
        prod, side = product_pipeline(m, self.config, p.a, p.w, P, {"valid": self.i.valid, "first": p.first,
                                                                     "last": p.last, "sa": p.sa, "sw": p.sw})
        acc, fin = accumulate_ring(m, prod, side["valid"], side["first"], side["valid"] & side["last"], P,
                                   side={"sa": side["sa"], "sw": side["sw"]})
        # output stage: y = fp32(acc * fp32(s_a * s_w)), 2P registers over the two multiplies
        cuts, extra = split((*MUL_DEPTHS, *MUL_DEPTHS), 2 * P)
        pipe = Cuts(m, cuts, "deq", {"valid": fin["closing"], "acc": acc})
        scale = fp32_mul(m, fin["sa"], fin["sw"], "scale", pipe)
        (scale,) = pipe.cut(scale)
        y = fp32_mul(m, pipe.passengers["acc"], scale, "deq", pipe)
        out = delay(m, {**pipe.passengers, "_y": y}, extra, "deq_x")
        m.d.sync += self.o.valid.eq(out["valid"])
        with m.If(out["valid"]):
            m.d.sync += [self.o.payload.acc.eq(out["acc"]), self.o.payload.y.eq(out["_y"])]
        return m


class LmulProduct(wiring.Component):
    """The L-Mul multiplier alone, combinational (codes ``a``, ``w`` in, FP32 bits of L(a, w) out): for synthesis."""

    latency_cycles = 0

    def __init__(self, config: LmulConfig):
        self.config = config
        super().__init__({"a": In(config.act_shape), "w": In(config.weight_shape), "p": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(lmul_product(m, self.config, self.a, self.w))
        return m
