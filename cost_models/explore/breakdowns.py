"""Report sections that break the front designs' figures down: energy by component, time to first token
and per output token, cycles by stall, the limit binding each op, and the front under another DRAM."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cost_models.explore import plots
from cost_models.explore.display import si_scale
from cost_models.explore.pareto import accuracy_mask, pareto_mask
from cost_models.explore.tables import fmt, md_table

#: Energy component key (``energy_<key>_pj_per_token`` in the results) -> name shown.
COMPONENT_NAMES = {"pe_arith": "PE arithmetic", "dequant": "dequant", "array": "array movement", "sram": "SRAM",
                   "dram": "DRAM", "leakage": "leakage"}
_COMPONENT = re.compile(r"^energy_(?P<key>.+)_pj_per_token$")


def energy_columns(df: pd.DataFrame) -> dict[str, str]:
    """Result column -> component name, for every ``energy_<key>_pj_per_token`` column with values."""
    out = {}
    for col in df.columns:
        m = _COMPONENT.match(col)
        if m and np.isfinite(df[col].to_numpy(dtype=float)).any():
            out[col] = COMPONENT_NAMES.get(m["key"], m["key"])
    return out


def _scaled_table(sub: pd.DataFrame, columns: dict[str, str], metric: str) -> tuple[list[dict], list[str]]:
    """Rows of ``label`` plus ``columns`` (result column -> heading) in one SI unit picked for ``metric``
    from the last column's values (the total, where there is one)."""
    factor, unit = si_scale(metric, sub[list(columns)[-1]].to_numpy(dtype=float))
    heads = [f"{h} ({unit})" for h in columns.values()]
    rows = [{"label": r["label"], **{h: r[c] * factor for c, h in zip(columns, heads, strict=True)}}
            for _, r in sub.iterrows()]
    return rows, ["label", *heads]


def energy_section(results: pd.DataFrame, front: np.ndarray, groups, plot_dir: Path) -> list[str]:
    """Energy per token by component of each model's front designs: a stacked bar and a table."""
    cols = energy_columns(results)
    lines = ["## Where the energy goes", ""]
    if not cols:
        return lines + ["These results carry no energy breakdown (no `energy_<component>_pj_per_token` "
                        "columns): they were computed by a version of the cost model without one.", ""]
    lines += ["Energy per token of every design on a front above, by component (PE arithmetic, dequantization, "
              "array data movement, SRAM, DRAM, leakage; they sum to the design's energy per token).", ""]
    for model, sel in groups:
        sub = results[sel & front]
        if not len(sub):
            continue
        base = plot_dir / f"energy_{model or 'all'}"
        plots.plot_energy_components(sub, cols, base, title=f"energy per token by component{on_model(model)}")
        rows, heads = _scaled_table(sub.sort_values(["family", "label"]),
                                    {**cols, "energy_per_token_pj": "total"}, "energy_per_token_pj")
        lines += [f"![energy by component{on_model(model)}](plots/{base.name}.png)", "", md_table(rows, heads), ""]
    return lines


def latency_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``ttft_ms`` / ``tpot_ms`` as the results give them, else from the phase cycles: the prefill's cycles,
    and one decode step's (decode cycles over decode tokens; a batch gets one token per sequence a step)."""
    out = pd.DataFrame(index=df.index)
    ms = 1.0 / (df["freq_mhz"].to_numpy(dtype=float) * 1e3)
    derived = {"ttft_ms": df["prefill_cycles"].to_numpy(dtype=float) * ms,
               "tpot_ms": df["decode_cycles"].to_numpy(dtype=float) * ms
               / df["workload_decode_tokens"].to_numpy(dtype=float)}
    for col, values in derived.items():
        given = df[col].to_numpy(dtype=float) if col in df else np.full(len(df), np.nan)
        out[col] = np.where(np.isfinite(given), given, np.where(np.isfinite(values) & (values > 0), values, np.nan))
    return out


