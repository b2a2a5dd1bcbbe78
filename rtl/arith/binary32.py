"""IEEE binary32 arithmetic: one rounding primitive, add and multiply; and the normal-range datapath.

``round_fp32`` is the one place that rounds in the complete arithmetic: the binary32 encoding of
(-1)^neg * mag * 2^exp (``mag`` an unsigned integer of any width, ``exp`` a signed integer) rounded to
nearest, ties to even, with subnormal results and overflow to infinity.  That is what numpy's float64 ->
float32 conversion and float32 arithmetic do, i.e. the golden models' rounding.  ``fp32_add`` aligns the
smaller operand with guard, round and sticky bits (enough for a correctly rounded sum) and ``fp32_mul``
forms the exact 48-bit significand product; both then call ``round_fp32``.  Subnormal inputs are exact.

Specials: x + (-x) = +0, (-0) + (-0) = -0; Inf - Inf, 0 * Inf and NaN operands give the quiet NaN
:data:`QNAN` (IEEE 754 leaves a NaN's sign and payload open; numpy on x86 gives 0xFFC00000, so checks
compare NaN results as NaN, see :func:`canonical_nan`).

The normal-range operators (``int_to_fp32``, ``fp32_mul_normal``, ``fp32_add_normal``) are the smaller
datapath of the MixPE group dequantization unit, RNE as well, in a reduced domain: normal numbers and zero.
Subnormal inputs are read as zero, results below the normal range flush to (signed) zero, results above
it become infinity, NaN/Inf inputs are not handled.  The MixPE dequantization never leaves this domain
(fp16 scales and mins, integer group sums below 2^24, fp32 per-token scales of int8 data).

Builders are combinational Amaranth code on 32-bit raw encodings.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

QNAN = 0x7FC00000
INF = 0x7F800000
_MIN_SUB_EXP = -149  # exponent of binary32's smallest subnormal
BIAS = 127


def canonical_nan(bits) -> np.ndarray:
    """binary32 encodings with every NaN replaced by :data:`QNAN` (the only normalisation checks apply)."""
    b = np.asarray(bits, dtype=np.int64) & 0xFFFFFFFF
    nan = ((b >> 23) & 0xFF == 0xFF) & (b & 0x7FFFFF != 0)
    return np.where(nan, QNAN, b)


def _sig(m: Module, value, shape, name: str) -> Signal:
    s = Signal(shape, name=name)
    m.d.comb += s.eq(value)
    return s


def leading_zeros(x: Value) -> Value:
    """Number of leading zero bits of ``x`` (``len(x)`` when x == 0)."""
    n = len(x)
    count = Const(n, unsigned(n.bit_length()))
    for i in range(n):  # the highest set bit wins: later (higher) assignments take priority
        count = Mux(x[i], n - 1 - i, count)
    return count


def leading_zeros_tree(x: Value) -> Value:
    """:func:`leading_zeros` as a balanced tree of multiplexers (logarithmic depth; wide inputs)."""
    x = Value.cast(x)
    n = len(x)
    if n == 1:
        return Mux(x[0], 0, 1)
    lo, hi = x[:n // 2], x[n // 2:]
    return Mux(hi.any(), leading_zeros_tree(hi), len(hi) + leading_zeros_tree(lo))


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


# ----- the normal-range datapath (the MixPE group dequantization unit)
def _fields(x: Value):
    x = Value.cast(x)
    return x[31], x[23:31], x[:23]


def _pack(sign, exp, mant23) -> Value:
    return Cat(mant23[:23], exp[:8], sign)


def _round_pack(m: Module, sign, exp, sig: Value, width: int, name: str) -> Value:
    """Round a normalised significand ``sig`` (MSB at bit ``width - 1`` = the hidden one, at least 27
    bits) to 24 bits RNE and pack with biased exponent ``exp`` (a signed value).  Flushes exp <= 0 to zero
    and exp >= 255 to infinity."""
    keep = sig[width - 24:width]
    guard = sig[width - 25]
    sticky = sig[:width - 25].any()
    up = guard & (sticky | keep[0])
    rounded = Signal(25, name=f"{name}_rounded")
    m.d.comb += rounded.eq(keep + up)
    e = Signal(signed(12), name=f"{name}_exp")
    m.d.comb += e.eq(exp + rounded[24])
    mant = Mux(rounded[24], rounded[1:24], rounded[:23])
    zero = _pack(sign, Const(0, 8), Const(0, 23))
    inf = _pack(sign, Const(255, 8), Const(0, 23))
    return _sig(m, Mux(e <= 0, zero, Mux(e >= 255, inf, _pack(sign, e[:8], mant))), 32, f"{name}_packed")


def int_to_fp32(m: Module, x: Value, name: str = "cvt", lzc=leading_zeros) -> Value:
    """A signed integer to binary32, RNE (exact for |x| < 2^24); ``lzc``: the leading-zero counter."""
    x = _sig(m, x, Value.cast(x).shape(), f"{name}_in")
    w = len(x) + 1
    mag = Signal(w, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(x.as_signed() < 0, -x.as_signed(), x.as_signed()))
    width = max(w, 27)
    lz = lzc(mag)
    norm = Signal(width, name=f"{name}_norm")
    m.d.comb += norm.eq((mag << (width - w)) << lz)
    exp = Signal(signed(12), name=f"{name}_e")
    m.d.comb += exp.eq(BIAS + w - 1 - lz)
    out = _round_pack(m, x.as_signed() < 0, exp, norm, width, name)
    return _sig(m, Mux(mag == 0, Const(0, 32), out), 32, f"{name}_out")


def fp32_mul_normal(m: Module, a: Value, b: Value, name: str = "mul") -> Value:
    """a * b in binary32, RNE, in the normal range (see the module docstring)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    sa, ea, fa = _fields(a)
    sb, eb, fb = _fields(b)
    sign = sa ^ sb
    prod = Signal(48, name=f"{name}_prod")
    m.d.comb += prod.eq(Cat(fa, ea != 0) * Cat(fb, eb != 0))
    exp = Signal(signed(12), name=f"{name}_e")
    m.d.comb += exp.eq(ea + eb - BIAS + prod[47])
    norm = Mux(prod[47], prod, prod << 1)[:48]
    out = _round_pack(m, sign, exp, norm, 48, name)
    return _sig(m, Mux((ea == 0) | (eb == 0), _pack(sign, Const(0, 8), Const(0, 23)), out), 32, f"{name}_out")


