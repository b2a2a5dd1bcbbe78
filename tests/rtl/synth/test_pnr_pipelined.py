"""The pipelined FP32 datapaths close timing at 50 MHz on an ECP5-25F (yowasp-nextpnr, seed 1), and the
unpipelined ones do not: real place-and-route runs, minutes each (slow tier).

The depths are the ones the cocotb tests prove bit-exact (``tests/rtl/verify/test_pipelined_icarus.py``).
"""

import pytest

from accel.pe import parse
from rtl.config import binding, dequant_unit
from rtl.synth import pnr

pytestmark = [pytest.mark.amaranth, pytest.mark.slow]

CLOCK_MHZ = 50.0
#: (PE spec, the pipeline depth that reaches CLOCK_MHZ)
PIPELINED_PES = [("fp16_dequant_first:weight_format=q4_1", 4), ("minifloat_mac", 4), ("lmul", 4), ("block_mac", 4)]
#: the MixPE dequant unit (Q4_1: the deepest datapath): latency_cycles, accumulate_cycles
DEQUANT = ("mixpe_w4a8:weight_format=q4_1", 24, 5)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize(("text", "depth"), PIPELINED_PES)
def test_pipelined_fp_pe_meets_50_mhz(text, depth, fresh_cache):
    spec = parse(f"{text},pipeline_depth={depth}" if ":" in text else f"{text}:pipeline_depth={depth}")
    r = pnr.place_and_route(binding(spec).pe(spec), "pe", "ecp5-25k", CLOCK_MHZ, seed=1)
    assert r.timing_met and r.fmax_mhz >= CLOCK_MHZ, r.critical_path


def test_unpipelined_fp_pe_misses_50_mhz(fresh_cache):
    spec = parse(PIPELINED_PES[0][0])
    r = pnr.place_and_route(binding(spec).pe(spec), "pe", "ecp5-25k", CLOCK_MHZ, seed=1)
    assert not r.timing_met and r.fmax_mhz < CLOCK_MHZ / 2


def test_pipelined_dequant_unit_meets_50_mhz(fresh_cache):
    text, latency, loop = DEQUANT
    r = pnr.place_and_route(dequant_unit(parse(text), latency, loop), "dq", "ecp5-25k", CLOCK_MHZ, seed=1)
    assert r.timing_met and r.fmax_mhz >= CLOCK_MHZ, r.critical_path
