"""The report as a reader sees it: every link resolves, labels are unique, units and fronts say what they are."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cost_models.explore import breakdowns, display, pareto, plots
from cost_models.explore.spec import load_sweep, sweep_from_dict

from .conftest import TOY_SWEEP
from .test_report_cli import TOY, _run

pytestmark = pytest.mark.unit
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def report_links(report: Path) -> list[str]:
    """Every local link target of a Markdown report (images and files), as written."""
    return [t for t in _LINK.findall(report.read_text()) if not t.startswith(("http:", "https:", "#"))]


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory):
    """The toy sweep's report with two models, one of whose names has a dot (the ``with_suffix`` trap)."""
    tmp = tmp_path_factory.mktemp("report")
    spec = tmp / "s.yaml"
    spec.write_text(TOY_SWEEP.read_text().replace("model: toy,", "model: [toy, toy-6.7b],"))
    _run("--spec", str(spec), "-o", str(tmp / "out"), "--evaluator", TOY, "-j", "1", "--json")
    return tmp / "out"


def test_every_link_in_a_generated_report_opens(toy_report):
    links = report_links(toy_report / "report.md")
    assert len(links) >= 7
    assert "plots/front_area_mm2_vs_latency_ms_toy-6.7b.png" in links  # not ..._toy-6.png
    for link in links:
        target = toy_report / link
        assert target.is_file() and target.stat().st_size > 0, link
        if link.endswith(".png"):
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link


def test_plot_names_keep_dots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    paths = plots._save(fig, tmp_path / "front_x_opt-6.7b")
    assert [p.name for p in paths] == ["front_x_opt-6.7b.png", "front_x_opt-6.7b.svg"]
    assert all(p.is_file() for p in paths)


def test_labels_are_unique_per_model_and_the_legend_names_attention_and_kv():
    df = pd.DataFrame({"pe": ["int8_mac"] * 4 + ["mixpe_w4a8:weight_format=q4_1"], "array_rows": [32] * 5,
                       "array_cols": [32] * 5, "workload_model": ["m"] * 4 + ["m"],
                       "attention": ["reference", "pe", "reference", "reference", "reference"],
                       "kv_cache_format": [None, None, "bfp12_b32", "bfp12_b32", None],
                       "kv_sort_k_channels": [False, False, False, True, False]})
    df["label"] = display.short_labels(df)
    # letters follow the sorted full specs: bfp12_b32 < bfp12_b32 sorted < unquantized (reference < PE)
    assert df["label"].tolist() == ["INT8 32x32 c", "INT8 32x32 d", "INT8 32x32 a", "INT8 32x32 b",
                                    "MixPE-W4A8 32x32"]
    leg = display.legend(df)
    assert list(leg.columns) == ["label", "model", "PE spec", "array", "attention products", "KV cache"]
    row = leg.set_index("label").loc["INT8 32x32 b"]
    assert row["KV cache"] == "bfp12_b32, K channels sorted" and row["attention products"] == "float64 reference"
    assert leg.set_index("label").loc["INT8 32x32 d", "attention products"] == "through the PE"


@pytest.mark.parametrize(("metric", "values", "factor", "unit"), [
    ("energy_per_token_pj", [3.03e9, 2e9], 1e-9, "mJ/token"),
    ("energy_per_token_pj", [5e3, 8e3], 1e-3, "nJ/token"),
    ("latency_ms", [2.06e5, 1e5], 1e-3, "s"),
    ("latency_ms", [24.4, 126.0], 1.0, "ms"),
    ("area_um2", [5.3e6], 1e-6, "mm²"),
    ("fpga_luts", [5.7e5, 3.9e5], 1e-3, "k"),
    ("fpga_luts", [256.0], 1.0, ""),
])
def test_si_prefixes(metric, values, factor, unit):
    got_factor, got_unit = display.si_scale(metric, values)
    assert got_factor == pytest.approx(factor) and got_unit == unit
    shown = np.median(np.asarray(values) * got_factor)
    assert metric.startswith(("area", "fpga")) or 1 <= shown < 1000


