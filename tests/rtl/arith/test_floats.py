"""rtl.arith.floats: the special values the RTL decodes are accel.formats' (every code of every signed float
format with subnormals of 8 bits or fewer, against the format's own ``classify``), Amaranth simulator."""

import numpy as np
import pytest

from accel import formats

pytestmark = pytest.mark.amaranth


def _layouts():
    out = []
    for name in formats.names():
        fmt = formats.get(name)
        if hasattr(fmt, "mbits") and fmt.signed and fmt.subnormals and fmt.bits <= 8:
            out.append(name)
    return out


@pytest.mark.parametrize("name", _layouts())
def test_unpack_flags_nan_and_inf_as_the_format_classifies(name):
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from amaranth.sim import Simulator

    from rtl.arith.floats import FloatLayout, unpack

    fmt = formats.get(name)
    layout = FloatLayout.of(fmt)

    class Decode(wiring.Component):
        code: In(layout.bits)
        nan: Out(1)
        inf: Out(1)

        def elaborate(self, platform):
            m = Module()
            u = unpack(self.code, layout)
            m.d.comb += [self.nan.eq(u.nan), self.inf.eq(u.inf)]
            return m

    dut = Decode()
    codes = fmt.codes()
    got = []

    async def bench(ctx):
        for c in codes:
            ctx.set(dut.code, int(c))
            got.append((ctx.get(dut.nan), ctx.get(dut.inf)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    kind = fmt.classify(codes)
    nan, inf = np.array(got, dtype=bool).T
    assert (nan == (kind == "nan")).all() and (inf == (kind == "inf")).all()
    assert nan.any() == fmt.has_nan and inf.any() == fmt.has_inf
