"""The Markdown report of a sweep: setup, legend, accuracy, fronts (plots embedded) with their tables and
hypervolume, breakdowns of the front designs, claims; and its self-contained HTML twin."""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from accel import __version__
from cost_models.explore import atomic, breakdowns, fpga, plots
from cost_models.explore.claims import ATTENTION_LABELS, claims_lines, claims_table
from cost_models.explore.display import axis_label, legend, quantity, short_labels, si_scale
from cost_models.explore.pareto import (
    RESOLUTION_RULE,
    accuracy_mask,
    feasible_mask,
    fitting,
    front_per_model,
    hypervolume_by_family,
    pareto_mask,
    ties,
)
from cost_models.explore.provenance import provenance_line
from cost_models.explore.spec import SweepSpec
from cost_models.explore.store import ResultsStore, git_commit
from cost_models.explore.tables import fmt, md_table

log = logging.getLogger(__name__)
MAX_STALL_BARS = 40
ROOFLINE_DESIGNS = 4
TABLE_COLUMNS = ("label", "accuracy_loss", "energy_per_token_pj", "latency_ms", "area_mm2", "fpga_luts",
                 "utilization")
#: A report stage's progress callback: called with the name of the part being written.
Step = Callable[[str], None]


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


def claim_rows(results: pd.DataFrame, feasible: np.ndarray, studies=()):
    """The claims table of a results table; the accuracy-vs-hardware-cost front is taken per model."""
    cost = _cost_metric(results)
    acc_front = front_per_model(results, ("accuracy_loss", cost), where=feasible)
    return claims_table(results, acc_front, f"accuracy_loss vs {cost}", studies)


def pm(value: float, stderr: float) -> str:
    """``value ± stderr`` (4 significant digits; no ``±`` when the error is unknown)."""
    return fmt(value) if not np.isfinite(stderr) else f"{fmt(value)} ± {stderr:.2g}"


def ci(value: float, low: float, high: float, stderr: float = float("nan")) -> str:
    """``value [low, high]`` (the 95% interval), or ``value ± stderr`` when there is no interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return pm(value, stderr)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def _cell(r, name: str) -> str:
    return ci(r[f"accuracy_{name}"], r.get(f"accuracy_{name}_low", np.nan), r.get(f"accuracy_{name}_high", np.nan),
              r[f"accuracy_{name}_stderr"])


def _has_accuracy(results: pd.DataFrame) -> pd.Series:
    return results["accuracy_metric"] != "none"


def workload_lines(spec: SweepSpec, results: pd.DataFrame) -> list[str]:
    """One setup bullet per workload of the sweep (grids may run different models, batches, lengths)."""
    out = []
    with_acc = set(results.loc[_has_accuracy(results), "workload_model"]) if "workload_model" in results else set()
    for w in spec.workloads:
        text = (f"- Workload `{w.model}`: batch {w.batch}, phases {', '.join(w.phases)}, {w.prefill_tokens} prefill "
                f"tokens, {w.decode_tokens} decode tokens; ")
        if w.model in with_acc:
            text += (f"accuracy over {w.accuracy_windows} consecutive window(s) of {w.accuracy_tokens} tokens "
                     f"({w.accuracy_windows * w.accuracy_tokens} tokens of text; llama.cpp's perplexity protocol, "
                     "no BOS, each window from an empty KV cache, its second half scored), paired with the float64 "
                     "reference forward on the same tokens.")
        else:
            text += "published shapes only (no weights): performance, energy and area, no accuracy."
        out.append(text)
    return out


def accuracy_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per arithmetic configuration with accuracy: value, loss and the paired metrics, each with its
    95% interval, and the evaluation protocol."""
    cols = ["workload_model", "pe", "kv_cache_format", "kv_sort_k_channels", "attention"]
    acc = results[_has_accuracy(results)].drop_duplicates("arith_hash").sort_values(["workload_model", "accuracy_loss"])
    if not len(acc):
        return pd.DataFrame()
    table = acc[cols].copy()
    table = table.drop(columns=[c for c in cols if c != "pe" and table[c].astype(str).nunique() <= 1])

    def col(name: str, stderr: str | None = None) -> list[str]:
        return [ci(r[f"accuracy_{name}"], r.get(f"accuracy_{name}_low", np.nan), r.get(f"accuracy_{name}_high", np.nan),
                   r[stderr] if stderr else np.nan) for _, r in acc.iterrows()]

    table["metric"] = acc["accuracy_metric"]
    table["value"] = col("value", "accuracy_value_stderr")
    table["reference"] = acc["accuracy_reference"]
    table["loss"] = col("loss", "accuracy_loss_stderr")
    if "accuracy_kld" in acc and np.isfinite(acc["accuracy_kld"].to_numpy(dtype=float)).any():
        table["KLD"] = col("kld")
        table["top-1 agreement"] = col("top1")
        table["delta NLL"] = col("delta_nll")
    table["window"] = [_protocol(r) for _, r in acc.iterrows()]
    return table.rename(columns={"workload_model": "model"})


