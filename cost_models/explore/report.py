"""The Markdown report of a sweep: setup, fronts (plots embedded), front tables, hypervolume, claims."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from accel import __version__
from cost_models.explore import plots
from cost_models.explore.claims import claims_table
from cost_models.explore.pareto import feasible_mask, front_per_model, hypervolume_by_family
from cost_models.explore.spec import SweepSpec
from cost_models.explore.store import git_commit

log = logging.getLogger(__name__)
MAX_STALL_BARS = 40
ROOFLINE_DESIGNS = 4
TABLE_COLUMNS = ("label", "accuracy_loss", "energy_per_token_pj", "latency_ms", "area_mm2", "fpga_luts",
                 "utilization")


def _fmt(v) -> str:
    if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return "-"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def md_table(rows: list[dict], columns) -> str:
    """A Markdown table (``|`` in cells escaped)."""
    cols = list(columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines)


_LABEL_PARTS = (("dataflow", "{}"), ("freq_mhz", "{:g}MHz"), ("dram_bandwidth_bytes_per_cycle", "{:g}B/c"),
                ("weight_buffer_kib", "W{}K"), ("input_buffer_kib", "I{}K"), ("output_buffer_kib", "O{}K"),
                ("dequant_placement", "{}"), ("dequant_count", "x{}"), ("kv_cache_format", "kv={}"))


def unique_labels(df: pd.DataFrame) -> pd.Series:
    """``pe @ RxC`` plus every other design axis that varies in ``df`` (so labels tell designs apart)."""
    labels = df["pe"] + " @ " + df["array_rows"].astype(str) + "x" + df["array_cols"].astype(str)
    for col, fmt in _LABEL_PARTS:
        if col in df and df[col].astype(str).nunique() > 1:
            labels = labels + " " + df[col].map(lambda v, f=fmt: "-" if pd.isna(v) else f.format(v))
    return labels


def _model_groups(df: pd.DataFrame):
    """(model, row mask) per workload model; a single ("", all rows) group when there is one model."""
    models = df["workload_model"].unique() if "workload_model" in df else []
    if len(models) <= 1:
        return [("", np.ones(len(df), dtype=bool))]
    return [(m, (df["workload_model"] == m).to_numpy()) for m in models]


def _cost_metric(df: pd.DataFrame) -> str:
    """Hardware-cost axis of the accuracy front used for the integer-vs-minifloat claim."""
    luts = df["fpga_luts"].to_numpy(dtype=float)
    return "fpga_luts" if np.isfinite(luts).all() and (luts > 0).all() else "area_um2"


def claim_rows(results: pd.DataFrame, feasible: np.ndarray):
    """The claims table of a results table; the accuracy-vs-hardware-cost front is taken per model."""
    cost = _cost_metric(results)
    acc_front = front_per_model(results, ("accuracy_loss", cost), where=feasible)
    return claims_table(results, acc_front, f"accuracy_loss vs {cost}")


def write_report(spec: SweepSpec, results: pd.DataFrame, ops: pd.DataFrame, out_dir: str | Path, *,
                 backend: str = "", failures=()) -> Path:
    """Write ``report.md`` and its plots under ``out_dir/plots``; return the report path."""
    out_dir = Path(out_dir)
    plot_dir = out_dir / "plots"
    results = results.assign(label=unique_labels(results))
    feasible = feasible_mask(results, spec.constraints)
    w = spec.workload
    models = ", ".join(f"`{x.model}`" for x in spec.workloads)
    lines = [f"# Design-space exploration: {spec.name}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    axes = {c: sorted(results[c].dropna().astype(str).unique()) for c in
            ("pe", "array_rows", "array_cols", "dataflow", "dram_bandwidth_bytes_per_cycle", "weight_buffer_kib",
             "dequant_placement", "kv_cache_format") if c in results}
    lines += ["## Setup", "",
              f"- Workload: {models}, batch {w.batch}, phases {', '.join(w.phases)}, "
              f"{w.prefill_tokens} prefill tokens, "
              f"{w.decode_tokens} decode tokens; accuracy over {w.accuracy_windows} window(s) of "
              f"{w.accuracy_tokens} tokens against the float64 reference forward.",
              f"- Sweep `{spec.source}`: {len(spec.points)} design points, {len(spec.arith_configs())} arithmetic "
              f"configurations (accuracy evaluated once each), {len(results)} finished, {int(feasible.sum())} "
              "meeting the constraints"
              + (" (" + ", ".join(f"{k} = {v:g}" for k, v in spec.constraints) + ")." if spec.constraints else "."),
              "- Axes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in axes.items() if v) + ".",
              f"- accel {__version__}, git commit `{git_commit()}`, backend {backend or 'n/a'}, "
              f"{platform.python_implementation()} {platform.python_version()} on {os.cpu_count()} CPU(s).",
              "- Cost provenance: " + "; ".join(dict.fromkeys(
                  part for src in results["cost_source"].dropna().unique() for part in src.split("; "))) + ".", ""]
    if failures:
        lines += [f"**{len(failures)} evaluation(s) failed** and are missing from the fronts:", ""]
        lines += [f"- {kind} `{key}`: {err}" for kind, key, err in failures[:20]]
        lines.append("")

    acc_cols = ["pe", "kv_cache_format", "kv_sort_k_channels", "attention", "accuracy_metric", "accuracy_value",
                "accuracy_reference", "accuracy_loss"]
    acc = results.drop_duplicates("arith_hash")[acc_cols].sort_values("accuracy_loss")
    acc = acc.drop(columns=[c for c in acc_cols[1:4] if acc[c].astype(str).nunique() <= 1])
    if (acc["accuracy_metric"] != "none").any():
        lines += ["## Accuracy per arithmetic configuration", "",
                  "Evaluated once per PE (and KV-cache format), shared by every array configuration; loss is the "
                  "relative increase over the float64 reference (perplexity) or the relative drop (cosine).", "",
                  md_table(acc.to_dict("records"), acc.columns), ""]

    front_union = np.zeros(len(results), dtype=bool)
    first_front = None
    lines += ["## Pareto fronts", ""]
    for metrics in spec.fronts:
        name = " vs ".join(reversed(metrics[:2]))
        mask = front_per_model(results, metrics, where=feasible)
        front_union |= mask
        first_front = mask if first_front is None else first_front
        lines += [f"### {name}", ""]
        for model, sel in _model_groups(results):
            suffix = f" on {model}" if model else ""
            base = plot_dir / ("front_" + "_vs_".join(reversed(metrics[:2])) + (f"_{model}" if model else ""))
            sub, m, ok = results[sel], mask[sel], feasible[sel]
            plots.plot_front(sub, metrics[0], metrics[1], m, base, feasible=ok,
                             title=f"{name}{suffix} (front over {', '.join(metrics)})")
            lines += [f"![{name}{suffix}](plots/{base.name}.png)", "",
                      f"Front over {', '.join(metrics)}{suffix}: {int(m.sum())} of {int(ok.sum())} feasible designs.",
                      ""]
            cols = list(dict.fromkeys([*TABLE_COLUMNS[:1], *metrics, *TABLE_COLUMNS[1:]]))
            lines += [md_table(sub[m].sort_values(metrics[0]).to_dict("records"), cols), ""]
            hv = hypervolume_by_family(results, metrics, where=feasible & sel)
            lines += [f"Hypervolume per design family{suffix} (objectives normalised to [0, 1] over the feasible "
                      "designs, reference point 1.1 each; larger is better):", "",
                      md_table(hv.to_dict("records"), hv.columns), ""]

    lines += ["## Where the cycles go", ""]
    chosen = results if len(results) <= MAX_STALL_BARS else results[front_union]
    plots.plot_stalls(chosen, plot_dir / "stalls")
    lines += ["![cycle breakdown](plots/stalls.png)", "",
              f"Cycle breakdown of {'every design' if len(results) <= MAX_STALL_BARS else 'the front designs'}.", ""]
    if len(ops) and first_front is not None and first_front.any():
        picks = results[first_front].drop_duplicates("family").head(ROOFLINE_DESIGNS)["point_hash"].tolist()
        plots.plot_roofline(results, ops, picks, plot_dir / "roofline")
        lines += ["## Roofline per op", "", "![roofline](plots/roofline.png)", "",
                  "Each op of the workload on front designs (one per family): achieved MACs per cycle against "
                  "MACs per DRAM byte, under the compute roof and the DRAM-bandwidth roof.", ""]

    claims = claim_rows(results, feasible)
    lines += ["## Claims from the papers, side by side", "",
              "Each row: the paper's claim, our measured number on this sweep, and whether it holds here.", "",
              md_table([c.__dict__ for c in claims], ("claim", "source", "ours", "verdict", "reason")), "",
              "Files: `results.parquet` (one row per design), `ops.parquet` (per-op figures), `plots/` "
              "(PNG and SVG).", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    log.info("report written to %s", path)
    return path