def fp32_add_normal(m: Module, a: Value, b: Value, name: str = "add") -> Value:
    """a + b in binary32, RNE, in the normal range (guard/round/sticky alignment; exact zero results are +0)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    swap = a[:31] < b[:31]  # compare magnitudes by their encodings
    big, small = _sig(m, Mux(swap, b, a), 32, f"{name}_big"), _sig(m, Mux(swap, a, b), 32, f"{name}_small")
    sx, ex, fx = _fields(big)
    sy, ey, fy = _fields(small)
    mx = Cat(Const(0, 3), fx, ex != 0)  # 27 bits: hidden one, 23 fraction bits, guard/round/sticky
    my_full = Cat(Const(0, 3), fy, ey != 0)
    d = Signal(8, name=f"{name}_d")
    m.d.comb += d.eq(ex - ey)
    shifted = Signal(27, name=f"{name}_shifted")
    lost = Signal(name=f"{name}_lost")
    wide = Signal(54, name=f"{name}_wide")
    m.d.comb += wide.eq(Cat(Const(0, 27), my_full) >> Mux(d > 27, 27, d))
    m.d.comb += [shifted.eq(wide[27:]), lost.eq(wide[:27].any())]
    my = Cat(shifted[0] | lost, shifted[1:])
    my = Mux(ey == 0, 0, my)
    total = Signal(28, name=f"{name}_sum")
    m.d.comb += total.eq(Mux(sx == sy, mx + my, mx - my))
    # normalise to the hidden one at bit 27 (of 28)
    lz = leading_zeros(total)
    norm = Signal(28, name=f"{name}_norm")
    carry = total[27]
    m.d.comb += norm.eq(Mux(carry, Cat(total[0] | total[1], total[2:], Const(0, 1)) << 1, total << lz))
    exp = Signal(signed(12), name=f"{name}_e")
    m.d.comb += exp.eq(ex + carry - Mux(carry, 0, lz - 1))
    out = _round_pack(m, sx, exp, norm, 28, name)
    out = Mux(ex == 0, Const(0, 32), out)  # both operands zero
    return _sig(m, Mux(total == 0, Const(0, 32), out), 32, f"{name}_out")