def _protocol(r) -> str:
    if r["accuracy_metric"] == "cosine":
        return f"{r['accuracy_windows']} sentences"
    text = f"{r['accuracy_windows']} x {r['accuracy_tokens']} tokens"
    score = r.get("accuracy_score", "")
    return text + (f", {score} scored ({r['accuracy_tokens_scored']})" if isinstance(score, str) and score else "")


def routes_lines(results: pd.DataFrame) -> list[str]:
    """Setup bullets: which arithmetic each group of weight tensors went through, per PE."""
    if "accuracy_routes" not in results:
        return []
    acc = results[_has_accuracy(results)].drop_duplicates("pe")
    rows = [f"  - `{r['pe']}`: {r['accuracy_routes']}" for _, r in acc.sort_values("pe").iterrows()
            if isinstance(r["accuracy_routes"], str) and r["accuracy_routes"]]
    if not rows:
        return []
    return ["- Weight tensors and the arithmetic their products went through (attention products per the "
            "`attention` column: float64 reference or the PE):", *rows]


def kv_cache_section(results: pd.DataFrame) -> list[str]:
    """KV-cache formats side by side (same PE and window): storage per element, accuracy ± error."""
    if "kv_cache_format" not in results or not results["kv_cache_format"].notna().any():
        return []
    quantized_pes = set(results.loc[results["kv_cache_format"].notna(), "pe"])
    acc = results[results["pe"].isin(quantized_pes) & _has_accuracy(results)].drop_duplicates("arith_hash")
    rows = []
    for _, r in acc.sort_values(["pe", "kv_cache_format", "kv_sort_k_channels"], na_position="first").iterrows():
        fmt = r["kv_cache_format"]
        bits = kv_bits_per_element(fmt)
        rows.append({"pe": r["pe"], "kv cache": fmt if isinstance(fmt, str) else "unquantized (float64)",
                     "K channels sorted": "yes" if r["kv_sort_k_channels"] else "no",
                     "bits/element": bits, "memory vs 16-bit": 16 / bits if bits else float("nan"),
                     "perplexity": _cell(r, "value"),
                     "loss": _cell(r, "loss")})
    return ["## KV cache formats", "",
            "Keys and values stored in the cache format (block along the head dimension), with and without "
            "compile-time K-channel sorting; memory is the cache's storage per element (shared exponents "
            "included) against a 16-bit cache.  The simulator does not model KV traffic, so only accuracy and "
            "storage change here.", "",
            md_table(rows, ("pe", "kv cache", "K channels sorted", "bits/element", "memory vs 16-bit", "perplexity",
                            "loss")), ""]


def kv_bits_per_element(name) -> float:
    """Storage bits per element of a KV-cache format (accel.formats); NaN for an unquantized cache."""
    if not isinstance(name, str):
        return float("nan")
    from accel import formats

    return float(formats.get(name).bits_per_element)


