"""Pipelined binary32 builders: the same bits as numpy's float32 at every depth, ``latency`` cycles later.

Also: the cut placement (``choose_cuts``) against brute-force enumeration of every placement.
"""

from itertools import combinations

import numpy as np
import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.arith.binary32 import ADD_DEPTHS, MUL_DEPTHS, ROUND_DEPTHS, canonical_nan, fp32_add, fp32_mul, round_fp32
from rtl.arith.pipeline import Cuts, choose_cuts
from tests.rtl.arith.test_binary32 import _bits, _vectors

pytestmark = pytest.mark.amaranth


class _Piped(wiring.Component):
    a: In(32)
    b: In(32)
    mag: In(40)
    exp: In(signed(12))
    neg: In(1)
    add: Out(32)
    mul: Out(32)
    cvt: Out(32)

    def __init__(self, registers: int):
        self.registers = registers
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        self.latency = {}
        for out, depths, build in (
                ("add", ADD_DEPTHS, lambda p: fp32_add(m, self.a, self.b, "add", p)),
                ("mul", MUL_DEPTHS, lambda p: fp32_mul(m, self.a, self.b, "mul", p)),
                ("cvt", ROUND_DEPTHS, lambda p: round_fp32(m, self.neg, self.mag, self.exp, "cvt", p))):
            k = min(self.registers, len(depths) - 1)
            pipe = Cuts(m, choose_cuts(depths, k), out)
            m.d.comb += getattr(self, out).eq(build(pipe))
            assert pipe.boundaries == len(depths) - 1 and pipe.registers == k
            self.latency[out] = k
        return m


def _run_piped(registers, a, b, mags, exps, negs):
    from amaranth.sim import Simulator

    dut = _Piped(registers)
    k = {out: min(registers, len(d) - 1) for out, d in (("add", ADD_DEPTHS), ("mul", MUL_DEPTHS),
                                                         ("cvt", ROUND_DEPTHS))}
    n = len(a)
    out = {o: [None] * n for o in k}

    async def bench(ctx):
        for t in range(n + max(k.values()) + 1):
            if t < n:
                ctx.set(dut.a, int(a[t]))
                ctx.set(dut.b, int(b[t]))
                ctx.set(dut.mag, int(mags[t]))
                ctx.set(dut.exp, int(exps[t]))
                ctx.set(dut.neg, int(negs[t]))
            for o, lat in k.items():  # the result of the inputs of cycle t - lat
                if 0 <= t - lat < n:
                    out[o][t - lat] = ctx.get(getattr(dut, o))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return {o: np.array(v, dtype=np.int64) for o, v in out.items()}


@pytest.mark.parametrize("registers", [1, 2, 4])
def test_pipelined_units_equal_numpy(registers):
    a, b = _vectors(150, seed=registers)
    rng = np.random.default_rng(registers)
    n = len(a)
    mags = rng.integers(0, 1 << 40, n)
    exps = rng.integers(-200, 140, n)
    negs = rng.integers(0, 2, n)
    got = _run_piped(registers, a, b, mags, exps, negs)
    fa, fb = a.astype(np.uint32).view(np.float32), b.astype(np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        want = {"add": _bits(fa + fb), "mul": _bits(fa * fb),
                "cvt": _bits(np.where(negs == 1, -1.0, 1.0) * np.ldexp(mags.astype(np.float64), exps))}
    for o, w in want.items():
        np.testing.assert_array_equal(canonical_nan(got[o]), canonical_nan(w), err_msg=o)


def _brute(depths, k):
    n = len(depths)
    best = None
    for chosen in combinations(range(1, n), k):
        bounds = [0, *chosen, n]
        worst = max(sum(depths[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1))
        best = worst if best is None else min(best, worst)
    return best


@pytest.mark.unit
@pytest.mark.parametrize("seed", range(20))
def test_choose_cuts_minimises_the_deepest_stage(seed):
    rng = np.random.default_rng(seed)
    depths = [int(x) for x in rng.integers(1, 40, rng.integers(1, 9))]
    for k in range(len(depths)):
        cuts = sorted(choose_cuts(depths, k))
        assert len(cuts) == k and all(1 <= c < len(depths) for c in cuts)
        bounds = [0, *cuts, len(depths)]
        worst = max(sum(depths[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1))
        assert worst == _brute(depths, k)


@pytest.mark.unit
def test_too_many_registers_is_refused():
    with pytest.raises(ConfigError, match=r"^a datapath of 3 segments takes 0\.\.2 pipeline registers, got 3$"):
        choose_cuts([1, 2, 3], 3)