def _front_frame():
    # b is 0.04% faster than a but loses 160% accuracy; c is slower, smaller, accurate
    return pd.DataFrame({"label": ["a", "b", "c"], "latency_ms": [100.0, 99.96, 150.0], "area_mm2": [5.0, 5.0, 4.0],
                         "accuracy_loss": [0.01, 1.6, 0.02], "accuracy_loss_low": [0.0, 1.5, 0.01],
                         "accuracy_loss_high": [0.02, 1.7, 0.03]})


def test_the_accuracy_limit_keeps_a_lossy_design_off_performance_fronts():
    df = _front_frame()
    ok = pareto.accuracy_mask(df, 0.05)
    assert ok.tolist() == [True, False, True]
    assert pareto.pareto_mask(df, ["latency_ms", "area_mm2"]).tolist() == [False, True, True]
    assert pareto.pareto_mask(df, ["latency_ms", "area_mm2"], where=ok).tolist() == [True, False, True]
    nan = df.assign(accuracy_loss=np.nan)  # shape-only models: nothing measured, nothing excluded
    assert pareto.accuracy_mask(nan, 0.05).all() and pareto.accuracy_mask(df, None).all()


def test_a_win_below_the_resolution_is_a_tie():
    df = _front_frame()
    front = pareto.pareto_mask(df, ["latency_ms", "area_mm2"])
    got = pareto.ties(df, ["latency_ms", "area_mm2"], front)
    assert got == [[], [0], []]  # b beats a by 0.04%: within 1%; c's win on area (20%) is resolved
    # accuracy: overlapping 95% intervals are a tie, disjoint ones are not
    acc = pd.DataFrame({"accuracy_loss": [0.010, 0.012, 0.05], "accuracy_loss_low": [0.0, 0.005, 0.04],
                        "accuracy_loss_high": [0.02, 0.02, 0.06], "energy_per_token_pj": [2.0, 1.0, 0.5]})
    metrics = ["accuracy_loss", "energy_per_token_pj"]
    front = pareto.pareto_mask(acc, metrics)
    assert front.all()
    assert pareto.ties(acc, metrics, front) == [[1], [], []]  # 1 is as accurate within the CI and cheaper


def test_the_sweep_states_its_accuracy_limit():
    base = {"name": "t", "workload": {"model": "toy"}, "axes": {"pe": ["toy:w=8"]}}
    assert load_sweep(TOY_SWEEP).front_accuracy_limit == 0.05
    assert sweep_from_dict({**base, "front_accuracy_limit": None}).front_accuracy_limit is None
    assert sweep_from_dict({**base, "front_accuracy_limit": 0.2}).front_accuracy_limit == 0.2
    from accel.errors import ConfigError

    with pytest.raises(ConfigError, match=r"front_accuracy_limit must be a number >= 0 \(relative accuracy loss\) "
                                          r"or null, got -1"):
        sweep_from_dict({**base, "front_accuracy_limit": -1})


def test_the_report_states_constraint_and_resolution(toy_report):
    text = (toy_report / "report.md").read_text()
    assert "admit only designs whose accuracy loss is at most 0.05" in text
    assert "95% accuracy intervals overlap" in text and "differ by less than 1%" in text
    assert "accuracy loss <= 0.05" in text  # the performance front's caption and plot title
    legend = text.split("## Design labels")[1].split("\n## ")[0]
    rows = [ln for ln in legend.splitlines() if ln.startswith("| toy")]
    assert len(rows) == 40 and len({tuple(r.split("|")[1:3]) for r in rows}) == 40  # unique (label, model)


def _synthetic_results():
    """Results as the cost model's energy breakdown and latency columns make them (names of the interface)."""
    rows = []
    for i, (pe, arr) in enumerate([("int8_mac", 32), ("mixpe_w4a8", 32), ("mixpe_w4a8", 64)]):
        comp = {"pe_arith": 1e8 * (i + 1), "dequant": 2e7 * i, "array": 3e7, "sram": 4e8, "dram": 2e9, "leakage": 5e6}
        rows.append({"pe": pe, "family": pe, "array_rows": arr, "array_cols": arr, "workload_model": "m",
                     **{f"energy_{k}_pj_per_token": v for k, v in comp.items()},
                     "energy_per_token_pj": sum(comp.values()), "ttft_ms": 10.0 + i, "tpot_ms": 2.0 - 0.1 * i,
                     "freq_mhz": 500.0, "prefill_cycles": 0, "decode_cycles": 0, "workload_decode_tokens": 4,
                     "workload_prefill_tokens": 64, "workload_batch": 1})
    df = pd.DataFrame(rows)
    df["label"] = display.short_labels(df)
    return df