def lmul_section(results: pd.DataFrame) -> list[str]:
    """L-Mul next to the exact PE of the same operand formats, per attention mode, on one array size."""
    lm = results["family"] == "lmul"
    if not lm.any():
        return []
    pairs = results[["weight_scheme", "act_scheme"]].apply(tuple, axis=1)
    peers = pairs.isin(set(pairs[lm])) & _has_accuracy(results)
    sub = results[peers]
    size = sub.groupby(["array_rows", "array_cols"]).size().idxmax()
    sub = sub[(sub["array_rows"] == size[0]) & (sub["array_cols"] == size[1])]
    rows = []
    for _, r in sub.sort_values(["attention", "family", "pe"]).iterrows():
        rows.append({"pe": r["pe"], "L-Mul": "yes" if r["family"] == "lmul" else "no (exact)",
                     "products through the PE": ATTENTION_LABELS.get(r["attention"], r["attention"]),
                     "perplexity": _cell(r, "value"),
                     "loss": _cell(r, "loss"),
                     "energy_per_token_pj": r["energy_per_token_pj"]})
    return ["## L-Mul next to the exact multiply", "",
            f"Same operand formats, {size[0]}x{size[1]} array.  Accuracy with the L-Mul (or exact) PE in the weight "
            "products only (attention in float64) and in every product including attention.  Energy is the "
            "whole design's with every product of the trace, attention included, on the PE: it is the same in "
            "both modes.", "",
            md_table(rows, ("pe", "L-Mul", "products through the PE", "perplexity", "loss", "energy_per_token_pj")),
            ""]


def cpu_line(cpu: dict[str, float]) -> str:
    """Setup bullet: CPU time of the evaluations (load-independent, unlike wall time on a shared machine)."""
    total = cpu["accuracy"] + cpu["performance"]
    return (f"- Evaluation CPU time (summed over worker processes, as recorded when each item was computed): "
            f"{total:.0f} s, of which accuracy {cpu['accuracy']:.0f} s and performance {cpu['performance']:.0f} s.")


def front_rows(sub: pd.DataFrame, metrics, partners: list[list[str]]) -> tuple[list[dict], list[str]]:
    """A front's table: label, every objective then the other metrics in SI-prefixed units, accuracy loss with
    its 95% interval, and the designs each front point ties with (within the resolution)."""
    cols = list(dict.fromkeys([*metrics, *TABLE_COLUMNS[1:]]))
    heads = {c: ("accuracy loss [95% CI]" if c == "accuracy_loss" else axis_label(c, sub[c]), si_scale(c, sub[c])[0])
             for c in cols}
    rows = []
    for (_, r), tied in zip(sub.iterrows(), partners, strict=True):
        row = {"label": r["label"]}
        for c in cols:
            head, factor = heads[c]
            row[head] = (ci(r[c], r.get("accuracy_loss_low", np.nan), r.get("accuracy_loss_high", np.nan))
                         if c == "accuracy_loss" else r[c] * factor)
        row["ties with"] = ", ".join(tied) or "-"
        rows.append(row)
    return rows, ["label", *(h for h, _ in heads.values()), "ties with"]


def per_array_lines(sub: pd.DataFrame, metrics, ok: np.ndarray) -> list[str]:
    """Accuracy fronts again within each array size: accuracy does not depend on the array, so over all sizes
    the smallest array of each arithmetic wins every size-driven cost; at one size the arithmetics compete."""
    if "accuracy_loss" not in metrics:
        return []
    sizes = sub["array_rows"].astype(str) + "x" + sub["array_cols"].astype(str)
    if sizes.nunique() < 2:
        return []
    rows = []
    for size in sorted(sizes.unique(), key=lambda v: tuple(map(int, v.split("x")))):
        at = ok & (sizes == size).to_numpy()
        front = pareto_mask(sub, metrics, where=at)
        rows.append({"array": size, "feasible designs": int(at.sum()), "front": _labels_of(sub[front]) or "-"})
    return ["The same front within each array size (accuracy does not depend on the array, so across sizes the "
            "smallest array of an arithmetic wins every cost that grows with the array):", "",
            md_table(rows, ("array", "feasible designs", "front")), ""]


def _labels_of(df: pd.DataFrame) -> str:
    return ", ".join(sorted(df["label"]))


def _no_step(_: str) -> None:
    pass


