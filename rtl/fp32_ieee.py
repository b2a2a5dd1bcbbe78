"""IEEE binary32 with gradual underflow, infinities and NaN: one rounding primitive, add and multiply.

``round_fp32`` is the one place that rounds: the binary32 encoding of (-1)^neg * mag * 2^exp (``mag`` an
unsigned integer of any width, ``exp`` a signed integer) rounded to nearest, ties to even, with subnormal
results and overflow to infinity.  That is what numpy's float64 -> float32 conversion and float32
arithmetic do, i.e. the golden models' rounding.  ``fp32_add`` aligns the smaller operand with guard,
round and sticky bits (enough for a correctly rounded sum) and ``fp32_mul`` forms the exact 48-bit
significand product; both then call ``round_fp32``.  Subnormal inputs are exact (no flush to zero).

Specials: x + (-x) = +0, (-0) + (-0) = -0; Inf - Inf, 0 * Inf and NaN operands give the quiet NaN
:data:`QNAN` (IEEE 754 leaves a NaN's sign and payload open; numpy on x86 gives 0xFFC00000, so checks
compare NaN results as NaN, see :func:`canonical_nan`).  Builders are combinational Amaranth code.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

from rtl.fp32 import leading_zeros_tree

QNAN = 0x7FC00000
INF = 0x7F800000
_MIN_SUB_EXP = -149  # exponent of binary32's smallest subnormal


def canonical_nan(bits) -> np.ndarray:
    """binary32 encodings with every NaN replaced by :data:`QNAN` (the only normalisation checks apply)."""
    b = np.asarray(bits, dtype=np.int64) & 0xFFFFFFFF
    nan = ((b >> 23) & 0xFF == 0xFF) & (b & 0x7FFFFF != 0)
    return np.where(nan, QNAN, b)


def _sig(m: Module, value, shape, name: str) -> Signal:
    s = Signal(shape, name=name)
    m.d.comb += s.eq(value)
    return s


def round_fp32(m: Module, neg, mag: Value, exp: Value, name: str = "rnd") -> Signal:
    """binary32 of (-1)^neg * mag * 2^exp, RNE, subnormals, overflow to +-inf; mag == 0 gives (-1)^neg 0."""
    mag = Value.cast(mag)
    W = len(mag)
    mag = _sig(m, mag, unsigned(W), f"{name}_mag")
    ew = max(len(Value.cast(exp)), (W + 2).bit_length()) + 4
    e = _sig(m, exp, signed(ew), f"{name}_exp")
    lz = _sig(m, leading_zeros_tree(mag), unsigned(W.bit_length() + 1), f"{name}_lz")
    # bits dropped below the result's LSB: keep 24 significant bits, but never go below 2^-149
    r_norm = (W - 1 - 23) - lz
    r_sub = _MIN_SUB_EXP - e
    r = _sig(m, Mux(r_norm > r_sub, r_norm, r_sub), signed(ew + 1), f"{name}_r")
    kb = (W + 1).bit_length()
    rs = _sig(m, Mux(r > W + 1, W + 1, Mux(r < 0, 0, r))[:kb], unsigned(kb), f"{name}_rs")
    shifted = _sig(m, Cat(Const(0, W + 2), mag) >> rs, unsigned(2 * W + 2), f"{name}_sh")
    q, guard, sticky = shifted[W + 2:], shifted[W + 1], shifted[:W + 1].any()
    q_up = q + (guard & (sticky | q[0]))
    q_left = mag << Mux(r < 0, -r, 0)[:5]  # r >= -23 whenever mag != 0: exact left shift
    sig = _sig(m, Mux(r < 0, q_left[:25], q_up[:25]), unsigned(25), f"{name}_q")
    full = _sig(m, ((r + e + (-_MIN_SUB_EXP)) << 23) + sig, signed(ew + 26), f"{name}_full")
    sign = Value.cast(neg)[0]
    out = Mux(mag == 0, Cat(Const(0, 31), sign),
              Mux(full >= INF, Cat(Const(INF, 31), sign), Cat(full[:31], sign)))
    return _sig(m, out, 32, f"{name}_out")


def _unpack(x: Value):
    """(sign, biased exponent, fraction, significand with hidden bit, effective exponent, is_nan, is_inf)."""
    s, e, f = x[31], x[23:31], x[:23]
    return s, e, f, Cat(f, e != 0), Mux(e == 0, 1, e), (e == 255) & (f != 0), (e == 255) & (f == 0)


def fp32_add(m: Module, a: Value, b: Value, name: str = "fadd") -> Signal:
    """a + b in binary32 (RNE; see the module docstring for zeros, infinities and NaN)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    sa, _, _, _, _, nan_a, inf_a = _unpack(a)
    sb, _, _, _, _, nan_b, inf_b = _unpack(b)
    swap = a[:31] < b[:31]  # order magnitudes by their encodings
    big = _sig(m, Mux(swap, b, a), 32, f"{name}_big")
    small = _sig(m, Mux(swap, a, b), 32, f"{name}_small")
    sx, _, _, sigx, ex, _, _ = _unpack(big)
    sy, _, _, sigy, ey, _, _ = _unpack(small)
    d = _sig(m, ex - ey, unsigned(8), f"{name}_d")
    wide = _sig(m, Cat(Const(0, 27), Const(0, 3), sigy) >> Mux(d > 27, 27, d), unsigned(54), f"{name}_wide")
    my = Cat(wide[27] | wide[:27].any(), wide[28:])  # aligned small operand, sticky in its LSB
    mx = Cat(Const(0, 3), sigx)
    total = _sig(m, Mux(sx == sy, mx + my, mx - my), unsigned(28), f"{name}_sum")
    rounded = round_fp32(m, sx, total, ex - 153, f"{name}_r")  # value = total * 2^(ex - 127 - 23 - 3)
    finite = Mux(total == 0, Cat(Const(0, 31), sa & sb), rounded)
    nan = nan_a | nan_b | (inf_a & inf_b & (sa != sb))
    out = Mux(nan, QNAN, Mux(inf_a, a, Mux(inf_b, b, finite)))
    return _sig(m, out, 32, f"{name}_out")


def fp32_mul(m: Module, a: Value, b: Value, name: str = "fmul") -> Signal:
    """a * b in binary32 (RNE, subnormal inputs and results; see the module docstring for specials)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    sa, ea, fa, siga, xa, nan_a, inf_a = _unpack(a)
    sb, eb, fb, sigb, xb, nan_b, inf_b = _unpack(b)
    sign = sa ^ sb
    prod = _sig(m, siga * sigb, unsigned(48), f"{name}_prod")
    rounded = round_fp32(m, sign, prod, xa + xb - 300, f"{name}_r")  # value = prod * 2^(xa - 150 + xb - 150)
    zero_a, zero_b = (ea == 0) & (fa == 0), (eb == 0) & (fb == 0)
    nan = nan_a | nan_b | (inf_a & zero_b) | (inf_b & zero_a)
    out = Mux(nan, QNAN, Mux(inf_a | inf_b, Cat(Const(INF, 31), sign), rounded))
    return _sig(m, out, 32, f"{name}_out")