def test_energy_breakdown_stacks_every_component(tmp_path):
    df = _synthetic_results()
    cols = breakdowns.energy_columns(df)
    assert list(cols.values()) == ["PE arithmetic", "dequant", "array movement", "SRAM", "DRAM", "leakage"]
    front = np.array([True, True, False])
    lines = breakdowns.energy_section(df, front, [("m", np.ones(3, dtype=bool))], tmp_path)
    text = "\n".join(lines)
    assert "![energy by component on m](plots/energy_m.png)" in text
    assert (tmp_path / "energy_m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = [ln for ln in lines if ln.startswith("| label")][0].splitlines()
    cells = [c.strip() for c in table[2].split("|")[1:-1]]  # the INT8 row, in mJ/token
    assert cells[0] == "INT8 32x32" and float(cells[5]) == pytest.approx(2.0) and \
        float(cells[-1]) == pytest.approx(sum(float(c) for c in cells[1:-1]), rel=1e-3)
    assert "MixPE-W4A8 64x64" not in text  # only front designs


def test_ttft_and_tpot_come_from_the_results_or_the_phase_cycles():
    df = _synthetic_results()
    lat = breakdowns.latency_columns(df)
    assert lat["ttft_ms"].tolist() == [10.0, 11.0, 12.0]
    derived = df.drop(columns=["ttft_ms", "tpot_ms"]).assign(prefill_cycles=500_000, decode_cycles=40_000)
    lat = breakdowns.latency_columns(derived)
    assert lat["ttft_ms"].tolist() == [1.0] * 3 and lat["tpot_ms"].tolist() == [0.02] * 3  # 10k cycles a step
    text = "\n".join(breakdowns.latency_section(df, np.ones(3, dtype=bool), [("m", np.ones(3, dtype=bool))]))
    assert "| label | TTFT (ms) | time per output token (s) |" not in text
    assert "| MixPE-W4A8 64x64 | 12 | 1.8 | 555.6 |" in text


def test_dram_sensitivity_reprices_dram_bits_per_technology():
    df = _synthetic_results()
    df["tokens"] = 1
    df["dram_bits"] = df["energy_dram_pj_per_token"] / 31.25  # all priced at 31.25 pJ/bit
    df.loc[1, "dram_bits"] = df.loc[1, "dram_bits"] * 0.25  # MixPE 32x32 moves a quarter of the bits
    df["accuracy_loss"] = [0.01, 0.03, 0.02]
    assert breakdowns.dram_pj_per_bit(df) == pytest.approx([31.25, 125.0, 31.25])
    other = (df["energy_per_token_pj"] - df["energy_dram_pj_per_token"]).to_numpy()
    assert breakdowns.repriced_energy(df, 0.0) == pytest.approx(other)
    techs = {"costly": 31.25, "free": 0.0}
    lines = breakdowns.dram_section(df, [("accuracy_loss", "energy_per_token_pj"), ("latency_ms", "area_mm2")],
                                    np.ones(3, dtype=bool), 0.05, [("m", np.ones(3, dtype=bool))],
                                    lambda d: ", ".join(sorted(d["label"])), techs)
    rows = [ln for ln in "\n".join(lines).splitlines() if ln.startswith("| energy")]
    assert len(rows) == 1  # only energy fronts move with the DRAM's energy per bit
    got = [c.strip() for c in rows[0].split("|")[3:5]]
    for cell, pj in zip(got, techs.values(), strict=True):  # brute-force dominance on the repriced energies
        e = other + df["dram_bits"].to_numpy() * pj
        loss = df["accuracy_loss"].to_numpy()
        front = [i for i in range(3) if not any(
            loss[j] <= loss[i] and e[j] <= e[i] and (loss[j], e[j]) != (loss[i], e[i]) for j in range(3))]
        assert cell == ", ".join(sorted(df["label"][front]))
    assert got[0] != got[1]  # the technology changes the front here
