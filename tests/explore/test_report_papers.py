"""The report of a sweep shaped like the default study: every claim measured, every added section filled."""

import re

import pandas as pd
import pytest

from cost_models.explore.cli import run_study
from cost_models.explore.spec import load_sweep

from .conftest import HERE
from .toy import ToyEvaluator

pytestmark = pytest.mark.unit
SWEEP = HERE / "toy_papers.yaml"


def _table(report: str, heading: str) -> list[list[str]]:
    """Body rows of the first Markdown table after ``heading``, split into cells."""
    section = report.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ")][1:]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in rows]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("papers")
    sweep = load_sweep(SWEEP)
    run_study(sweep, ToyEvaluator(), out, jobs=1, progress=False)
    return sweep, (out / "report.md").read_text(), pd.read_parquet(out / "results.parquet")


def test_grids_add_their_points_and_workloads(study):
    sweep, _, df = study
    assert [w.model for w in sweep.workloads] == ["toy", "toy-shapes"]
    assert sweep.workloads[1].batch == 4 and sweep.workloads[1].accuracy_windows == 3  # the rest inherited
    # 5 PEs x 2 arrays, + 2 x 2 with attention through the PE, + 4 KV variants, + 3 x 2 shape-only points
    assert len(df) == len(sweep.points) == 10 + 4 + 4 + 6


def test_setup_and_accuracy_table_show_the_protocol_and_paired_intervals(study):
    _, report, df = study
    assert re.search(r"^- Workload `toy`: batch 1, .*accuracy over 3 consecutive window\(s\) of 8 tokens \(24 tokens "
                     r"of text; llama.cpp's perplexity protocol", report, re.M)
    assert re.search(r"^- Workload `toy-shapes`: batch 4, .*published shapes only \(no weights\)", report, re.M)
    rows = _table(report, "## Accuracy per arithmetic configuration")
    assert len(rows) == df.loc[df["accuracy_metric"] != "none", "arith_hash"].nunique() == 5 + 2 + 4
    head = report.split("## Accuracy per arithmetic configuration", 1)[1].split("\n| ", 1)[1].split(" |\n", 1)[0]
    assert head.split(" | ")[-5:] == ["loss", "KLD", "top-1 agreement", "delta NLL", "window"]
    assert all(r[-1] == "3 x 8 tokens, half scored (9)" for r in rows)
    half = 2 * 0.01 / 3 ** 0.5  # the toy's interval: loss +- 2 standard errors
    for r, (_, d) in zip(rows, df[df["accuracy_metric"] != "none"].drop_duplicates("arith_hash")
                         .sort_values(["workload_model", "accuracy_loss"]).iterrows(), strict=True):
        assert r[-5] == f"{d['accuracy_loss']:.4g} [{d['accuracy_loss'] - half:.4g}, {d['accuracy_loss'] + half:.4g}]"
    assert len(df["accuracy_per_window"].iloc[0]) == 3  # per-window values stored with the results
    assert re.search(r"^  - `\S+`: PE, toy weights: 7 tensors$", report, re.M)


def test_kv_cache_section_lists_every_format_with_its_storage(study):
    from accel import formats

    _, report, _ = study
    rows = _table(report, "## KV cache formats")
    got = {(r[1], r[2]): r for r in rows}
    assert set(got) == {("unquantized (float64)", "no"), ("bfp12_b32", "no"), ("bfp12_b32", "yes"),
                        ("bfp16_b32", "no"), ("bfp16_b32", "yes")}
    bits = formats.get("bfp12_b32").bits_per_element
    assert got[("bfp12_b32", "yes")][3] == f"{bits:.4g}" and got[("bfp12_b32", "yes")][4] == f"{16 / bits:.4g}"


def test_lmul_section_has_both_attention_modes(study):
    _, report, _ = study
    rows = _table(report, "## L-Mul next to the exact multiply")
    assert sorted((r[1], r[2]) for r in rows) == [("no (exact)", "every product incl. attention"),
                                                  ("no (exact)", "weight products only"),
                                                  ("yes", "every product incl. attention"),
                                                  ("yes", "weight products only")]


def test_every_claim_the_sweep_covers_is_measured(study):
    _, report, _ = study
    claims = {r[0]: r for r in _table(report, "## Claims from the papers, side by side")}
    verdict = {name: r[4] for name, r in claims.items()}
    measured = [name for name, v in verdict.items() if v != "not measured"]
    assert {"BFP KV cache: 2x memory saving", "BFP KV cache with K-channel sorting: no significant accuracy loss",
            "L-Mul's 80% per dot product, as a whole-design energy saving",
            "L-Mul is near lossless (L-Mul in weight products only)",
            "L-Mul is near lossless (L-Mul in every product incl. attention)",
            "L-Mul saves 95% energy per multiply (fp32)", "L-Mul saves 80% energy per dot product (fp32)",
            "over 3-8 bits, integer quantization often remains Pareto-optimal (accuracy vs hardware cost)"
            } <= set(measured)
    # the toy's L-Mul through attention adds 0.2 relative perplexity on every window (the exact PE 0.02): the
    # paired NLL difference lies far beyond the 0.01-nat tolerance
    assert verdict["L-Mul is near lossless (L-Mul in every product incl. attention)"] == "does not hold"
    # MixPE like for like is a cost study the spec must list (the default preset does)
    mixpe = [r for name, r in claims.items() if name.startswith("MixPE")]
    assert len(mixpe) == 1 and mixpe[0][4] == "not measured" and "studies: [mixpe]" in mixpe[0][5]
    # fronts over accuracy are drawn only for the model that has accuracy
    assert "on toy-shapes](plots/front_energy_per_token_pj_vs_accuracy_loss" not in report
    assert "(plots/front_area_mm2_vs_latency_ms_toy-shapes.png)" in report
