"""Placement of the dequant pipeline registers (``rtl.array.dequant.stage_boundaries``)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtl.array.dequant import DequantConfig, stage_boundaries

pytestmark = pytest.mark.unit


def stages(depths, regs, pre=0):
    out, cur = [], pre
    for b, r in enumerate(regs):
        if r:
            out.append(cur)
            cur = 0
        if b < len(depths):
            cur += depths[b]
    return out + [cur]


@given(st.lists(st.integers(1, 200), min_size=1, max_size=6), st.integers(0, 10), st.integers(0, 50))
def test_every_register_is_placed_and_more_registers_never_deepen_a_stage(depths, registers, pre):
    regs = stage_boundaries(depths, registers, pre)
    assert len(regs) == len(depths) + 1 and sum(regs) == registers
    more = stage_boundaries(depths, registers + 1, pre)
    assert max(stages(depths, more, pre)) <= max(stages(depths, regs, pre))
    if registers >= len(depths) + 1:  # one register at every boundary: the deepest stage is the deepest step
        assert max(stages(depths, regs, pre)) == max(max(depths), pre)


def test_q4_1_w4a8_with_the_default_four_registers_cuts_between_every_fp_step():
    cfg = DequantConfig("min", latency_cycles=4)
    assert cfg.steps() == ["convert", "scale", "min_add", "accumulate", "act_scale"]
    assert stage_boundaries(cfg.step_depths(), 4) == [0, 1, 1, 1, 1, 0]


def test_zero_registers_is_one_combinational_stage():
    assert stage_boundaries([31, 130, 144], 0) == [0, 0, 0, 0]
