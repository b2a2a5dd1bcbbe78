"""The IEEE binary32 builders (rtl.arith.binary32) against numpy's float32 arithmetic, in Amaranth's simulator.

numpy rounds float32 add/multiply and float64 -> float32 conversion to nearest-even with subnormals and
overflow to infinity: the golden PEs' rounding.  Vectors: random encodings over every binade, subnormals,
zeros of both signs, infinities, NaN, and constructed ties (exact halfway cases).
"""

import numpy as np
import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from rtl.arith.binary32 import QNAN, canonical_nan, fp32_add, fp32_mul, round_fp32

pytestmark = pytest.mark.amaranth


class _Ops(wiring.Component):
    a: In(32)
    b: In(32)
    mag: In(40)
    exp: In(signed(12))
    neg: In(1)
    add: Out(32)
    mul: Out(32)
    cvt: Out(32)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.add.eq(fp32_add(m, self.a, self.b)), self.mul.eq(fp32_mul(m, self.a, self.b)),
                     self.cvt.eq(round_fp32(m, self.neg, self.mag, self.exp))]
        return m


def _run(a_bits, b_bits, mags, exps, negs):
    from amaranth.sim import Simulator

    dut = _Ops()
    out = {"add": [], "mul": [], "cvt": []}

    async def bench(ctx):
        for a, b, mg, e, n in zip(a_bits, b_bits, mags, exps, negs, strict=True):
            ctx.set(dut.a, int(a))
            ctx.set(dut.b, int(b))
            ctx.set(dut.mag, int(mg))
            ctx.set(dut.exp, int(e))
            ctx.set(dut.neg, int(n))
            for k in out:
                out[k].append(ctx.get(getattr(dut, k)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.int64)


def _vectors(n, seed):
    rng = np.random.default_rng(seed)
    # random sign/exponent/fraction, exponents biased towards both ends of the range
    e = rng.choice(np.r_[np.arange(0, 4), np.arange(100, 160), np.arange(250, 256)], (2, n))
    f = np.where(rng.random((2, n)) < 0.2, rng.integers(0, 4, (2, n)), rng.integers(0, 1 << 23, (2, n)))
    f = np.where((e == 255) & (rng.random((2, n)) < 0.7), 0, f)  # mostly infinities at e = 255
    s = rng.integers(0, 2, (2, n))
    raw = (s << 31) | (e << 23) | f
    a, b = raw[0], raw[1]
    # close exponents for cancellation: b = -(a with a few low bits changed)
    close = rng.random(n) < 0.25
    b = np.where(close, (a ^ (1 << 31)) ^ rng.integers(0, 64, n), b)
    # halfway cases of the add: 1 + 2^-24 (tie to even, down), (1 + 2^-23) + 2^-24 (tie, up)
    ties = _bits([1.0, 1.0 + 2**-23, 2.0**-126, -3.0])
    tie_b = _bits([2.0**-24, 2.0**-24, 2.0**-150 * 3, -(2.0**-24) * 3])
    a, b = np.r_[a, ties, _bits([0.0, -0.0, -0.0, np.inf, np.inf, np.nan, 1.0, 0.0])], \
        np.r_[b, tie_b, _bits([-0.0, -0.0, 0.0, -np.inf, 0.0, 1.0, -1.0, np.inf])]
    return a, b


def test_add_and_multiply_match_numpy():
    a, b = _vectors(600, seed=1)
    n = len(a)
    got = _run(a, b, np.zeros(n), np.zeros(n), np.zeros(n))
    fa, fb = a.astype(np.uint32).view(np.float32), b.astype(np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        want_add, want_mul = _bits(fa + fb), _bits(fa * fb)
    np.testing.assert_array_equal(canonical_nan(got["add"]), canonical_nan(want_add))
    np.testing.assert_array_equal(canonical_nan(got["mul"]), canonical_nan(want_mul))
    assert (got["add"][canonical_nan(want_add) == QNAN] == QNAN).all()
    # the vectors reach every regime: subnormal and infinite results, exact ties, signed zeros
    assert ((want_mul & 0x7F800000) == 0).sum() > 20 and (want_add == 0x7F800000).any()
    assert (want_add == _bits(-0.0)).any() and (want_mul == _bits(-0.0)).any()


def test_scaled_integer_conversion_matches_numpy():
    """round_fp32(mag * 2^exp) vs numpy's correctly rounded float64 -> float32 (mag < 2^40: exact in float64)."""
    rng = np.random.default_rng(2)
    n = 500
    mags = np.where(rng.random(n) < 0.5, rng.integers(0, 1 << 40, n), rng.integers(0, 1 << 27, n))
    exps = rng.integers(-200, 140, n)
    negs = rng.integers(0, 2, n)
    # ties: 2^24 + 1 and 2^24 + 3 (25 significant bits, dropped bit exactly half), subnormal ties 1, 3 x 2^-150
    mags = np.r_[mags, (1 << 24) + 1, (1 << 24) + 3, 1, 3, 5, (1 << 24) - 1, 1, 0, 0]
    exps = np.r_[exps, 0, 0, -150, -150, -151, 104, 128, 0, 5]
    negs = np.r_[negs, 0, 1, 0, 1, 0, 0, 1, 0, 1]
    got = _run(np.zeros(len(mags)), np.zeros(len(mags)), mags, exps, negs)["cvt"]
    with np.errstate(over="ignore"):
        want = _bits(np.where(negs == 1, -1.0, 1.0) * np.ldexp(mags.astype(np.float64), exps))
    np.testing.assert_array_equal(got, want)
    assert (want == 0x7F800000).any() and (want == _bits(-0.0)).any()