def latency_section(results: pd.DataFrame, front: np.ndarray, groups) -> list[str]:
    """Time to first token and per output token of each decoder model's front designs."""
    lat = latency_columns(results)
    lines = ["## Time to first token and per output token", "",
             "Decoder workloads: time to first token is the prefill of the prompt; time per output token is one "
             "decode step (every sequence of the batch gets one token per step).", ""]
    shown = False
    for model, sel in groups:
        rows = sel & front & np.isfinite(lat["ttft_ms"].to_numpy()) & np.isfinite(lat["tpot_ms"].to_numpy())
        if not rows.any():
            continue
        sub = pd.concat([results[rows].drop(columns=list(lat.columns), errors="ignore"), lat[rows]],
                        axis=1).sort_values("tpot_ms")
        w = sub.iloc[0]
        table, heads = _scaled_table(sub, {"ttft_ms": "TTFT"}, "ttft_ms")
        t2, h2 = _scaled_table(sub, {"tpot_ms": "time per output token"}, "tpot_ms")
        for r, r2 in zip(table, t2, strict=True):
            r.update(r2)
            r["tokens/s per sequence"] = 1e3 / sub.loc[sub["label"] == r["label"], "tpot_ms"].iloc[0]
        lines += [f"{model or 'All designs'} (prompt {w['workload_prefill_tokens']} tokens, batch "
                  f"{w['workload_batch']}):", "", md_table(table, [*heads, *h2[1:], "tokens/s per sequence"]), ""]
        shown = True
    return lines if shown else []


def stall_section(results: pd.DataFrame, front: np.ndarray, groups, plot_dir: Path, max_bars: int) -> list[str]:
    """One cycle-breakdown plot per model, as fractions of each design's total cycles."""
    lines = ["## Where the cycles go", "",
             "Fractions of each design's total cycles (compute, array fill/drain, memory and dequant stalls); "
             "the total is written beside each bar.  One plot per model, since their cycle counts differ by "
             "orders of magnitude.", ""]
    for model, sel in groups:
        sub = results[sel] if sel.sum() <= max_bars else results[sel & front]
        if not len(sub):
            continue
        base = plot_dir / f"stalls_{model or 'all'}"
        plots.plot_stalls(sub, base, title=f"cycle breakdown{on_model(model)}")
        what = "every design" if sel.sum() <= max_bars else "the front designs"
        lines += [f"![cycle breakdown{on_model(model)}](plots/{base.name}.png)", "", f"Cycle breakdown of {what}"
                  f"{on_model(model)}.", ""]
    return lines


def roofline_section(results: pd.DataFrame, ops: pd.DataFrame, picks: list[str], plot_dir: Path) -> list[str]:
    """Roofline per op of the picked designs, each op coloured by its binding limit, and a count table."""
    if not len(ops) or not picks:
        return []
    plots.plot_roofline(results, ops, picks, plot_dir / "roofline")
    lines = ["## Roofline per op", "", "![roofline](plots/roofline.png)", "",
             "Each op of the workload on front designs (one per family): achieved MACs per cycle against MACs per "
             "DRAM byte, under the compute roof and the DRAM-bandwidth roof.  Colour: the limit that binds the op "
             "in the simulator (the resource that alone needs the most cycles: array issue slots, weight loads, "
             "SRAM ports, DRAM, dequant units); the dash above each op is that limit's own roof (the op's MACs "
             "over the cycles the binding resource alone needs).", ""]
    if "bound" in ops and (ops["bound"].fillna("") != "").any():
        sel = ops[ops["point_hash"].isin(picks)].copy()
        sel["op_cycles"] = sel["cycles"]
        share = sel.groupby(["point_hash", "bound"])["op_cycles"].sum().unstack(fill_value=0)
        share = share.div(share.sum(axis=1), axis=0)
        labels = results.set_index("point_hash")["label"]
        models = results.set_index("point_hash")["workload_model"]
        rows = [{"design": labels[h], "model": models[h],
                 **{f"{b}-bound": share.loc[h, b] for b in share.columns}} for h in picks if h in share.index]
        lines += ["Share of each design's op cycles (one instance of each op) by binding limit:", "",
                  md_table(rows, ["design", "model", *(f"{b}-bound" for b in share.columns)]), ""]
    return lines


