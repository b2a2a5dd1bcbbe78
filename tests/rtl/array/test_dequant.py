"""The FP32 dequantization datapath: binary32 units vs numpy float32, and MixPE end to end vs spec.gemm."""

import numpy as np
import pytest

from accel.pe import parse
from rtl.verify.checks import check_mixpe_gemm

pytestmark = pytest.mark.amaranth


def _bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.int64)


def operand_pairs(n=1500, seed=0):
    """Random normals over a wide exponent range, plus the hard cases: ties (few significant bits),
    near and exact cancellation, zeros, and products that round up into the next binade."""
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    b = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    k = n // 6
    a[:k] = rng.integers(1, 2**13, k) * 2.0 ** rng.integers(-5, 5, k)  # short significands: many exact ties
    b[:k] = rng.integers(1, 2**13, k) * 2.0 ** rng.integers(-20, 5, k) * rng.choice([-1, 1], k)
    a[k:2 * k] = -b[k:2 * k] * (1 + rng.integers(-4, 5, k).astype(np.float32) * np.float32(2**-23))
    a[2 * k:2 * k + 20] = -b[2 * k:2 * k + 20]
    a[2 * k + 20:2 * k + 40] = 0
    b[2 * k + 40:2 * k + 60] = 0
    a[2 * k + 60:2 * k + 80] = np.float32(1 + 2**-12)
    b[2 * k + 60:2 * k + 80] = np.float32(1 + 2**-12 - 2**-23)
    x = rng.integers(-2**29, 2**29, n)
    x[:k] = rng.integers(-2**24, 2**24, k)
    x[k:k + 60] = np.concatenate([2 ** np.arange(29), -(2 ** np.arange(29)), [0, 1]])  # every leading-zero count
    return a, b, x


