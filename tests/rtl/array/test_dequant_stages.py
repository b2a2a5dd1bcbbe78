"""Placement of the dequant pipeline registers (``DequantConfig.segments`` / ``cuts``)."""

import pytest

from rtl.array.dequant import DequantConfig

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("correction", ["none", "zero", "min"])
@pytest.mark.parametrize(("latency", "loop"), [(0, 1), (1, 1), (4, 1), (8, 4), (30, 3)])
def test_every_register_is_placed(correction, latency, loop):
    cfg = DequantConfig(correction, latency_cycles=latency, accumulate_cycles=loop)
    depths, first = cfg.segments()
    cuts, extra = cfg.cuts()
    assert len(cuts) + extra + loop - 1 == latency
    assert all(1 <= b < len(depths) for b in cuts)
    assert list(first) == [op for op, _ in cfg.ops()] and first["pre"] == 0


def test_more_registers_never_deepen_a_stage():
    def deepest(cfg):
        depths, _ = cfg.segments()
        bounds = [0, *sorted(cfg.cuts()[0]), len(depths)]
        return max(sum(depths[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))

    got = [deepest(DequantConfig("min", latency_cycles=n, accumulate_cycles=3)) for n in range(2, 20)]
    assert got == sorted(got, reverse=True) and got[-1] < got[0]


def test_zero_registers_is_one_combinational_stage():
    assert DequantConfig("none", latency_cycles=0).cuts() == (frozenset(), 0)
