"""IEEE binary32 arithmetic: one rounding primitive, add and multiply, each optionally pipelined.

``round_fp32`` is the one place that rounds: the binary32 encoding of (-1)^neg * mag * 2^exp (``mag`` an
unsigned integer of any width, ``exp`` a signed integer) rounded to nearest, ties to even, with subnormal
results and overflow to infinity.  That is what numpy's float64 -> float32 conversion and float32
arithmetic do, i.e. the golden models' rounding.  ``fp32_add`` aligns the smaller operand with guard,
round and sticky bits (enough for a correctly rounded sum) and ``fp32_mul`` forms the exact 48-bit
significand product; both then call ``round_fp32``, as does ``int_to_fp32``.  Subnormal inputs are exact.
The field layout (exponent and fraction widths, bias, smallest subnormal) is ``accel.formats``' fp32.

Specials: x + (-x) = +0, (-0) + (-0) = -0; Inf - Inf, 0 * Inf and NaN operands give the quiet NaN
:data:`QNAN` (IEEE 754 leaves a NaN's sign and payload open; numpy on x86 gives 0xFFC00000, so checks
compare NaN results as NaN, see :func:`canonical_nan`).

Pipelining: every builder takes an optional :class:`rtl.arith.pipeline.Cuts` and calls it at its
candidate boundaries (``ROUND_DEPTHS``, ``ADD_DEPTHS``, ``MUL_DEPTHS`` list the estimated logic depth of
each segment between them, in build order); without chosen cuts the builders are combinational.
Results never depend on where the registers are.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

from rtl.arith.pipeline import Cuts, carrying, cut


def _fp32():
    from accel import formats

    return formats.get("fp32")


_F = _fp32()
EBITS, MBITS, BIAS = _F.ebits, _F.mbits, _F.bias
SIG_BITS = MBITS + 1
EMAX_FIELD = (1 << EBITS) - 1
INF = EMAX_FIELD << MBITS
QNAN = INF | (1 << (MBITS - 1))
_MIN_SUB_EXP = 1 - BIAS - MBITS  # exponent of the smallest subnormal (-149)

#: estimated logic depth of the segments between each builder's pipeline boundaries (placement only)
ROUND_DEPTHS = (8, 8, 12, 10)  # leading zeros | shift amount | shift, guard and sticky | round, pack
ADD_DEPTHS = (10, 10, 6, *ROUND_DEPTHS)  # order | align | add | round
MUL_DEPTHS = (20, *ROUND_DEPTHS)  # significand product (DSP blocks and their adders) | round


def canonical_nan(bits) -> np.ndarray:
    """binary32 encodings with every NaN replaced by :data:`QNAN` (the only normalisation checks apply)."""
    b = np.asarray(bits, dtype=np.int64) & 0xFFFFFFFF
    nan = ((b >> MBITS) & EMAX_FIELD == EMAX_FIELD) & (b & ((1 << MBITS) - 1) != 0)
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


def _packed(sign, magnitude) -> Value:
    return Cat(Const(magnitude, EBITS + MBITS), sign)


def round_fp32(m: Module, neg, mag: Value, exp: Value, name: str = "rnd", pipe: Cuts | None = None) -> Signal:
    """binary32 of (-1)^neg * mag * 2^exp, RNE, subnormals, overflow to +-inf; mag == 0 gives (-1)^neg 0."""
    mag = Value.cast(mag)
    W = len(mag)
    mag = _sig(m, mag, unsigned(W), f"{name}_mag")
    ew = max(len(Value.cast(exp)), (W + 2).bit_length()) + 4
    e = _sig(m, exp, signed(ew), f"{name}_exp")
    neg = Value.cast(neg)[0]
    lz = _sig(m, leading_zeros_tree(mag), unsigned(W.bit_length() + 1), f"{name}_lz")
    neg, mag, e, lz = cut(pipe, neg, mag, e, lz)
    # bits dropped below the result's LSB: keep SIG_BITS significant bits, but never go below 2^-149
    r_norm = (W - SIG_BITS) - lz
    r_sub = _MIN_SUB_EXP - e
    r = _sig(m, Mux(r_norm > r_sub, r_norm, r_sub), signed(ew + 1), f"{name}_r")
    kb = (W + 1).bit_length()
    rs = _sig(m, Mux(r > W + 1, W + 1, Mux(r < 0, 0, r))[:kb], unsigned(kb), f"{name}_rs")
    neg, mag, e, r, rs = cut(pipe, neg, mag, e, r, rs)
    shifted = _sig(m, Cat(Const(0, W + 2), mag) >> rs, unsigned(2 * W + 2), f"{name}_sh")
    q, guard, sticky = shifted[W + 2:][:SIG_BITS + 1], shifted[W + 1], shifted[:W + 1].any()
    q_left = (mag << Mux(r < 0, -r, 0)[:5])[:SIG_BITS + 1]  # r >= -23 whenever mag != 0: exact left shift
    zero = mag == 0
    neg, zero, r, e, q, guard, sticky, q_left = cut(pipe, neg, zero, r, e, q, guard, sticky, q_left)
    q_up = q + (guard & (sticky | q[0]))
    sig = _sig(m, Mux(r < 0, q_left, q_up[:SIG_BITS + 1]), unsigned(SIG_BITS + 1), f"{name}_q")
    full = _sig(m, ((r + e + (-_MIN_SUB_EXP)) << MBITS) + sig, signed(ew + SIG_BITS + 2), f"{name}_full")
    out = Mux(zero, _packed(neg, 0), Mux(full >= INF, _packed(neg, INF), Cat(full[:EBITS + MBITS], neg)))
    return _sig(m, out, 32, f"{name}_out")


def _unpack(x: Value):
    """(sign, biased exponent, fraction, significand with hidden bit, effective exponent, is_nan, is_inf)."""
    s, e, f = x[EBITS + MBITS], x[MBITS:EBITS + MBITS], x[:MBITS]
    return (s, e, f, Cat(f, e != 0), Mux(e == 0, 1, e), (e == EMAX_FIELD) & (f != 0),
            (e == EMAX_FIELD) & (f == 0))


def _special(nan, inf, inf_sign, finite) -> Value:
    return Mux(nan, QNAN, Mux(inf, _packed(inf_sign, INF), finite))


def fp32_add(m: Module, a: Value, b: Value, name: str = "fadd", pipe: Cuts | None = None) -> Signal:
    """a + b in binary32 (RNE; see the module docstring for zeros, infinities and NaN)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    sa, _, _, _, _, nan_a, inf_a = _unpack(a)
    sb, _, _, _, _, nan_b, inf_b = _unpack(b)
    swap = a[:31] < b[:31]  # order magnitudes by their encodings
    big = _sig(m, Mux(swap, b, a), 32, f"{name}_big")
    small = _sig(m, Mux(swap, a, b), 32, f"{name}_small")
    sx, _, _, sigx, ex, _, _ = _unpack(big)
    sy, _, _, sigy, ey, _, _ = _unpack(small)
    d = _sig(m, ex - ey, unsigned(EBITS), f"{name}_d")
    nan = nan_a | nan_b | (inf_a & inf_b & (sa != sb))
    inf, inf_sign, zero_sign = inf_a | inf_b, Mux(inf_a, sa, sb), sa & sb
    eff_sub = sx != sy
    ex = _sig(m, ex, unsigned(EBITS), f"{name}_ex")
    sx, eff_sub, sigx, sigy, d, ex, nan, inf, inf_sign, zero_sign = cut(pipe, sx, eff_sub, sigx, sigy, d, ex, nan,
                                                                        inf, inf_sign, zero_sign)
    G = SIG_BITS + 3  # significand with guard, round and sticky bits
    wide = _sig(m, Cat(Const(0, G), Const(0, 3), sigy) >> Mux(d > G, G, d), unsigned(2 * G), f"{name}_wide")
    my = Cat(wide[G] | wide[:G].any(), wide[G + 1:])  # aligned small operand, sticky in its LSB
    mx = Cat(Const(0, 3), sigx)
    sx, eff_sub, mx, my, ex, nan, inf, inf_sign, zero_sign = cut(pipe, sx, eff_sub, mx, my, ex, nan, inf,
                                                                 inf_sign, zero_sign)
    total = _sig(m, Mux(eff_sub, mx - my, mx + my), unsigned(G + 1), f"{name}_sum")
    total_zero = total == 0
    sx, total, ex, total_zero, nan, inf, inf_sign, zero_sign = cut(pipe, sx, total, ex, total_zero, nan, inf,
                                                                   inf_sign, zero_sign)
    # value = total * 2^(ex - BIAS - MBITS - 3)
    rounded, c = carrying(pipe, {"total_zero": total_zero, "nan": nan, "inf": inf, "inf_sign": inf_sign,
                                 "zero_sign": zero_sign},
                          lambda: round_fp32(m, sx, total, ex - (BIAS + MBITS + 3), f"{name}_r", pipe))
    finite = Mux(c["total_zero"], _packed(c["zero_sign"], 0), rounded)
    return _sig(m, _special(c["nan"], c["inf"], c["inf_sign"], finite), 32, f"{name}_out")