def test_binary32_units_equal_numpy_float32():
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from amaranth.sim import Simulator

    from rtl.arith.binary32 import fp32_add, fp32_mul, int_to_fp32

    class Units(wiring.Component):
        a: In(32)
        b: In(32)
        x: In(30)
        add: Out(32)
        mul: Out(32)
        cvt: Out(32)

        def elaborate(self, platform):
            m = Module()
            m.d.comb += [self.add.eq(fp32_add(m, self.a, self.b)), self.mul.eq(fp32_mul(m, self.a, self.b)),
                         self.cvt.eq(int_to_fp32(m, self.x.as_signed()))]
            return m

    a, b, x = operand_pairs()
    with np.errstate(over="ignore"):
        want = {"add": _bits(a + b), "mul": _bits(a * b), "cvt": _bits(x.astype(np.float32))}
    in_range = np.abs(a.astype(np.float64) * b) < 3e38
    dut = Units()
    got = {k: [] for k in want}

    async def bench(ctx):
        for i in range(len(a)):
            ctx.set(dut.a, int(_bits(a[i])))
            ctx.set(dut.b, int(_bits(b[i])))
            ctx.set(dut.x, int(x[i]) & (2**30 - 1))
            await ctx.delay(1e-9)
            for k in got:
                got[k].append(ctx.get(getattr(dut, k)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    np.testing.assert_array_equal(np.array(got["add"]), want["add"])
    np.testing.assert_array_equal(np.array(got["mul"])[in_range], want["mul"][in_range])
    np.testing.assert_array_equal(np.array(got["cvt"]), want["cvt"])


@pytest.mark.parametrize("fmt", ["int4", "uint4", "q4_0", "q4_1"])
def test_mixpe_gemm_end_to_end_equals_spec_gemm(fmt):
    """PE RTL group sums -> dequant unit RTL -> y: the bits of ``spec.gemm(A, W)``."""
    spec = parse(f"mixpe_w4a8:weight_format={fmt}")
    rng = np.random.default_rng(1)
    A = rng.standard_normal((2, 96)) * np.exp(rng.standard_normal((2, 96)))  # heavy-tailed activations
    W = rng.standard_normal((96, 3))
    W[32:64, 1] = 0  # an all-zero weight group (scale 0)
    report = check_mixpe_gemm(spec, A, W)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 2 * 3


@pytest.mark.parametrize("latency", [1, 2, 6])
def test_pipelined_dequant_unit_equals_spec_gemm_at_every_latency(latency):
    """Q4_1 (the deepest datapath), groups of one output on consecutive cycles: same bits at any depth."""
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(6)
    A = rng.standard_normal((2, 96)) * np.exp(rng.standard_normal((2, 96)))
    report = check_mixpe_gemm(spec, A, rng.standard_normal((96, 3)), dequant_latency=latency)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 2 * 3


@pytest.mark.parametrize(("latency", "loop"), [(3, 4), (6, 3), (8, 5)])
def test_dequant_unit_with_a_pipelined_accumulator_equals_spec_gemm(latency, loop):
    """Registers inside the accumulator loop: ``loop`` outputs interleaved, the same bits as ``spec.gemm``."""
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    rng = np.random.default_rng(loop)
    A = rng.standard_normal((3, 96)) * np.exp(rng.standard_normal((3, 96)))
    report = check_mixpe_gemm(spec, A, rng.standard_normal((96, 3)), dequant_latency=latency, accumulate_cycles=loop)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 3 * 3


def test_accumulator_loop_registers_must_fit_the_latency():
    from accel.errors import ConfigError
    from rtl.config import dequant_unit

    with pytest.raises(ConfigError, match=r"^dequant accumulate_cycles must be an integer in 1\.\.3 \(at most "
                                          r"latency_cycles \+ 1 and the accumulator adders' stages\), got 4$"):
        dequant_unit(parse("mixpe_w4a8"), 2, 4)


def test_stand_alone_unit_needs_a_registered_output():
    from accel.errors import ConfigError
    from rtl.config import dequant_unit

    with pytest.raises(ConfigError, match=r"^the stand-alone dequant unit needs latency_cycles >= 1 \(a registered "
                                          r"output\), got 0$"):
        dequant_unit(parse("mixpe_w4a8"), 0)


def test_a_wrong_rounding_is_caught(monkeypatch):
    """Truncating instead of rounding the per-token scaling breaks bit-exactness (the check can fail)."""
    import rtl.verify.checks

    spec = parse("mixpe_w4a8:weight_format=uint4")
    rng = np.random.default_rng(2)
    A, W = rng.standard_normal((3, 64)), rng.standard_normal((64, 4))
    real = rtl.verify.checks.f32_bits
    monkeypatch.setattr(rtl.verify.checks, "f32_bits", lambda x: real(np.asarray(x) * (1 + 2.0**-20)))
    report = check_mixpe_gemm(spec, A, W)
    assert report.extra["y_mismatches"] > 0


def test_mixpe_array_with_column_edge_dequant_equals_spec_gemm():
    """4x4 array + column-edge FP32 units: two groups of two folds each, every output bit-exact."""
    from rtl.verify.checks import check_mixpe_array

    spec = parse("mixpe_w4a8:weight_format=uint4,group_size=8")
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 16)) * np.exp(rng.standard_normal((3, 16)))
    report = check_mixpe_array(spec, 4, A, rng.standard_normal((16, 4)))
    assert report.ok, report.first_mismatch
    assert report.results == 3 * 4


def test_mixpe_array_needs_group_dividing_or_multiple_of_rows():
    from accel.errors import ConfigError
    from rtl.config import mixpe_array

    with pytest.raises(ConfigError, match=r"^the MixPE array needs a group size that divides its 4 rows or is a "
                                          r"multiple of them, got group_size=6 \(valid: 1, 2, 4, 8, 12, \.\.\.\)$"):
        mixpe_array(parse("mixpe_w4a8:group_size=6"), 4, 4)
