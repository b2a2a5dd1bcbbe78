"""Logic levels of mapped designs (the Fmax model's input): carry chains counted per the families' carry cells."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from rtl.synth import levels

pytestmark = pytest.mark.amaranth


class RegisteredAdd(wiring.Component):
    """Registered operands, an optional w-bit add, a registered result."""

    def __init__(self, width: int, add: bool):
        self.width, self.add = width, add
        super().__init__({"a": In(width), "b": In(width), "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        a, b = Signal(self.width), Signal(self.width)
        m.d.sync += [a.eq(self.a), b.eq(self.b)]
        m.d.sync += self.y.eq((a + b)[:self.width] if self.add else a)
        return m


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ACCEL_SYNTH_CACHE", raising=False)


def test_a_register_to_register_wire_has_no_level(fresh_cache):
    for family in levels.FAMILIES:
        got = levels.mapped_levels(RegisteredAdd(16, add=False), "top", family)
        assert (got.levels, got.lut_levels, got.carry_levels) == (0, 0, 0)


def test_a_16_bit_add_is_its_carry_chain(fresh_cache):
    # ECP5's CCU2C carries two bits per cell, iCE40's SB_CARRY one: 8 and 16 cells from register to register,
    # the LUT levels being the few LUTs beside the chain
    ecp5 = levels.mapped_levels(RegisteredAdd(16, add=True), "top", "ecp5")
    assert ecp5.carry_levels == 16 // 2 and ecp5.lut_levels <= 1
    ice40 = levels.mapped_levels(RegisteredAdd(16, add=True), "top", "ice40")
    assert ice40.carry_levels in (15, 16) and ice40.lut_levels <= 1


def test_results_are_cached_by_content(fresh_cache, monkeypatch):
    first = levels.mapped_levels(RegisteredAdd(8, add=True), "top", "ecp5")
    monkeypatch.setattr(levels, "run_yosys", lambda *a, **k: pytest.fail("cached: yosys must not run"))
    assert levels.mapped_levels(RegisteredAdd(8, add=True), "top", "ecp5") == first


def test_unknown_family_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"^unknown FPGA family 'xc7' for logic levels; valid families: ecp5, ice40$"):
        levels.mapped_levels_rtlil("", "top", "xc7")
