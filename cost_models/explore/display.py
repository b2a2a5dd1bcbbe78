"""How designs and figures are shown: short unique labels with a legend of full specs, SI-prefixed units."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: PE family -> short name used in labels (unknown families keep their name).
FAMILY_SHORT = {"fp16_dequant_first": "FP16-dq", "int8_mac": "INT8", "mixpe_w4a8": "MixPE-W4A8",
                "mixpe_w4a16": "MixPE-W4A16", "minifloat_mac": "MF", "block_mac": "Block", "lmul": "L-Mul"}

#: Design columns of the legend: column -> heading.  Every one that is in the results is listed.
SPEC_COLUMNS = {"pe": "PE spec", "array": "array", "dataflow": "dataflow", "freq_mhz": "MHz",
                "dram_bandwidth_bytes_per_cycle": "DRAM B/cycle", "buffers": "buffers W/I/O KiB",
                "dequant": "dequant units", "attention": "attention products", "kv": "KV cache"}


def _letters(i: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa: a suffix telling designs of one family and array apart."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def spec_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The full spec of each design as legend columns (every design axis, attention mode and KV settings)."""
    out = pd.DataFrame(index=df.index)
    out["pe"] = df["pe"]
    out["array"] = df["array_rows"].astype(str) + "x" + df["array_cols"].astype(str)
    for col in ("dataflow", "freq_mhz", "dram_bandwidth_bytes_per_cycle"):
        if col in df:
            out[col] = df[col]
    if {"weight_buffer_kib", "input_buffer_kib", "output_buffer_kib"} <= set(df.columns):
        out["buffers"] = (df["weight_buffer_kib"].astype(str) + "/" + df["input_buffer_kib"].astype(str) + "/"
                          + df["output_buffer_kib"].astype(str))
    if "dequant_placement" in df:
        count = df["dequant_count"] if "dequant_count" in df else pd.Series(np.nan, index=df.index)
        out["dequant"] = df["dequant_placement"].astype(str) + [
            "" if pd.isna(c) else f" x{int(c)}" for c in count]
    if "attention" in df:
        out["attention"] = df["attention"].map({"reference": "float64 reference", "pe": "through the PE"}
                                               ).fillna(df["attention"])
    if "kv_cache_format" in df:
        fmt = df["kv_cache_format"].map(lambda v: v if isinstance(v, str) and v else "unquantized")
        sort = df["kv_sort_k_channels"] if "kv_sort_k_channels" in df else pd.Series(False, index=df.index)
        out["kv"] = fmt + [", K channels sorted" if s else "" for s in sort.fillna(False)]
    return out


def short_labels(df: pd.DataFrame) -> pd.Series:
    """``<family> <RxC>`` plus a letter when several designs of one model share family and array size.

    Unique within each workload model (fronts and plots are per model); the letters follow the order of
    the full specs, so the same results always get the same labels.  :func:`legend` maps them back.
    """
    fam = df["pe"].str.split(":", n=1).str[0]
    base = fam.map(lambda f: FAMILY_SHORT.get(f, f)) + " " + df["array_rows"].astype(str) + "x" + \
        df["array_cols"].astype(str)
    full = spec_columns(df).astype(str).agg(" | ".join, axis=1)
    model = df["workload_model"] if "workload_model" in df else pd.Series("", index=df.index)
    labels = base.copy()
    for _, idx in base.groupby([model, base]).groups.items():
        specs = full[idx]
        if specs.nunique() > 1:
            letter = {s: _letters(k) for k, s in enumerate(sorted(specs.unique()))}
            labels[idx] = base[idx] + " " + specs.map(letter)
    return labels


def legend(df: pd.DataFrame) -> pd.DataFrame:
    """One row per label and model: the label, PE spec, array, attention mode, KV cache, and every other
    spec column that varies."""
    specs = spec_columns(df)
    keep = [c for c in specs.columns if c in ("pe", "array", "attention", "kv") or specs[c].astype(str).nunique() > 1]
    table = pd.concat([df[["label"]], df[["workload_model"]] if "workload_model" in df else None,
                       specs[keep]], axis=1)
    table = table.drop_duplicates().sort_values([c for c in ("workload_model", "label") if c in table])
    return table.rename(columns={"workload_model": "model", **SPEC_COLUMNS})


#: SI prefixes by power of 1000.
_PREFIX = {-5: "f", -4: "p", -3: "n", -2: "µ", -1: "m", 0: "", 1: "k", 2: "M", 3: "G"}

#: Metric -> (quantity, base unit, exponent of the stored unit relative to the base, SI-prefixable).
#: Energy is stored in pJ (1e-12 J), latency in ms; area stays in mm^2 (prefixes of squared units mislead).
QUANTITIES = {
    "energy_per_token_pj": ("energy per token", "J/token", -12, True),
    "energy_pj": ("energy", "J", -12, True),
    "edp_pj_s": ("energy-delay product", "J·s", -12, True),
    "latency_ms": ("latency", "s", -3, True),
    "ttft_ms": ("time to first token", "s", -3, True),
    "tpot_ms": ("time per output token", "s", -3, True),
    "area_um2": ("area", "mm²", 0, False),  # shown in mm^2 (scaled below)
    "area_mm2": ("area", "mm²", 0, False),
    "fpga_luts": ("FPGA LUTs", "", 0, True),
    "cycles": ("cycles", "", 0, True),
    "accuracy_loss": ("accuracy loss (relative perplexity increase)", "", 0, False),
    "utilization": ("utilization", "", 0, False),
}
_FIXED_SCALE = {"area_um2": 1e-6}


def si_scale(metric: str, values) -> tuple[float, str]:
    """(factor to multiply stored values by, unit text) so the median magnitude reads between 1 and 1000.

    ``energy_per_token_pj`` around 2e9 pJ gives (1e-9, "mJ/token").  Unknown metrics are unscaled.
    """
    if metric not in QUANTITIES:
        return 1.0, ""
    _, unit, exp10, prefixable = QUANTITIES[metric]
    if not prefixable:
        return _FIXED_SCALE.get(metric, 1.0), unit
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    power = 0 if not len(v) else math.floor((math.log10(float(np.median(v))) + exp10) / 3)
    power = max(min(power, max(_PREFIX)), min(_PREFIX))
    if not unit and power < 1:  # a plain count is never shown in milli-units
        return 1.0, ""
    return 10.0 ** (exp10 - 3 * power), _PREFIX[power] + unit


def quantity(metric: str) -> str:
    """What a metric measures, in words (``energy per token``); the column name when unknown."""
    return QUANTITIES.get(metric, (metric,))[0]


def axis_label(metric: str, values) -> str:
    """``quantity (unit)`` for a plot axis or table heading, with the unit :func:`si_scale` picks."""
    name = quantity(metric)
    _, unit = si_scale(metric, values)
    return f"{name} ({unit})" if unit else name


def scaled(df: pd.DataFrame, metric: str) -> tuple[np.ndarray, str]:
    """The column in the unit :func:`si_scale` picks for it, and its axis label."""
    values = df[metric].to_numpy(dtype=float)
    factor, _ = si_scale(metric, values)
    return values * factor, axis_label(metric, values)
