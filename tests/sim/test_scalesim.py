"""SCALE-Sim-compatible mode: its closed forms on a grid, its measured runs, and SCALE-Sim itself."""

import math

import pytest

import sim
from accel.errors import ConfigError, ToolError
from sim.scalesim import run_scalesim, scalesim_cycles, scalesim_python
from tests.needs import unavailable
from tests.sim.helpers import FakePE, design

pytestmark = pytest.mark.unit

PE = FakePE(group_size=None, dequant="per_output")


def formula(m, n, k, r, c, df):
    """REFERENCE.md section 5, transcribed here independently of sim.scalesim."""
    if df == "os":
        return math.ceil(m / r) * math.ceil(n / c) * (k + r + c - 2) - 1
    return math.ceil(k / r) * math.ceil(n / c) * (m + 2 * r + c - 2) - 1


@pytest.mark.parametrize("df", ["os", "ws"])
def test_scalesim_mode_equals_the_closed_forms_on_a_grid(df):
    count = 0
    for r, c in [(4, 4), (8, 16), (32, 32), (16, 8)]:
        for m in (1, 7, 33, 64):
            for n in (1, 9, 32, 100):
                for k in (1, 31, 64):
                    res = sim.simulate((m, n, k), design(PE, r, c, df), mode="scalesim")
                    assert res.cycles == res.compute_cycles == formula(m, n, k, r, c, df), (m, n, k, r, c)
                    assert res.stall_cycles == 0
                    count += 1
    assert count == 192


# (M, K, N, rows, cols, dataflow, cycles): SCALE-Sim 3.0.0 runs measured on a 2-core machine (REFERENCE.md 5)
MEASURED = [
    (64, 256, 256, 32, 32, "os", 5_087),
    (64, 256, 256, 32, 32, "ws", 10_111),
    (256, 512, 512, 32, 32, "os", 73_471),
    (256, 512, 512, 128, 128, "ws", 10_207),
    (256, 1024, 1024, 32, 32, "os", 278_015),
]


@pytest.mark.parametrize("m,k,n,r,c,df,cycles", MEASURED)
def test_scalesim_mode_reproduces_measured_runs(m, k, n, r, c, df, cycles):
    assert sim.simulate(f"{m},{n},{k}", design(PE, r, c, df), mode="scalesim").cycles == cycles


def test_input_stationary_is_weight_stationary_transposed():
    assert scalesim_cycles(20, 30, 50, 8, 4, "is") == scalesim_cycles(30, 20, 50, 8, 4, "ws")


def test_trace_counts_multiply():
    from workloads.trace import GemmOp, Trace

    tr = Trace("t", [GemmOp(0, "a", "prefill", 64, 256, 256, count=3), GemmOp(0, "b", "prefill", 64, 256, 256)])
    assert sim.simulate(tr, design(PE, 32, 32, "os"), mode="scalesim").cycles == 4 * 5_087


def test_bad_arguments():
    with pytest.raises(ConfigError, match=r"^dataflow must be one of ws, os, is, got 'xy'$"):
        scalesim_cycles(1, 1, 1, 1, 1, "xy")
    with pytest.raises(ConfigError, match=r"^rows must be an integer >= 1, got 0$"):
        scalesim_cycles(1, 1, 1, 0, 1, "ws")
    with pytest.raises(ConfigError, match=r"^mode must be one of cycle, scalesim, got 'fast'$"):
        sim.simulate((1, 1, 1), design(PE), mode="fast")


@pytest.mark.parametrize("m,n,k,r,c,df", [(64, 256, 256, 32, 32, "ws"), (20, 30, 50, 8, 4, "os"),
                                         (20, 30, 50, 8, 4, "is"), (7, 5, 9, 4, 8, "ws")])
def test_against_scalesim_itself(m, n, k, r, c, df):
    """SCALE-Sim 3.0.0 run in its own virtual environment agrees with the scalesim mode.

    `make setup` installs it (scripts/setup_scalesim.sh); under CI its absence is a failure, not a skip.
    """
    if scalesim_python() is None:
        unavailable("SCALE-Sim venv absent: run `bash scripts/setup_scalesim.sh`")
    assert sim.simulate((m, n, k), design(PE, r, c, df), mode="scalesim").cycles == run_scalesim(m, n, k, r, c, df)


def test_missing_scalesim_is_a_tool_error(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCEL_SCALESIM_VENV", str(tmp_path / "nowhere"))
    with pytest.raises(ToolError, match=r"^SCALE-Sim is not installed: run `bash scripts/setup_scalesim.sh`"):
        run_scalesim(1, 1, 1, 1, 1, "ws")
