"""DRAM technologies: presets with cited figures, explicit numbers, their validation, and their effect on the
simulator's bandwidth and the cost model's energy."""

import math

import pytest

from accel import pe as pe_mod
from accel.design import ArraySpec, Design, design_from_dict, with_dram
from accel.dram import dram_technology, presets
from accel.errors import ConfigError

pytestmark = pytest.mark.unit


def test_presets_carry_their_citations():
    p = presets()
    assert list(p) == ["ddr4", "lpddr5", "hbm3"]
    assert p["ddr4"].pj_per_bit is None  # the cost table's (Horowitz) figure: every existing result unchanged
    assert "O'Connor" in p["hbm3"].source and "JESD238" in p["hbm3"].source
    assert "JESD209-5" in p["lpddr5"].source and "ESTIMATE" in p["lpddr5"].source
    # HBM3: 1024 pins x 6.4 Gb/s; LPDDR5 x64: 64 pins x 6.4 Gb/s
    assert p["hbm3"].bandwidth_gb_per_s == 1024 * 6.4 / 8 and p["lpddr5"].bandwidth_gb_per_s == 64 * 6.4 / 8


def test_ddr4_is_todays_default_memory():
    base = Design(pe=pe_mod.parse("int8_mac"))
    d = with_dram(base, "ddr4")
    assert d.memory.dram_bandwidth_bytes_per_cycle == base.memory.dram_bandwidth_bytes_per_cycle == 128.0


def test_preset_bandwidth_is_converted_at_the_array_clock():
    d = with_dram(Design(pe=pe_mod.parse("int8_mac"), array=ArraySpec(freq_mhz=1000.0)), "hbm3")
    assert d.memory.dram_bandwidth_bytes_per_cycle == pytest.approx(819.2)  # 819.2 GB/s at 1 GHz
    assert d.memory.dram.name == "hbm3"


def test_explicit_technology_and_its_errors():
    d = with_dram(Design(pe=pe_mod.parse("int8_mac")), {"pj_per_bit": 2.5, "bandwidth_bits_per_cycle": 4096})
    assert d.memory.dram_bandwidth_bytes_per_cycle == 512 and d.memory.dram.pj_per_bit == 2.5
    with pytest.raises(ConfigError, match=r"^unknown DRAM technology 'ddr9'; valid presets: ddr4, lpddr5, hbm3, "
                                          r"or a mapping \{pj_per_bit, bandwidth_bits_per_cycle\}$"):
        dram_technology("ddr9")
    with pytest.raises(ConfigError, match=r"^unknown key memory\.dram\.'pj'; valid keys: pj_per_bit, "
                                          r"bandwidth_bits_per_cycle; memory\.dram\.pj_per_bit is missing"):
        dram_technology({"pj": 1, "bandwidth_bits_per_cycle": 8})
    for bad in (0, -1, math.inf, math.nan, True, "3"):
        with pytest.raises(ConfigError, match=r"^memory\.dram\.pj_per_bit must be a positive number, got "):
            dram_technology({"pj_per_bit": bad, "bandwidth_bits_per_cycle": 8})
    with pytest.raises(ConfigError, match=r"^memory\.dram must be a preset name \(ddr4, lpddr5, hbm3\) or a mapping"):
        dram_technology(7)


def test_design_file_dram_is_validated_with_every_other_problem():
    d = design_from_dict({"pe": "int8_mac", "array": {"freq_mhz": 800}, "memory": {"dram": "lpddr5"}})
    assert d.memory.dram_bandwidth_bytes_per_cycle == pytest.approx(51.2e3 / 800)
    with pytest.raises(ConfigError) as ei:
        design_from_dict({"pe": "int8_mac", "array": {"rows": 0},
                          "memory": {"dram": "sdram", "dram_bandwidth_bytes_per_cycle": 4}})
    msg = str(ei.value)
    for needle in ("array.rows", "unknown DRAM technology 'sdram'; valid presets: ddr4, lpddr5, hbm3",
                   "give memory.dram or memory.dram_bandwidth_bytes_per_cycle, not both"):
        assert needle in msg, (needle, msg)


def test_technology_sets_simulated_bandwidth_and_priced_energy():
    import cost_models
    import sim

    # a weight path of 16 rows per column per cycle, so that DRAM, not the weight load, binds
    base = Design(pe=pe_mod.parse("int8_mac"), array=ArraySpec(32, 32, weight_load_bits_per_cycle=16 * 32 * 8))
    runs = {}
    for name in ("ddr4", "hbm3"):
        d = with_dram(base, name)
        r = sim.simulate((1, 2048, 2048), d)
        runs[name] = (r, cost_models.evaluate(d, r))
    (slow, e_slow), (fast, e_fast) = runs["ddr4"], runs["hbm3"]
    assert slow.dram_bits == fast.dram_bits and fast.cycles < slow.cycles  # same traffic, more bandwidth
    default = cost_models.evaluate(base, sim.simulate((1, 2048, 2048), base))
    assert e_slow.energy_components_pj == default.energy_components_pj  # ddr4 == today's figures
    assert e_fast.energy_components_pj["dram"] == pytest.approx(fast.dram_bits * 3.9, rel=1e-12)
    assert e_slow.energy_components_pj["dram"] == pytest.approx(slow.dram_bits * 1950 / 64, rel=1e-12)
