"""`accel rtl export|verify|synth` estimate an array's conversion from small probes and ask for --force."""

from __future__ import annotations

import pytest

from accel import limits
from accel.errors import ConfigError
from rtl import cli as commands
from rtl.build import target_from_args
from rtl.export import to_rtlil
from tests.bounded import raises_small, run_cli

pytestmark = pytest.mark.amaranth


@pytest.mark.parametrize("pe, array, dequant", [("int8_mac", "8x8", False), ("mixpe_w4a8", "4x8", True),
                                                ("minifloat_mac", "3x2", False)])
def test_the_probe_estimate_is_close_to_the_real_rtlil(pe, array, dequant):
    t = target_from_args(None, pe, array, dequant)
    real = len(to_rtlil(t.component(), "probe"))
    assert commands.rtlil_bytes(t) == pytest.approx(real, rel=0.05)


@pytest.mark.parametrize("action", ["export", "verify", "synth"])
def test_a_128x128_array_needs_force(tmp_path, action):
    argv = ["rtl", action, "--pe", "int8_mac", "--array", "128x128"]
    argv += {"export": ["-o", str(tmp_path / "out")], "synth": ["--target", "generic"]}.get(action, [])
    verb = {"export": "exporting", "verify": "verifying", "synth": "synthesising"}[action]
    raises_small(ConfigError, rf"^{verb} int8_mac_array128x128: converting its 128x128 PEs \(about 3\d\.\d MB of "
                              r"RTLIL\) would take about [45]\.\d+ min, longer than the limit of 1 min "
                              r"\(ACCEL_MAX_SECONDS\); pass --force to run it anyway$", run_cli, argv)
    assert not (tmp_path / "out").exists()


def test_force_passes_the_time_limit_but_not_the_memory_limit(monkeypatch):
    t = target_from_args(None, "int8_mac", "128x128")
    commands._check_size(t, "exporting", force=True)
    monkeypatch.setenv(limits.MEMORY_ENV, "1G")
    with pytest.raises(ConfigError, match=r"^exporting int8_mac_array128x128: converting its 128x128 PEs \(about .* "
                                          r"needs about 1\.\d+ GB of memory, more than the limit of 1\.07 GB"):
        commands._check_size(t, "exporting", force=True)


def test_small_arrays_and_single_pes_are_not_probed(monkeypatch):
    def boom(target):
        raise AssertionError("probed")

    monkeypatch.setattr(commands, "rtlil_bytes", boom)
    for array in (None, "4x8", "1x32"):
        commands._check_size(target_from_args(None, "fp16_dequant_first", array), "exporting", force=False)
