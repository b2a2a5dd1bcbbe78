"""The simulator estimates memory and time from its tiling before it allocates (accel.limits)."""

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from accel import limits
from accel import pe as pe_mod
from accel.design import ArraySpec, Design
from accel.errors import ConfigError, TraceError
from sim.pe_view import pe_view
from sim.tiling import TilingPolicy, fold_count, plan_op
from tests.bounded import raises_small, run_cli
from tests.sim.test_properties import setups


def _design(df="ws", rows=4, cols=4):
    return Design(pe=pe_mod.parse("int8_mac"), array=ArraySpec(rows, cols, df))


@pytest.mark.property
@settings(max_examples=120, deadline=None, derandomize=True)
@given(setups(), st.sampled_from([None, 1, 3, 17]))
def test_fold_count_is_the_plans_length(case, m_block):
    d, (m, n, k) = case
    policy = TilingPolicy(m_block=m_block)
    view = pe_view(d.pe)
    assert fold_count(m, n, k, d, view, policy) == plan_op(m, n, k, d, view, policy).n_folds


@pytest.mark.unit
@pytest.mark.parametrize("pe, df, gemm", [
    ("int8_mac", "ws", (81_920_000, 1, 1)), ("int8_mac", "os", (20_000, 1, 1)), ("int8_mac", "is", (1, 81_920_000, 1)),
    ("int8_mac", "ws", (64, 300, 300)), ("mixpe_w4a8", "ws", (64, 256, 2048)), ("mixpe_w4a8", "os", (512, 512, 256))])
def test_memory_estimate_bounds_what_the_simulation_allocates(pe, df, gemm):
    d = Design(pe=pe_mod.parse(pe), array=ArraySpec(4, 4, df))
    folds = fold_count(*gemm, d, pe_view(d.pe))
    assert folds >= 5_000
    sim.simulate((4, 4, 64), d)  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        sim.simulate(gemm, d)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= limits.simulation("x", folds, folds, event_driven=True).bytes


HUGE = [("1000000000000,1,1", r"61,035,157 folds"), ("1,1,1000000000000", r"250,000,000,000 folds"),
        ("1000000,1000000,1000000", r"15,312,500,000,000 folds")]


@pytest.mark.unit
@pytest.mark.parametrize("command", ["sim", "cost"])
@pytest.mark.parametrize("gemm, folds", HUGE)
def test_huge_gemms_refused_before_allocating(command, gemm, folds):
    m, n, k = gemm.split(",")
    raises_small(ConfigError, rf"^simulating GEMM {m}x{k}->{n} \({folds} on a 4x4 ws array\) needs about "
                              r"[\d.,]+ [kMGT]B of memory, more than the limit of [\d.,]+ [kMGT]?B \(.*\); "
                              r"ask for less",
                 run_cli, [command, "--pe", "int8_mac", "--array", "4x4", "--gemm", gemm])


@pytest.mark.unit
def test_scalesim_mode_is_refused_too():
    raises_small(ConfigError, r"^simulating GEMM 1000000000000x1->1 \(61,035,157 folds on a 4x4 ws array\) needs about",
                 run_cli, ["sim", "--pe", "int8_mac", "--array", "4x4", "--gemm", "1000000000000,1,1",
                           "--mode", "scalesim"])


@pytest.mark.unit
def test_the_analytic_cost_of_a_huge_gemm_is_closed_form_and_allowed():
    d = run_cli(["cost", "--pe", "int8_mac", "--array", "4x4", "--gemm", "1000000000000,1,1", "--analytic", "--json"])
    assert d["macs"] == 10 ** 12


@pytest.mark.unit
def test_a_huge_model_trace_is_refused_naming_the_largest_op():
    raises_small(TraceError, r"^simulating 721 ops \([\d,]+ folds; the largest, op 'attn_qk' \(layer 0, "
                              r"800000000x128->100000000\), [\d,]+ folds on a 32x32 ws array\) needs about",
                 run_cli, ["sim", "--pe", "int8_mac", "--model", "llama2-70b", "--tokens", "100000000"])


@pytest.mark.unit
def test_a_trace_with_a_huge_op_is_a_trace_error(tmp_path):
    from workloads.trace import GemmOp, Trace, load_trace, save_trace

    save_trace(Trace("toy", [GemmOp(0, "ffn_up", "prefill", 4, 64, 64, weight_ref="0.ffn_up"),
                             GemmOp(0, "ffn_down", "prefill", 10 ** 12, 64, 64, weight_ref="0.ffn_down")]), tmp_path)
    trace = load_trace(tmp_path)
    raises_small(TraceError, r"^simulating 2 ops .*the largest, op 'ffn_down' \(layer 0, 1000000000000x64->64\).* "
                             r"needs about", sim.simulate, trace, _design())
    raises_small(TraceError, r"^simulating 2 ops", run_cli, ["sim", "--pe", "int8_mac", "--trace", str(tmp_path)])


@pytest.mark.unit
def test_an_empty_trace_needs_nothing():
    from workloads.trace import Trace

    assert sim.simulate(Trace("empty", []), _design()).cycles == 0


@pytest.mark.unit
def test_time_limit_and_force(monkeypatch):
    monkeypatch.setenv(limits.SECONDS_ENV, "0.001")
    argv = ["sim", "--pe", "int8_mac", "--array", "4x4", "--gemm", "64,64,64"]
    raises_small(ConfigError, r"^simulating GEMM 64x64->64 \(256 folds on a 4x4 ws array\) would take about "
                              r"[\d.]+ s, longer than the limit of 0\.001 s \(ACCEL_MAX_SECONDS\); pass --force to run "
                              r"it anyway$", run_cli, argv)
    assert run_cli([*argv, "--force", "--json"])["cycles"] > 0
    assert sim.simulate((64, 64, 64), _design()).cycles > 0  # the library limits time only when asked to


@pytest.mark.unit
def test_memory_limit_from_the_environment_applies(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "100k")
    with pytest.raises(ConfigError, match=r"^simulating GEMM 64x64->64 \(256 folds .* more than the limit of 102 kB "
                                          r"\(ACCEL_MAX_MEMORY\)"):
        sim.simulate((64, 64, 64), _design(), force=True)