def fp32_mul(m: Module, a: Value, b: Value, name: str = "fmul", pipe: Cuts | None = None) -> Signal:
    """a * b in binary32 (RNE, subnormal inputs and results; see the module docstring for specials)."""
    a, b = _sig(m, a, 32, f"{name}_a"), _sig(m, b, 32, f"{name}_b")
    sa, ea, fa, siga, xa, nan_a, inf_a = _unpack(a)
    sb, eb, fb, sigb, xb, nan_b, inf_b = _unpack(b)
    sign = sa ^ sb
    prod = _sig(m, siga * sigb, unsigned(2 * SIG_BITS), f"{name}_prod")
    exp = _sig(m, xa + xb - 2 * (BIAS + MBITS), signed(EBITS + 3), f"{name}_e")  # value = prod * 2^exp
    zero_a, zero_b = (ea == 0) & (fa == 0), (eb == 0) & (fb == 0)
    nan = nan_a | nan_b | (inf_a & zero_b) | (inf_b & zero_a)
    inf = inf_a | inf_b
    sign, prod, exp, nan, inf = cut(pipe, sign, prod, exp, nan, inf)
    rounded, carry = carrying(pipe, {"nan": nan, "inf": inf, "sign": sign},
                              lambda: round_fp32(m, sign, prod, exp, f"{name}_r", pipe))
    return _sig(m, _special(carry["nan"], carry["inf"], carry["sign"], rounded), 32, f"{name}_out")


def int_to_fp32(m: Module, x: Value, name: str = "cvt", pipe: Cuts | None = None) -> Signal:
    """A signed integer to binary32, RNE (exact for |x| < 2^24)."""
    x = Value.cast(x).as_signed()
    neg = x < 0
    mag = _sig(m, Mux(neg, -x, x), unsigned(len(x)), f"{name}_mag")
    return round_fp32(m, neg, mag, 0, name, pipe)
