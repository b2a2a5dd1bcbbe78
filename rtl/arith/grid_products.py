"""Exact minifloat products on a fixed-point grid (the multiplier of ``minifloat_mac`` with Kulisch accumulation).

A code of an ExMy format with bias b is (s, e, m).  With e' = max(e, 1) and significand
sig = (e != 0) << M | m, its value is (-1)^s * sig * 2^(e' - b - M) = (-1)^s * (sig << (e' - 1)) * 2^lsb,
lsb = 1 - b - M (the smallest subnormal).  A product is therefore the small integer multiply
sig_a * sig_b shifted left by (e'_a - 1) + (e'_b - 1), in units of 2^(lsb_a + lsb_b): exact, no rounding.
Integer operands are (sign, |value|, shift 0).  NaN/Inf codes are not special-cased: the golden
quantizer saturates, so they never reach the PE (their bit patterns decode as ordinary binades).
"""

from __future__ import annotations

from amaranth.hdl import Mux, Shape, Value, signed

from rtl.arith.floats import FloatFields


def decode(code: Value, fields: FloatFields | None, shape: Shape):
    """(sign, significand, shift, max_shift, sig_bits) of an operand; integers have shift 0."""
    code = Value.cast(code)
    if fields is None:
        if not shape.signed:
            return Value.cast(0), code, Value.cast(0), 0, shape.width
        neg = code[-1]
        mag = Mux(neg, -code.as_signed(), code.as_signed())[:shape.width]
        return neg, mag, Value.cast(0), 0, shape.width
    m = code[:fields.mbits] if fields.mbits else Value.cast(0)
    e = code[fields.mbits:fields.mbits + fields.ebits]
    s = code[fields.mbits + fields.ebits]
    normal = e != 0
    sig = (normal << fields.mbits) | m if fields.mbits else normal
    shift = Mux(normal, (e - 1)[:fields.ebits], 0)
    return s, sig, shift, fields.max_shift, fields.sig_bits


def exact_product_shape(a_shape: Shape, a_fields, w_shape: Shape, w_fields) -> Shape:
    def mag(shape, fields):
        return (fields.sig_bits + fields.max_shift) if fields else shape.width

    return signed(mag(a_shape, a_fields) + mag(w_shape, w_fields) + 1)


def grid_value(code: Value, fields: FloatFields, shape: Shape) -> Value:
    """The signed fixed-point value of a minifloat code in units of its smallest subnormal."""
    s, sig, sh, max_sh, sig_bits = decode(code, fields, shape)
    mag = (sig << sh)[:sig_bits + max_sh]
    return Mux(s, -mag.as_unsigned(), mag.as_unsigned())[:sig_bits + max_sh + 1].as_signed()


def exact_product(a: Value, a_shape: Shape, a_fields, w: Value, w_shape: Shape, w_fields,
                  multiplier: str = "array") -> Value:
    """Signed fixed-point product (units of 2^(lsb_a + lsb_b)) of two codes (see the module docstring).

    ``multiplier="shift_add"`` with an integer weight builds the significand product from the weight's
    bits (MixPE W4A16: a * 2^i is an exponent add, i.e. a shift on the fixed-point grid).
    """
    sa, siga, sha, _, _ = decode(a, a_fields, a_shape)
    sw, sigw, shw, _, _ = decode(w, w_fields, w_shape)
    shape = exact_product_shape(a_shape, a_fields, w_shape, w_fields)
    if multiplier == "shift_add" and w_fields is None:
        from rtl.arith.multipliers import shift_add_product

        mag = shift_add_product(siga, sigw) << (sha + shw)
    else:
        mag = (siga * sigw) << (sha + shw)
    mag = mag[:shape.width - 1]
    neg = sa ^ sw
    return Mux(neg, -mag.as_unsigned(), mag.as_unsigned())[:shape.width].as_signed()
