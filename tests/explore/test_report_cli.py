import argparse
import json
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from accel.errors import AccelError, ConfigError
from cost_models.explore.cli import register
from cost_models.explore.pareto import feasible_mask, pareto_mask
from cost_models.explore.spec import load_sweep, preset_names

from .conftest import TOY_SWEEP

pytestmark = pytest.mark.unit
TOY = "tests.explore.toy:ToyEvaluator"


def _run(*argv):
    parser = argparse.ArgumentParser(prog="accel")
    register(parser.add_subparsers())
    args = parser.parse_args(["explore", *argv])
    return args.func(args)


def test_explore_writes_results_plots_and_report(tmp_path, capsys):
    out = tmp_path / "out"
    result = _run("--spec", str(TOY_SWEEP), "-o", str(out), "--evaluator", TOY, "-j", "1")
    printed = capsys.readouterr().out
    assert re.search(r"^toy: 20 points \(20 evaluated, 0 reused\), 5 accuracy configs \(5 evaluated, 0 reused\), "
                     r"backend inline$", printed, re.M)
    assert result["report"] == str(out / "report.md") and result["points_evaluated"] == 20
    report = (out / "report.md").read_text()
    for section in ("# Design-space exploration: toy", "## Setup", "## Pareto fronts", "## Where the cycles go",
                    "## Roofline per op", "## Claims from the papers, side by side"):
        assert section in report, section
    for name in ("front_energy_per_token_pj_vs_accuracy_loss", "front_area_mm2_vs_latency_ms", "stalls_all",
                 "roofline"):
        assert f"(plots/{name}.png)" in report
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(out / "plots" / f"{name}.svg").getroot().tag.endswith("svg")
    # the front table lists exactly the non-dominated feasible designs
    df = pd.read_parquet(out / "results.parquet")
    sweep = load_sweep(TOY_SWEEP)
    ok = feasible_mask(df, sweep.constraints)
    assert ok.sum() == (df["area_um2"] <= 60000).sum() < len(df)
    front = pareto_mask(df, ["accuracy_loss", "energy_per_token_pj"], where=ok)
    section = report.split("### energy_per_token_pj vs accuracy_loss")[1].split("Hypervolume")[0]
    table_rows = [ln for ln in section.splitlines() if ln.startswith("| toy")]
    assert len(table_rows) == front.sum() and len(set(table_rows)) == len(table_rows)
    assert f"Front over accuracy_loss, energy_per_token_pj: {front.sum()} of {ok.sum()} feasible designs;" in section
    claims = report.split("## Claims from the papers, side by side")[1]
    records = json.loads((out / "claims.json").read_text())  # the table's rows, machine-readable
    assert len([ln for ln in claims.splitlines() if ln.startswith("| ") and "---" not in ln]) == 1 + len(records)
    assert len(records) >= 10 and all(r["verdict"] for r in records)

    again = _run("--spec", str(TOY_SWEEP), "-o", str(out), "--evaluator", TOY, "--json", "--no-report")
    assert (again["points_reused"], again["points_evaluated"]) == (20, 0) and "report" not in again
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), df)


def test_failures_make_the_command_fail_after_writing_the_rest(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(TOY_SWEEP.read_text())
    with pytest.raises(AccelError, match=r"^4 evaluation\(s\) failed \(first: performance [0-9a-f]{16}: "
                                         r"ValueError: toy failure for 'toy:a=4,w=2'\)"):
        _run("--spec", str(spec), "-o", str(tmp_path / "o"), "--evaluator",
             "tests.explore.test_report_cli:FAILING", "-j", "1", "--json")
    assert len(pd.read_parquet(tmp_path / "o" / "results.parquet")) == 16
    assert (tmp_path / "o" / "report.md").exists()


def test_the_scheduler_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.1:8786")
    parser = argparse.ArgumentParser(prog="accel")
    register(parser.add_subparsers())
    assert parser.parse_args(["explore"]).scheduler == "tcp://10.0.0.1:8786"
    assert parser.parse_args(["explore", "--scheduler", "tcp://h:1"]).scheduler == "tcp://h:1"
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    parser = argparse.ArgumentParser(prog="accel")
    register(parser.add_subparsers())
    assert parser.parse_args(["explore"]).scheduler is None


def test_presets_and_bad_arguments(tmp_path, capsys):
    assert _run("--list-presets", "--json") == {"presets": preset_names()}
    with pytest.raises(ConfigError, match=r"^--evaluator must be written MODULE:NAME, got 'nope'$"):
        _run("--evaluator", "nope")
    with pytest.raises(ConfigError, match=r"^cannot load evaluator 'tests.explore.toy:Nope'"):
        _run("--evaluator", "tests.explore.toy:Nope")
    with pytest.raises(ConfigError, match=r"^unknown preset 'nope'; valid presets: "):
        _run("--preset", "nope", "--evaluator", TOY)
    with pytest.raises(ConfigError, match=r"^--jobs must be an integer >= 1, got 0$"):
        _run("--spec", str(TOY_SWEEP), "--evaluator", TOY, "-j", "0")


def _failing():
    from .toy import ToyEvaluator

    return ToyEvaluator(fail_pe="toy:a=4,w=2")


FAILING = _failing()


def test_the_accel_entry_point_runs_explore_with_json(tmp_path, capsys):
    import json

    from accel.cli import main

    code = main(["explore", "--spec", str(TOY_SWEEP), "-o", str(tmp_path), "--evaluator", TOY, "-j", "1",
                 "--no-report", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["points"] == 20 and out["results"] == str(tmp_path / "results.parquet")
    assert main(["explore", "--preset", "nope", "--evaluator", TOY]) == 2
    assert re.match(r"^accel: error: unknown preset 'nope'; valid presets: ", capsys.readouterr().err)
