"""The minifloat-vs-integer study: its preset, and the claim row computed per model from a sweep's results."""

import argparse

import numpy as np
import pandas as pd
import pytest

from accel import formats
from cost_models.explore.cli import register
from cost_models.explore.pareto import feasible_mask
from cost_models.explore.report import claim_rows
from cost_models.explore.spec import load_sweep, preset_path

from .toy import toy_params

pytestmark = pytest.mark.unit
TOY = "tests.explore.toy:ToyEvaluator"
CLAIM = "over 3-8 bits, integer quantization often remains Pareto-optimal (accuracy vs hardware cost)"


def _pe_params(pe: str) -> dict[str, str]:
    return dict(kv.split("=") for kv in pe.partition(":")[2].split(",") if kv)


def test_preset_sweeps_int_and_exmy_formats_of_every_width_on_both_models():
    sweep = load_sweep(preset_path("minifloat-int"))
    assert {w.model for w in sweep.workloads} == {"minilm-l6", "smollm2-135m"}
    assert all(w.phases == ("prefill",) for w in sweep.workloads)
    assert sweep.fronts == (("accuracy_loss", "fpga_luts"),)
    pairs = set()
    for p in sweep.points:
        assert p.pe.startswith("minifloat_mac:")
        params = _pe_params(p.pe)
        pairs.add((params["weight_format"], params["act_format"]))
    kinds_by_bits = {}
    for name in {f for pair in pairs for f in pair}:
        fmt = formats.get(name)  # the registry says what the name is
        kind = "int" if name.startswith("int") else "float"
        assert 3 <= fmt.bits <= 8, name
        assert kind == "int" or (fmt.ebits >= 1 and name.startswith("e")), name
        kinds_by_bits.setdefault(fmt.bits, set()).add(kind)
    assert kinds_by_bits == {b: {"int", "float"} for b in range(3, 9)}
    assert any(w != a for w, a in pairs) and any(w == a for w, a in pairs)
    # one point per arithmetic configuration per model: accuracy dominates the cost
    assert len(sweep.points) == len(sweep.arith_configs()) == 2 * len(pairs)


def _dominated(vals: np.ndarray) -> np.ndarray:
    """Brute-force: row i is dominated when another row is <= in both and < in one (minimisation)."""
    le = (vals[None, :, :] <= vals[:, None, :]).all(axis=2)
    lt = (vals[None, :, :] < vals[:, None, :]).any(axis=2)
    return (le & lt).any(axis=1)


def test_claim_row_counts_integer_and_minifloat_front_designs_per_model(tmp_path):
    spec = tmp_path / "mf.yaml"
    spec.write_text("name: mf\nworkload: {model: [toy, toy-mf], phases: [prefill], prefill_tokens: 8, "
                    "decode_tokens: 0}\n"
                    "axes:\n  pe:\n    - {name: toy, w: [4, 8], a: 8, wf: [int, e2m1], af: [int, e4m3]}\n"
                    "  array: 8x8\nfronts: [[accuracy_loss, fpga_luts]]\n")
    parser = argparse.ArgumentParser(prog="accel")
    register(parser.add_subparsers())
    out = tmp_path / "out"
    args = parser.parse_args(["explore", "--spec", str(spec), "-o", str(out), "--evaluator", TOY, "-j", "1",
                              "--no-progress", "--no-report"])  # plots are covered by test_report_cli
    args.func(args)
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 16
    expected = []
    for model in ("toy", "toy-mf"):
        sub = df[df["workload_model"] == model]
        on = ~_dominated(sub[["accuracy_loss", "fpga_luts"]].to_numpy(dtype=float))
        kinds = [{toy_params(pe)["wf"], toy_params(pe)["af"]} for pe in sub["pe"]]
        n_int = sum(k == {"int"} for k, f in zip(kinds, on, strict=True) if f)
        n_mf = sum(k != {"int"} for k, f in zip(kinds, on, strict=True) if f)
        expected.append(f"{model}: {n_int} integer, {n_mf} minifloat of {int(on.sum())} designs")
    row = next(c for c in claim_rows(df, feasible_mask(df, ())) if c.claim == CLAIM)
    assert row.ours == "front: " + "; ".join(expected)
    # toy penalises float operands, toy-mf integer ones: integer is on one model's front only
    assert expected[0].startswith("toy: ") and not expected[0].startswith("toy: 0 integer")
    assert expected[1].startswith("toy-mf: 0 integer")
    assert row.verdict == "holds" and row.setting.startswith(
        "front over accuracy_loss vs fpga_luts per model; 'often' = an integer design on the front of at least half "
        "the models (here 1 of 2)")
    assert "toy-mf: e2m1/e4m3" in row.setting  # the front designs are named, per model
