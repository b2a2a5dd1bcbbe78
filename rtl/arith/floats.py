"""Minifloat operands for the FP32-accumulating PEs: decode with specials, round to any layout, exact product.

Combinational Amaranth builders, parametric in a :class:`FloatLayout` (E, M, bias and the special-value
family, read from ``accel.formats``: ieee, fn, fnuz, finite).  binary32 rounding and addition are
:mod:`rtl.arith.binary32`'s (IEEE 754 complete: subnormals, inf, NaN, signed zeros).

- :func:`round_to_float` rounds an exact value ``(-1)^s * mag * 2^lsb_exp`` to a code of any layout:
  round to nearest, ties to even, subnormals, and either overflow to infinity (IEEE) or saturation at
  the largest finite value (accel's ``to_fp16_saturating``).
- :func:`exact_product` multiplies two decoded operands exactly into binary32 (no rounding: the PE
  specs guarantee <= 24 significand bits and a normal-range result); NaN/Inf follow IEEE 754, every NaN
  is the canonical quiet NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed

from accel.errors import ConfigError
from rtl.arith.binary32 import QNAN, ROUND_DEPTHS, leading_zeros_tree, round_fp32
from rtl.arith.pipeline import Cuts, carrying, cut

OVERFLOW = ("inf", "saturate")
#: estimated logic depth of the segments between pipeline boundaries (placement only)
ROUND_TO_FLOAT_DEPTHS = (10, 12, 12, 10)  # leading zeros | exponent, shift amount | shift, sticky | round, pack
PRODUCT_DEPTHS = (8, *ROUND_DEPTHS)  # significand product | binary32 packing
EXP = signed(16)  # shape of every exponent computed here


@dataclass(frozen=True)
class FloatFields:
    """Field widths of a sign-magnitude binary float with subnormals: all the exact grid products need."""

    ebits: int
    mbits: int

    @property
    def bits(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def max_shift(self) -> int:
        return (1 << self.ebits) - 2

    @property
    def sig_bits(self) -> int:
        return self.mbits + 1


@dataclass(frozen=True)
class FloatLayout(FloatFields):
    """The fields, bias and special values of an ``accel.formats`` FloatFormat (see :meth:`of`)."""

    bias: int
    max_code: int  # magnitude code (sign bit clear) of the largest finite value
    lsb_exp: int  # exponent of the smallest subnormal
    has_inf: bool
    nan_code: int | None  # the format's canonical NaN code (None: no NaN)

    @classmethod
    def of(cls, fmt) -> FloatLayout:
        """The layout of an ``accel.formats`` FloatFormat (signed, with subnormals): every number from it."""
        from accel.pe.elementwise import lsb_exp

        if not (fmt.signed and fmt.subnormals):
            raise ConfigError(f"the FP32-accumulating RTL needs a signed float format with subnormals, got "
                              f"{fmt.name!r}")
        return cls(fmt.ebits, fmt.mbits, fmt.bias, fmt.max_code, lsb_exp(fmt), fmt.has_inf, fmt.nan_code)

    @property
    def inf_code(self) -> int:
        """The magnitude code of infinity: the one after the largest finite value."""
        if not self.has_inf:
            raise ConfigError(f"a float with bias {self.bias} and E{self.ebits}M{self.mbits} fields has no infinity "
                              "(overflow must be 'saturate')")
        return self.max_code + 1


def _layout(name: str) -> FloatLayout:
    from accel import formats

    return FloatLayout.of(formats.get(name))


FP32 = _layout("fp32")
FP16 = _layout("fp16")


@dataclass(frozen=True)
class Unpacked:
    """A decoded operand: value = (-1)^sign * sig * 2^(shift + lsb_exp); NaN/Inf flags (Const 0 if none)."""

    sign: Value
    sig: Value
    shift: Value
    lsb_exp: int
    nan: Value
    inf: Value


def _sig(m: Module, value, shape, name: str) -> Signal:
    s = Signal(shape, name=name)
    m.d.comb += s.eq(value)
    return s


def unpack(code: Value, layout: FloatLayout | None, int_shape=None) -> Unpacked:
    """Decode a float code of ``layout``, or (``layout`` None) an integer of ``int_shape``."""
    code = Value.cast(code)
    zero = Const(0, 1)
    if layout is None:
        if not int_shape.signed:
            return Unpacked(zero, code, Const(0, 1), 0, zero, zero)
        neg = code[-1]
        mag = Mux(neg, -code.as_signed(), code.as_signed())[:int_shape.width]
        return Unpacked(neg, mag, Const(0, 1), 0, zero, zero)
    mb, eb = layout.mbits, layout.ebits
    man = code[:mb] if mb else Const(0, 1)
    exp = code[mb:mb + eb]
    sign = code[mb + eb]
    normal = exp != 0
    sig = Cat(man, normal) if mb else normal
    shift = Mux(normal, exp - 1, 0)[:eb]
    ones = exp == (1 << eb) - 1
    # NaN and Inf codes as accel.formats defines them: with infinities, the all-ones exponent holds Inf
    # (mantissa 0) and NaN (the rest); otherwise the one NaN code is either a negative zero (sign bit set:
    # fnuz) or the all-ones magnitude of either sign (fn).
    if layout.has_inf:
        nan, inf = ones & (man != 0), ones & (man == 0)
    elif layout.nan_code is None:
        nan, inf = zero, zero
    elif layout.nan_code >> (layout.bits - 1):
        nan, inf = code[:layout.bits] == layout.nan_code, zero
    else:
        nan, inf = ones & (man == layout.nan_code & ((1 << mb) - 1)), zero
    return Unpacked(sign, sig, shift, layout.lsb_exp, nan, inf)


def round_to_float(m: Module, sign, mag: Value, lsb_exp, layout: FloatLayout, *, overflow: str = "inf",
                   name: str = "rnd", pipe: Cuts | None = None) -> Value:
    """The ``layout`` code of ``(-1)^sign * mag * 2^lsb_exp``: RNE, subnormals, ``overflow`` inf/saturate.

    ``mag`` is an unsigned integer, ``lsb_exp`` an int or signed Value.  A zero ``mag`` gives a zero of
    sign ``sign``.
    """
    if overflow not in OVERFLOW:
        raise ConfigError(f"unknown overflow {overflow!r}; valid: {', '.join(OVERFLOW)}")
    mag = Value.cast(mag)
    n, mb = len(mag), layout.mbits
    width = n + mb + 2
    frame = _sig(m, Cat(Const(0, mb + 2), mag), width, f"{name}_frame")  # LSB exponent lsb_exp - mb - 2
    lz = _sig(m, leading_zeros_tree(mag), range(n + 1), f"{name}_lz")
    zero = mag == 0
    if isinstance(lsb_exp, int):
        sign, frame, lz, zero = cut(pipe, Value.cast(sign), frame, lz, zero)
    else:
        sign, frame, lz, zero, lsb_exp = cut(pipe, Value.cast(sign), frame, lz, zero, _sig(m, lsb_exp, EXP,
                                                                                            f"{name}_lsb"))
    msb = _sig(m, lsb_exp + (n - 1) - lz, EXP, f"{name}_msb")
    emin = 1 - layout.bias
    e = _sig(m, Mux(msb < emin, emin, msb), EXP, f"{name}_e")
    r = _sig(m, e - lsb_exp + 2, EXP, f"{name}_r")  # right shift of frame: its LSB becomes the code's LSB
    rm1 = _sig(m, Mux(r > width + 1, width, r - 1), range(width + 1), f"{name}_rm1")
    sign, frame, rm1, e, zero = cut(pipe, sign, frame, rm1, e, zero)
    shifted = _sig(m, frame >> rm1, width, f"{name}_shifted")
    kept, guard = shifted[1:mb + 3], shifted[0]
    sticky = (frame & Cat(*(rm1 > i for i in range(width)))).any()  # bits below the guard bit
    sign, kept, guard, sticky, e, zero = cut(pipe, sign, kept, guard, sticky, e, zero)
    rounded = kept + (guard & (sticky | kept[0]))
    # Additive packing: a carry out of the significand moves into the exponent field by itself.
    code = _sig(m, ((e + layout.bias - 1) << mb) + rounded, signed(EXP.width + mb + 2), f"{name}_code")
    if overflow == "inf":
        limit, over = layout.inf_code, layout.inf_code
    else:
        limit, over = layout.max_code, layout.max_code
    magc = Mux(code > limit, over, code)[:layout.bits - 1]
    magc = Mux(zero, 0, magc)
    return _sig(m, Cat(magc, sign), layout.bits, f"{name}_out")


def exact_product(m: Module, a: Unpacked, w: Unpacked, *, name: str = "prod", pipe: Cuts | None = None) -> Value:
    """binary32 bits of a * w, exact (callers guarantee <= 24 significand bits in FP32's normal range)."""
    sign = a.sign ^ w.sign
    mag = _sig(m, a.sig * w.sig, len(a.sig) + len(w.sig), f"{name}_mag")
    lsb = _sig(m, a.shift + w.shift + (a.lsb_exp + w.lsb_exp), EXP, f"{name}_lsb")
    a_zero, w_zero = a.sig == 0, w.sig == 0
    nan = a.nan | w.nan | (a.inf & w_zero) | (w.inf & a_zero)
    inf = a.inf | w.inf
    sign, mag, lsb, nan, inf = cut(pipe, Value.cast(sign), mag, lsb, nan, inf)
    out, c = carrying(pipe, {"nan": nan, "inf": inf, "sign": sign},
                      lambda: round_fp32(m, sign, mag, lsb, name, pipe))  # exact: nothing to round
    nan, inf, sign = c["nan"], c["inf"], c["sign"]
    inf_bits = Cat(Const(FP32.inf_code, 31), sign)
    return _sig(m, Mux(nan, QNAN, Mux(inf, inf_bits, out)), 32, f"{name}_bits")
