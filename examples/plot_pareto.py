"""Plot a Pareto front: latency vs area of a small sweep of PEs and array sizes (performance only).

Run:  .venv/bin/python examples/plot_pareto.py [OUT_DIR]
With a finished `accel explore` run, plot its results instead:
      .venv/bin/python examples/plot_pareto.py results/default --from-results
"""

import argparse
from pathlib import Path

import pandas as pd

from cost_models.explore.chain import ChainEvaluator
from cost_models.explore.pareto import pareto_mask
from cost_models.explore.plots import plot_front
from cost_models.explore.runner import run_points
from cost_models.explore.spec import accel_canonical_pe, sweep_from_dict

SWEEP = {
    "name": "example",
    "workload": {"model": "smollm2-135m", "phases": ["prefill", "decode"], "prefill_tokens": 32, "decode_tokens": 1},
    "axes": {"pe": ["int8_mac", {"name": "mixpe_w4a8", "weight_format": "q4_1"},
                    {"name": "fp16_dequant_first", "weight_format": "q4_1"}],
             "array": ["8x8", "32x32"]},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default="results/example")
    ap.add_argument("--from-results", action="store_true", help="plot OUT_DIR/results.parquet of an earlier run")
    args = ap.parse_args()
    out = Path(args.out_dir)
    if args.from_results:
        df = pd.read_parquet(out / "results.parquet")
        df = df[df["workload_model"] == df["workload_model"].iloc[0]]  # one model's designs (a study may hold several)
    else:
        sweep = sweep_from_dict(SWEEP, canonical_pe=accel_canonical_pe)
        df = run_points(sweep.points, ChainEvaluator(skip_accuracy=True), out, jobs=2).results
    front = pareto_mask(df, ["latency_ms", "area_mm2"])
    paths = plot_front(df, "latency_ms", "area_mm2", front, out / "latency_vs_area")
    print(df.loc[front, ["label", "latency_ms", "area_mm2", "energy_per_token_pj"]].to_string(index=False))
    print("wrote " + ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
