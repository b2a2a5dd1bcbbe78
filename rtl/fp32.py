"""IEEE binary32 datapath pieces for the group dequantization unit: int -> fp32, multiply, add (RNE).

Combinational Amaranth builders on 32-bit raw encodings.  Rounding is round-to-nearest-even, as numpy's
float32 arithmetic (which the golden models use).  Domain: normal numbers and zero.  Subnormal inputs
are read as zero and results below the normal range flush to (signed) zero; results above it become
infinity; NaN/Inf inputs are not handled.  The MixPE dequantization never leaves this domain (fp16
scales and mins, integer group sums below 2^24, fp32 per-token scales of int8 data).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned

BIAS = 127


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


def _signal(m: Module, value, shape, name: str) -> Signal:
    """Materialise ``value`` in a named signal, so later uses do not copy its expression tree."""
    sig = Signal(shape, name=name)
    m.d.comb += sig.eq(value)
    return sig


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
    return _signal(m, Mux(e <= 0, zero, Mux(e >= 255, inf, _pack(sign, e[:8], mant))), 32, f"{name}_packed")


def int_to_fp32(m: Module, x: Value, name: str = "cvt", lzc=leading_zeros) -> Value:
    """A signed integer to binary32, RNE (exact for |x| < 2^24); ``lzc``: the leading-zero counter."""
    x = _signal(m, x, Value.cast(x).shape(), f"{name}_in")
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
    return _signal(m, Mux(mag == 0, Const(0, 32), out), 32, f"{name}_out")


def fp32_mul(m: Module, a: Value, b: Value, name: str = "mul") -> Value:
    """a * b in binary32, RNE."""
    a, b = _signal(m, a, 32, f"{name}_a"), _signal(m, b, 32, f"{name}_b")
    sa, ea, fa = _fields(a)
    sb, eb, fb = _fields(b)
    sign = sa ^ sb
    prod = Signal(48, name=f"{name}_prod")
    m.d.comb += prod.eq(Cat(fa, ea != 0) * Cat(fb, eb != 0))
    exp = Signal(signed(12), name=f"{name}_e")
    m.d.comb += exp.eq(ea + eb - BIAS + prod[47])
    norm = Mux(prod[47], prod, prod << 1)[:48]
    out = _round_pack(m, sign, exp, norm, 48, name)
    return _signal(m, Mux((ea == 0) | (eb == 0), _pack(sign, Const(0, 8), Const(0, 23)), out), 32, f"{name}_out")


def fp32_add(m: Module, a: Value, b: Value, name: str = "add") -> Value:
    """a + b in binary32, RNE (guard/round/sticky alignment; exact zero results are +0)."""
    a, b = _signal(m, a, 32, f"{name}_a"), _signal(m, b, 32, f"{name}_b")
    swap = a[:31] < b[:31]  # compare magnitudes by their encodings
    big, small = _signal(m, Mux(swap, b, a), 32, f"{name}_big"), _signal(m, Mux(swap, a, b), 32, f"{name}_small")
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
    return _signal(m, Mux(total == 0, Const(0, 32), out), 32, f"{name}_out")