def write_report(spec: SweepSpec, results: pd.DataFrame, ops: pd.DataFrame, out_dir: str | Path, *,
                 backend: str = "", failures=(), step: Step = _no_step) -> Path:
    """Write ``report.md`` and its plots under ``out_dir/plots``, then ``report.html``; return the report path.

    ``step`` is called with each part's name as it is written (the report stage's progress).
    """
    from cost_models.explore.html import write_html

    out_dir = Path(out_dir)
    plot_dir = out_dir / "plots"
    results = results.reset_index(drop=True)
    results = results.assign(label=short_labels(results))
    feasible = feasible_mask(results, spec.constraints)
    acc_ok = accuracy_mask(results, spec.front_accuracy_limit)
    groups = _model_groups(results)
    step("setup")
    lines = [f"# Design-space exploration: {spec.name}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    axes = {c: sorted(results[c].dropna().astype(str).unique()) for c in
            ("pe", "array_rows", "array_cols", "dataflow", "dram_bandwidth_bytes_per_cycle", "weight_buffer_kib",
             "dequant_placement", "kv_cache_format") if c in results}
    limit = spec.front_accuracy_limit
    lines += ["## Setup", "", *workload_lines(spec, results), *routes_lines(results),
              f"- Sweep `{spec.source}`: {len(spec.points)} design points, {len(spec.arith_configs())} arithmetic "
              f"configurations (accuracy evaluated once each), {len(results)} finished, {int(feasible.sum())} "
              "meeting the constraints"
              + (" (" + ", ".join(f"{k} = {v:g}" for k, v in spec.constraints) + ")." if spec.constraints else "."),
              ("- Fronts without an accuracy objective (performance, area) admit only designs whose accuracy loss "
               f"is at most {limit:g} (relative perplexity increase, point estimate; `front_accuracy_limit` in the "
               f"sweep): {int((feasible & ~acc_ok).sum())} feasible design(s) are left out of them by it; designs "
               "of shape-only models (no accuracy measured) are not constrained." if limit is not None else
               "- Fronts without an accuracy objective admit every feasible design, whatever its accuracy "
               "(`front_accuracy_limit: null` in the sweep)."),
              f"- Ties: {RESOLUTION_RULE}; a front point with a design it does not resolvably beat on every "
              "objective is marked as tied with it (`ties with`) and drawn as a dotted circle.",
              "- Axes: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in axes.items() if v) + ".",
              f"- accel {__version__}, git commit `{git_commit()}`, backend {backend or 'n/a'}, "
              f"{platform.python_implementation()} {platform.python_version()} on {os.cpu_count()} CPU(s).",
              cpu_line(ResultsStore(out_dir).cpu_seconds(spec.points)),
              "- Cost provenance: " + provenance_line(results["cost_source"].dropna().unique()) + ".", ""]
    if failures:
        lines += [f"**{len(failures)} evaluation(s) failed** and are missing from the fronts:", ""]
        lines += [f"- {kind} `{key}`: {err}" for kind, key, err in failures[:20]]
        lines.append("")
    leg = legend(results)
    lines += ["## Design labels", "", "Short labels used in plots and tables, and the full design each stands for "
              "(unique within a model; a letter tells apart designs of one family and array size).", "",
              md_table(leg.to_dict("records"), leg.columns), ""]

    acc = accuracy_table(results)
    if len(acc):
        lines += ["## Accuracy per arithmetic configuration", "",
                  "Evaluated once per PE (and KV-cache format, attention mode), shared by every array configuration; "
                  "loss is the relative increase over the float64 reference (perplexity) or the relative drop "
                  "(cosine).  KLD is the mean KL(p_ref || p_design) per scored token over the full vocabulary, "
                  "top-1 agreement the share of scored positions whose most likely token equals the reference's, "
                  "delta NLL the mean per-token NLL difference (design minus reference).  Brackets: 95% "
                  "intervals from an expanded-percentile bootstrap over windows (tokens within a window are "
                  "correlated; windows are resampled whole), paired with the reference on the same tokens; a "
                  "difference whose interval includes 0 is not resolved by this text.  Per-window values are in "
                  "`results.parquet` (`accuracy_per_window`, `accuracy_reference_per_window`).", "",
                  md_table(acc.to_dict("records"), acc.columns), ""]
    lines += kv_cache_section(results)
    lines += lmul_section(results)
    lines += fpga.report_lines(results, md_table)
    fits = fitting(results)  # designs that do not fit their FPGA part are not plotted
    results, feasible = results[fits], feasible[fits]

    front_union = np.zeros(len(results), dtype=bool)
    first_front = None
    lines += ["## Pareto fronts", "",
              "Fronts are computed within each workload model (accuracy and cost are not comparable across "
              "models).  Accuracy axes carry the 95% intervals as error bars; axes are logarithmic where the "
              "values span more than a factor of 30.", ""]
    for metrics in spec.fronts:
        name = " vs ".join(reversed(metrics[:2]))
        ok_all = feasible if "accuracy_loss" in metrics else feasible & acc_ok
        mask = front_per_model(results, metrics, where=ok_all)
        front_union |= mask
        first_front = mask if first_front is None else first_front
        lines += [f"### {name}", ""]
        finite = np.isfinite(results[list(metrics)].to_numpy(dtype=float)).all(axis=1)
        for model, sel in groups:
            if not (finite & sel).any():
                continue  # e.g. an accuracy front on a shape-only model (no weights, no accuracy)
            step(f"front {name}{breakdowns.on_model(model)}")
            suffix = f" on {model}" if model else ""
            base = plot_dir / ("front_" + "_vs_".join(reversed(metrics[:2])) + (f"_{model}" if model else ""))
            sub, m, ok = results[sel].reset_index(drop=True), mask[sel], ok_all[sel]
            partners = ties(sub, metrics, m, where=ok)
            tied = np.array([bool(p) for p in partners])
            constraint = "" if "accuracy_loss" in metrics or limit is None else f", accuracy loss <= {limit:g}"
            words = " vs ".join(quantity(x) for x in reversed(metrics[:2]))
            plots.plot_front(sub, metrics[0], metrics[1], m, base, feasible=ok, ties=tied,
                             title=f"{words}{suffix}\n(front over {', '.join(metrics)}{constraint})")
            lines += [f"![{name}{suffix}](plots/{base.name}.png)", "",
                      f"Front over {', '.join(metrics)}{suffix}: {int(m.sum())} of {int(ok.sum())} feasible designs"
                      f"{constraint.replace(', ', ' with ')}; {int((m & tied).sum())} of the front points tie with "
                      "another design.", ""]
            order = np.argsort(sub[metrics[0]].to_numpy(dtype=float), kind="stable")
            on = [i for i in order if m[i]]
            names = sub["label"].to_numpy()
            rows, heads = front_rows(sub.iloc[on], metrics, [[names[j] for j in partners[i]] for i in on])
            lines += [md_table(rows, heads), ""]
            lines += per_array_lines(sub, metrics, ok)
            hv = hypervolume_by_family(results, metrics, where=ok_all & sel)
            lines += [f"Hypervolume per design family{suffix} (objectives normalised to [0, 1] over the feasible "
                      "designs, reference point 1.1 each; larger is better):", "",
                      md_table(hv.to_dict("records"), hv.columns), ""]

    step("breakdowns")
    lines += breakdowns.energy_section(results, front_union, groups, plot_dir)
    lines += breakdowns.latency_section(results, front_union, groups)
    lines += breakdowns.stall_section(results, front_union, groups, plot_dir, MAX_STALL_BARS)
    if first_front is not None and first_front.any():
        picks = results[first_front].drop_duplicates("family").head(ROOFLINE_DESIGNS)["point_hash"].tolist()
        step("roofline")
        lines += breakdowns.roofline_section(results, ops, picks, plot_dir)
    lines += breakdowns.dram_section(results, spec.fronts, feasible, limit, groups, _labels_of)

    step("claims")
    lines += claims_lines(claim_rows(results, feasible, spec.studies), out_dir, md_table)
    lines += ["Files: `results.parquet` (one row per design), `ops.parquet` (per-op figures), `plots/` (PNG and "
              "SVG), `claims.json` (the claims table), `report.html` (this report with its images inlined).", ""]
    path = out_dir / "report.md"
    atomic.write_text(path, "\n".join(lines))
    step("report.html")
    write_html(path)
    log.info("report written to %s", path)
    return path
