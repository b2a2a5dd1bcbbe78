"""Memory model: SRAM fit to the published points, area rule, DRAM range, leakage units."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.errors import ConfigError
from cost_models.memory import MemoryModel

pytestmark = pytest.mark.unit

# Horowitz ISSCC 2014: 64-bit SRAM read energy (pJ) by capacity (bytes).
PUBLISHED = {8 * 1024: 10.0, 32 * 1024: 20.0, 1024 * 1024: 100.0}


@pytest.fixture(scope="module")
def mem():
    return MemoryModel()


@pytest.mark.parametrize("capacity_bytes,pj", sorted(PUBLISHED.items()))
def test_sram_fit_near_published_points(mem, capacity_bytes, pj):
    fitted = mem.sram_read_pj_per_bit(capacity_bytes * 8) * 64
    assert fitted == pytest.approx(pj, rel=0.10)


def test_sram_fit_reports_its_residuals(mem):
    d = mem.sram_fit().to_dict()
    assert [p["published_pj"] for p in d["points"]] == [PUBLISHED[c] for c in sorted(PUBLISHED)]
    assert all(abs(p["error"]) < 0.10 for p in d["points"])
    assert 0.4 < d["b"] < 0.55  # 8->32 KB doubles (b=0.5), 32 KB->1 MB x5 (b=0.46)


def test_sram_area_is_600_lambda_squared_per_bit(mem):
    assert mem.sram_area_um2(1024) == pytest.approx(1024 * 600 * 0.045 ** 2, rel=1e-12)


def test_sram_access_width_and_write(mem):
    cap = 128 * 1024 * 8
    assert mem.sram_access_pj(cap, 128) == pytest.approx(2 * mem.sram_access_pj(cap, 64), rel=1e-12)
    assert mem.sram_access_pj(cap, 64, write=True) == pytest.approx(mem.sram_access_pj(cap, 64), rel=1e-12)
    with pytest.raises(ConfigError, match=r"^SRAM width_bits must be a positive integer, got 0$"):
        mem.sram_access_pj(cap, 0)
    with pytest.raises(ConfigError, match=r"^SRAM capacity_bits must be an integer >= 8, got 4$"):
        mem.sram_area_um2(4)


def test_dram_range(mem):
    assert mem.dram_pj_per_bit("low") == 1300 / 64 and mem.dram_pj_per_bit("high") == 2600 / 64
    assert mem.dram_pj_per_bit("low") < mem.dram_pj_per_bit() < mem.dram_pj_per_bit("high")
    with pytest.raises(ConfigError, match=r"^DRAM energy bound 'max' not in table; valid: value, low, high$"):
        mem.dram_pj_per_bit("max")


def test_leakage_units(mem):
    # 1000 um^2 of logic at 10 nW/um^2 = 10 uW; one 2 ns cycle (500 MHz) = 2e-14 J = 0.02 pJ.
    assert mem.leakage_pj_per_cycle(1000, 0, 500) == pytest.approx(0.02, rel=1e-12)


@pytest.mark.property
@settings(max_examples=100, deadline=None)
@given(st.integers(8, 2 ** 30), st.integers(8, 2 ** 30))
def test_sram_monotone_in_capacity(a, b):
    m = MemoryModel()
    lo, hi = sorted((a, b))
    assert m.sram_read_pj_per_bit(lo) <= m.sram_read_pj_per_bit(hi)
    assert m.sram_area_um2(lo) <= m.sram_area_um2(hi)