def dram_pj_per_bit(results: pd.DataFrame) -> np.ndarray:
    """The DRAM energy per bit each row was priced at: its DRAM energy over its DRAM bits."""
    bits = results["dram_bits"].to_numpy(dtype=float) / results["tokens"].clip(lower=1).to_numpy(dtype=float)
    return np.divide(results["energy_dram_pj_per_token"].to_numpy(dtype=float), bits, out=np.full(len(bits), np.nan),
                     where=bits > 0)


def repriced_energy(results: pd.DataFrame, pj_per_bit: float) -> np.ndarray:
    """Energy per token with every DRAM bit at ``pj_per_bit`` instead (cycles and other energy unchanged)."""
    bits = results["dram_bits"].to_numpy(dtype=float) / results["tokens"].clip(lower=1).to_numpy(dtype=float)
    return (results["energy_per_token_pj"].to_numpy(dtype=float)
            - results["energy_dram_pj_per_token"].to_numpy(dtype=float) + bits * pj_per_bit)


def dram_section(results: pd.DataFrame, fronts, feasible: np.ndarray, acc_limit: float | None, groups,
                 label_of: Callable[[pd.DataFrame], str], technologies: dict[str, float] | None = None) -> list[str]:
    """The energy fronts with DRAM priced at each technology's energy per bit (``technologies``: name ->
    pJ/bit; default the presets of :mod:`accel.dram`, a preset without a figure at the rows' own)."""
    lines = ["## Sensitivity to the memory technology", ""]
    energy_fronts = [m for m in fronts if "energy_per_token_pj" in m]
    own = dram_pj_per_bit(results) if "energy_dram_pj_per_token" in results else np.array([np.nan])
    if not np.isfinite(own).any() or not energy_fronts:
        return lines + ["These results carry no DRAM energy component (or no energy front), so the fronts cannot "
                        "be repriced for another memory technology.", ""]
    if technologies is None:
        from accel.dram import presets

        base = float(np.nanmedian(own))
        technologies = {n: (t.pj_per_bit if t.pj_per_bit is not None else base) for n, t in presets().items()}
    lines += ["Each energy front recomputed with every DRAM bit priced at another technology's energy per bit "
              f"({', '.join(f'{n} {v:.3g} pJ/bit' for n, v in technologies.items())}; these results were priced at "
              f"{fmt(float(np.nanmedian(own)))} pJ/bit).  The DRAM bandwidth per cycle stays the sweep's, so "
              "cycles and every other energy component are unchanged: this isolates the energy per bit.  Front "
              "designs per technology:", ""]
    rows, on_any = [], np.zeros(len(results), dtype=bool)
    energy = {name: repriced_energy(results, pj) for name, pj in technologies.items()}
    for metrics in energy_fronts:
        ok = feasible if "accuracy_loss" in metrics else feasible & accuracy_mask(results, acc_limit)
        for model, sel in groups:
            row = {"front": " vs ".join(reversed(metrics[:2])), "model": model or "-"}
            for name, e in energy.items():
                mask = pareto_mask(results.assign(energy_per_token_pj=e), metrics, where=ok & sel)
                on_any |= mask
                row[name] = label_of(results[mask]) if mask.any() else "-"
            if any(row[name] != "-" for name in technologies):
                rows.append(row)
    sub = results[on_any]
    factor, unit = si_scale("energy_per_token_pj", sub["energy_per_token_pj"])
    per_design = [{"label": r["label"], "model": r.get("workload_model", "-"),
                   **{f"{n} ({unit})": energy[n][i] * factor for n in technologies}}
                  for i, r in results.iterrows() if on_any[i]]
    return lines + [md_table(rows, ["front", "model", *technologies]), "",
                    "Energy per token of those designs under each technology:", "",
                    md_table(per_design, ["label", "model", *(f"{n} ({unit})" for n in technologies)]), ""]


def on_model(model: str) -> str:
    return f" on {model}" if model else ""
