"""The real evaluation chain (workloads accuracy, sim.simulate, cost_models.evaluate) on SmolLM2."""

import json
import math

import pandas as pd
import pytest

from cost_models.explore.chain import ChainEvaluator, _trace
from cost_models.explore.records import ArithConfig, Point, Workload
from cost_models.explore.runner import run_points
from cost_models.explore.spec import accel_canonical_pe, load_preset, preset_names, sweep_from_dict

WORKLOAD = Workload(model="smollm2-135m", prefill_tokens=8, decode_tokens=2, accuracy_windows=1, accuracy_tokens=12)


@pytest.mark.unit
def test_every_preset_names_only_registered_pes_and_valid_designs():
    for name in preset_names():
        sweep = load_preset(name, canonical_pe=accel_canonical_pe)
        assert sweep.points and all(p.to_design(None) for p in sweep.points)


@pytest.mark.unit
def test_performance_is_the_simulator_and_cost_model_on_the_point_design():
    import cost_models
    import sim
    from accel import pe

    point = Point(WORKLOAD, "mixpe_w4a8:group_size=64", array_rows=16, array_cols=8,
                  dram_bandwidth_bytes_per_cycle=32.0)
    got = ChainEvaluator().performance(point)
    design = point.to_design(pe.parse(point.pe))
    trace = _trace("smollm2-135m", ("prefill", "decode"), 8, 2)
    assert sum(op.phase == "decode" for op in trace.ops) == 2 * sum(op.phase == "prefill" for op in trace.ops)
    ref = sim.simulate(trace, design)
    cost = cost_models.evaluate(design, ref)
    assert (got.cycles, got.compute_cycles, got.memory_stall_cycles, got.macs, got.dram_bits) == (
        ref.cycles, ref.compute_cycles, ref.memory_stall_cycles, ref.macs, ref.dram_bits)
    assert got.prefill_cycles + got.decode_cycles == got.cycles and got.decode_cycles > 0
    assert (got.energy_pj, got.area_um2) == (cost.energy_pj, cost.area_um2)
    assert got.tokens == 8 + 2 and len(got.ops) == len(trace.ops)
    assert (got.weight_scheme, got.weight_bits, got.act_bits) == ("int4_g64", 4, 8)
    # each op carries the limit that binds it and that limit's cycles (its own roof on the roofline)
    assert [(o.bound, o.bound_cycles) for o in got.ops] == [
        (max(op.limits, key=op.limits.get), max(op.limits.values())) for op in ref.ops]
    assert {o.bound for o in got.ops} <= {"compute", "weight_load", "sram", "dram", "dequant"}
    shape_only = ArithConfig("llama2-7b", "int8_mac", None, 1, 12)  # no weights: no accuracy
    assert ChainEvaluator().accuracy(shape_only).metric == "none"


@pytest.mark.model
def test_a_small_real_sweep_runs_end_to_end(tmp_path):
    from accel import pe
    from workloads import accuracy
    from workloads import providers as prov
    from workloads.models import load_model

    sweep = sweep_from_dict({"workload": {"model": "smollm2-135m", "prefill_tokens": 8, "decode_tokens": 1,
                                          "accuracy_windows": 1, "accuracy_tokens": 10},
                             "axes": {"pe": ["int8_mac"], "array": ["8x8", "16x16"]}},
                            canonical_pe=accel_canonical_pe)
    s = run_points(sweep.points, ChainEvaluator(), tmp_path, jobs=1, progress=False)
    assert not s.failures and s.accuracy_evaluated == 1 and s.points_evaluated == 2
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert df[["accuracy_loss", "energy_per_token_pj", "latency_ms", "area_mm2"]].notna().all().all()
    # accuracy: perplexity through the PE against the float64 reference, shared by both array sizes
    model = load_model("smollm2-135m")
    ref = accuracy.perplexity(model, tokens=10, n_windows=1)["perplexity"]
    mine = accuracy.perplexity(model, provider=prov.PEProvider(pe.parse("int8_mac")), tokens=10,
                               n_windows=1)["perplexity"]
    assert df["accuracy_metric"].tolist() == ["perplexity"] * 2
    assert df["accuracy_value"].tolist() == [mine] * 2 and df["accuracy_reference"].tolist() == [ref] * 2
    assert math.isfinite(mine) and mine != ref
    # provenance: the text and model files the accuracy was computed with
    from workloads import fetch
    from workloads.text import load_text

    assert df["accuracy_text_sha256"].tolist() == [load_text()[1]["sha256"]] * 2
    assert json.loads(df["accuracy_model_files"].iloc[0]) == fetch.verify("smollm2-135m")
    small, big = df.iloc[0], df.iloc[1]
    assert big["cycles"] <= small["cycles"] and big["area_um2"] > small["area_um2"]


@pytest.mark.model
def test_encoder_performance_uses_the_captured_forward_pass_shapes():
    from accel.errors import ConfigError

    w = Workload(model="minilm-l6", phases=("prefill",), prefill_tokens=8, decode_tokens=0)
    got = ChainEvaluator().performance(Point(w, "int8_mac", array_rows=8, array_cols=8))
    # all-MiniLM-L6-v2 config: 6 layers, hidden 384, intermediate 1536, 12 heads; [CLS] 8 tokens [SEP]
    n, layers, hidden, ffn = 10, 6, 384, 1536
    weights = layers * n * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = layers * 2 * n * n * hidden  # QK^T and PV over all heads
    assert got.macs == weights + attention and got.decode_cycles == 0 and got.cycles > 0
    with pytest.raises(ConfigError, match="encoder"):
        ChainEvaluator().performance(Point(Workload(model="minilm-l6", phases=("prefill", "decode")), "int8_mac"))


@pytest.mark.unit
def test_energy_components_per_token_and_latency_reach_the_results_table(tmp_path):
    from accel import pe
    from cost_models.evaluation import ENERGY_COMPONENTS

    point = Point(WORKLOAD, "int8_mac", array_rows=8, array_cols=8)
    got = ChainEvaluator(skip_accuracy=True).performance(point)
    per_token = [getattr(got, f"energy_{k}_pj_per_token") for k in ENERGY_COMPONENTS]
    assert sum(per_token) == pytest.approx(got.energy_pj / got.tokens, rel=1e-12) and min(per_token) >= 0
    freq = point.to_design(pe.parse(point.pe)).array.freq_mhz
    assert got.ttft_ms == pytest.approx(got.prefill_cycles / (freq * 1e3))
    assert got.tpot_ms == pytest.approx(got.decode_cycles / WORKLOAD.decode_tokens / (freq * 1e3))
    s = run_points([point], ChainEvaluator(skip_accuracy=True), tmp_path, jobs=1, progress=False)
    assert not s.failures
    df = pd.read_parquet(tmp_path / "results.parquet")
    cols = [f"energy_{k}_pj_per_token" for k in ENERGY_COMPONENTS]
    assert df[cols].sum(axis=1).tolist() == pytest.approx(df["energy_per_token_pj"].tolist(), rel=1e-12)
    assert df["ttft_ms"].tolist() == [got.ttft_ms] and df["tpot_ms"].tolist() == [got.tpot_ms]
