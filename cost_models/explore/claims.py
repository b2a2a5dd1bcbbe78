"""The claims table: each paper's claim as the paper states it, our figure, a verdict the statistics support.

Rows come from three places:

- cost studies run beside the sweep when the spec lists them (``studies:``;
  :data:`cost_models.studies.STUDIES`): MixPE like
  for like at iso-area (:mod:`cost_models.studies.mixpe`);
- the cost model's per-operation energies, always: L-Mul per multiply and per dot product
  (:func:`cost_models.studies.claims.lmul_records`);
- the sweep's results table: accuracy claims judged from the paired 95% interval of the per-window NLL
  (cosine for an encoder) difference between two designs on the same windows, and the L-Mul design-level
  saving.  A claim whose designs are not in the sweep says "not measured" and which axis to add.

Verdict rules: :mod:`cost_models.studies.verdict`.  ``claims.json`` holds the same records as the table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cost_models.explore.records import Point, scalar_fields
from cost_models.studies import STUDIES
from cost_models.studies.verdict import (
    DOES_NOT_HOLD,
    HOLDS,
    TABLE_COLUMNS,
    ClaimRecord,
    accuracy_verdict,
    not_measured,
    ratio_verdict,
    table_rows,
)

CLAIMS_FILE = "claims.json"
#: "Without significant accuracy loss" / "match": the paired mean NLL increase (nats per token) must stay below
#: this (about 1% perplexity).
MATCH_TOLERANCE_NATS = 0.01
DESIGN_KEYS = [f.name for f in scalar_fields(Point) if f.name != "pe"]
ATTENTION_LABELS = {"reference": "weight products only", "pe": "every product incl. attention",
                    "pe_only": "attention products only (weights exact)"}
#: The paper's setting for "near lossless": L-Mul in attention only.
PAPER_ATTENTION = "pe_only"


# ----- paired accuracy ------------------------------------------------------------------------------------
def _per_window(row) -> np.ndarray:
    """Per-window figure where larger is worse: mean NLL (decoder), 1 - cosine (encoder)."""
    v = np.asarray(row["accuracy_per_window"], dtype=np.float64)
    return 1.0 - v if bool(row.get("accuracy_higher_is_better", False)) else v


def paired(df: pd.DataFrame, a, b) -> tuple[float, float, float, str]:
    """Mean per-window difference a - b (larger = ``a`` worse) with its 95% window-bootstrap interval.

    ``a``, ``b``: row labels of two designs evaluated on the same windows.
    """
    from workloads.statistics import paired_difference

    xa, xb = _per_window(df.loc[a]), _per_window(df.loc[b])
    est = paired_difference([[x] for x in xb], [[x] for x in xa])
    unit = "1 - cosine" if bool(df.loc[a].get("accuracy_higher_is_better", False)) else "mean NLL (nats/token)"
    return est.value, est.low, est.high, f"paired over {xa.size} windows, {unit}"


def _has_windows(df: pd.DataFrame) -> pd.Series:
    if "accuracy_per_window" not in df:
        return pd.Series(False, index=df.index)
    return df["accuracy_per_window"].map(lambda v: v is not None and len(v) >= 2)


def _best(df: pd.DataFrame, sel: pd.Series):
    """Row label of the most accurate design among ``sel`` with per-window values (None if there is none)."""
    sel = sel & _has_windows(df)
    return df.loc[sel, "accuracy_loss"].idxmin() if sel.any() else None


def _accuracy_record(df, claim, source, paper_value, a, b, tolerance: float, what: str) -> ClaimRecord:
    if df.loc[a].get("workload_model") != df.loc[b].get("workload_model"):
        return not_measured(claim, source, paper_value, f"{what}: the two designs ran different models")
    value, lo, hi, how = paired(df, a, b)
    return ClaimRecord(claim, source, paper_value, value, [lo, hi], accuracy_verdict(lo, hi, tolerance),
                       f"{what}: {df.loc[a, 'pe']} minus {df.loc[b, 'pe']}, {how}; holds when the 95% interval "
                       f"lies below {tolerance:g}, does not hold when above, else unresolved")


# ----- integer vs minifloat --------------------------------------------------------------------------------
def arith_kind(weight_scheme: str, act_scheme: str) -> str:
    """integer / minifloat / other, from the PE's operand scheme names (registry names).

    Minifloat means a float operand of at most 8 bits; FP16/BF16/FP32 operands make a design "other".
    """
    def kind(s: str) -> str:
        s = (s or "").lower()
        if s.startswith(("float16", "bfloat16", "float32", "fp16", "bf16", "fp32")):
            return "wide"
        if s.startswith(("int", "uint", "q4", "q8", "q5")):
            return "int"
        if s.startswith("float") or s.startswith("e") and "m" in s:
            return "float"
        if s.startswith(("mx", "bfp")):
            return "block"
        return "other"
    kinds = {kind(weight_scheme), kind(act_scheme)}
    if kinds == {"int"}:
        return "integer"
    if "float" in kinds and kinds <= {"float", "int"}:
        return "minifloat"
    return "other"


def _short(scheme: str) -> str:
    return str(scheme).split("_per_")[0]


def _front_int_vs_minifloat(df: pd.DataFrame, front: np.ndarray, front_name: str) -> ClaimRecord:
    """Integer vs minifloat designs on the accuracy-vs-cost front: holds when an integer design is on the front
    of at least half the models, else does not hold (counted as the paper counts Pareto-optimal designs)."""
    src = "Minifloats and Integers on FPGAs (Aggarwal et al.)"
    claim = "over 3-8 bits, integer quantization often remains Pareto-optimal (accuracy vs hardware cost)"
    paper = "integer often Pareto-optimal"
    kinds = np.array([arith_kind(w, a) for w, a in zip(df["weight_scheme"], df["act_scheme"], strict=True)])
    has_acc = np.isfinite(df["accuracy_loss"].to_numpy(dtype=float))
    n_int, n_mf = int(((kinds == "integer") & has_acc).sum()), int(((kinds == "minifloat") & has_acc).sum())
    if not (n_int and n_mf):
        return not_measured(claim, src, paper, f"the sweep has {n_int} integer and {n_mf} minifloat designs; both "
                            "are needed (accel explore --preset minifloat-int)")
    models = list(df.loc[has_acc, "workload_model"].unique()) if "workload_model" in df else []
    groups = [("", has_acc)] if len(models) <= 1 else \
        [(f"{m}: ", (df["workload_model"] == m).to_numpy() & has_acc) for m in models]
    parts, fronts, with_int = [], [], 0
    for where, sel in groups:
        on = front & sel
        f_int, f_mf = int(((kinds == "integer") & on).sum()), int(((kinds == "minifloat") & on).sum())
        with_int += f_int > 0
        parts.append(f"{where}{f_int} integer, {f_mf} minifloat of {int(on.sum())} designs")
        f = df[on].sort_values("accuracy_loss", ascending=False)  # along the front: cheapest first
        names = [f"{_short(w)}/{_short(a)}" for w, a in zip(f["weight_scheme"], f["act_scheme"], strict=True)]
        fronts.append(f"{where}" + ", ".join(dict.fromkeys(names)))
    verdict = HOLDS if 2 * with_int >= len(groups) else DOES_NOT_HOLD
    how = (f"front over {front_name} per model; 'often' = an integer design on the front of at least half the "
           f"models (here {with_int} of {len(groups)}); front (weight/activation), "
           "cheapest first: " + "; ".join(fronts) + "; the PEs differ in accumulator, grouping and dequant, not "
           "only in element format")
    return ClaimRecord(claim, src, paper, "front: " + "; ".join(parts), None, verdict, how)


# ----- accuracy claims --------------------------------------------------------------------------------------
def _kv_bits(name: str) -> float | None:
    try:
        from accel import formats

        return float(formats.get(name).bits_per_element)
    except Exception:  # noqa: BLE001 - unknown to the registry: no memory figure
        return None


def _bfp_kv(df: pd.DataFrame) -> list[ClaimRecord]:
    """Smallest vs largest BFP KV format: the memory ratio, and the paired accuracy difference."""
    src = "Accurate Block Quantization in LLMs with Outliers"
    claim_mem = "BFP KV cache: 2x memory saving"
    claim_acc = "BFP KV cache with K-channel sorting: no significant accuracy loss"
    kv = df["kv_cache_format"].fillna("") if "kv_cache_format" in df else pd.Series("", index=df.index)
    known = {k: b for k in kv.unique() if "bfp" in k.lower() and (b := _kv_bits(k))}
    if len(set(known.values())) < 2:
        why = ("needs BFP formats of two sizes in axes.kv_cache_format (e.g. bfp12_b16 and bfp16_b16): "
               "accel explore --preset bfp-kv")
        return [not_measured(claim_mem, src, 2.0, why), not_measured(claim_acc, src, "no significant loss", why)]
    hi_bits = max(known.values())
    lo_name = min(known, key=known.get)
    srt = df["kv_sort_k_channels"].fillna(False).astype(bool) if "kv_sort_k_channels" in df else kv != kv
    small = _best(df, kv.eq(lo_name) & srt)
    small = _best(df, kv.eq(lo_name)) if small is None else small
    # the baseline: the same PE with an unquantized cache (the paper's), else the largest BFP format
    same_pe = df["pe"] == df.loc[small, "pe"] if small is not None else pd.Series(False, index=df.index)
    big = _best(df, kv.eq("") & same_pe)
    big = _best(df, kv.isin([k for k, b in known.items() if b == hi_bits])) if big is None else big
    ratio = hi_bits / known[lo_name]
    out = [ClaimRecord(claim_mem, src, 2.0, ratio, None, ratio_verdict(ratio, 2.0),
                       f"KV storage bits per element from accel.formats: {lo_name} {known[lo_name]:g} vs "
                       f"{max(known, key=known.get)} {hi_bits:g}")]
    if small is None or big is None:
        out.append(not_measured(claim_acc, src, "no significant loss", "no per-window accuracy for the formats"))
    else:
        name = f"{kv[small]}{' with K channels sorted' if srt[small] else ''} vs {kv[big] or 'unquantized'}"
        out.append(_accuracy_record(df, claim_acc, src, "no significant loss", small, big, MATCH_TOLERANCE_NATS,
                                    f"KV cache {name}"))
    return out


def _lmul(df: pd.DataFrame) -> list[ClaimRecord]:
    """L-Mul vs the exact PE of the same operand formats: design-level energy, and accuracy per attention mode."""
    src = "Addition is All You Need (L-Mul, arXiv 2410.00907)"
    claim_e = "L-Mul's 80% per dot product, as a whole-design energy saving"
    claim_a = "L-Mul is near lossless (L-Mul in {mode})"
    paper_mode = claim_a.format(mode=ATTENTION_LABELS[PAPER_ATTENTION])
    lm = df["family"] == "lmul"
    if not lm.any():
        why = "the sweep has no lmul PE (add lmul to axes.pe, or accel explore --preset lmul)"
        return [not_measured(claim_e, src, 0.8, why), not_measured(paper_mode, src, "near lossless", why)]
    same = pd.Series(False, index=df.index)
    for _, row in df[lm][["weight_scheme", "act_scheme"]].drop_duplicates().iterrows():
        same |= (df["weight_scheme"] == row["weight_scheme"]) & (df["act_scheme"] == row["act_scheme"]) & ~lm
    if not same.any():
        why = "no non-L-Mul PE with the same operand formats in the sweep"
        return [not_measured(claim_e, src, 0.8, why), not_measured(paper_mode, src, "near lossless", why)]
    keys = [k for k in DESIGN_KEYS if k in df.columns and k != "attention"] + \
        [c for c in df.columns if c.startswith("workload_")]
    a = df[same].groupby(keys, dropna=False)["energy_pj"].min()
    b = df[lm].groupby(keys, dropna=False)["energy_pj"].min()
    saving = (1 - b / a).dropna()
    out = []
    if saving.empty:
        out.append(not_measured(claim_e, src, 0.8, "no array configuration holds both designs"))
    else:
        mid = float(saving.median())
        out.append(ClaimRecord(claim_e, src, 0.8, mid, [float(saving.min()), float(saving.max())],
                               ratio_verdict(mid, 0.8),
                               f"whole design (PE arithmetic, registers, SRAM, DRAM, leakage) over "
                               f"{len(saving)} array configuration(s): median and range; what the per-operation "
                               "claim means for an accelerator, not the claim itself"))
    modes = sorted(df.loc[lm, "attention"].dropna().unique()) if "attention" in df else []
    for mode in modes or ["reference"]:
        sel = df["attention"] == mode if "attention" in df else pd.Series(True, index=df.index)
        x, y = _best(df, lm & sel), _best(df, same & sel)
        label = ATTENTION_LABELS.get(mode, mode)
        claim = claim_a.format(mode=label)
        if x is None or y is None:
            out.append(not_measured(claim, src, "near lossless", "no per-window accuracy for both designs"))
        else:
            out.append(_accuracy_record(df, claim, src, "near lossless", x, y, MATCH_TOLERANCE_NATS,
                                        f"L-Mul in {label}"))
    if PAPER_ATTENTION not in modes:
        out.append(not_measured(paper_mode, src, "near lossless", f"the paper's setting needs the lmul PE with "
                                f"attention: {PAPER_ATTENTION} in the sweep (weight products exact)"))
    return out


def _zeroquant(df: pd.DataFrame) -> list[ClaimRecord]:
    """FP8 vs INT8 activations (same weights), FP4 vs INT4 weights (same activations), paired per window."""
    src = "ZeroQuant-FP"
    a, w = df["act_scheme"].str.lower(), df["weight_scheme"].str.lower()
    rows = []
    for claim, paper, x_sel, y_sel, other, tol in (
            ("FP8 activations beat INT8 activations", "FP8 better", a.str.startswith("float8") & (df["act_bits"] == 8),
             a.str.startswith(("int8", "q8")) & (df["act_bits"] == 8), "weight_scheme", 0.0),
            ("FP4 weights match or beat INT4 weights", "FP4 <= INT4", w.str.startswith(("float4", "mxfp4")),
             (df["weight_bits"] == 4) & w.str.startswith(("int4", "uint4", "q4")), "act_scheme",
             MATCH_TOLERANCE_NATS)):
        shared = sorted(set(df.loc[x_sel, other]) & set(df.loc[y_sel, other]))
        pairs = [(s, _best(df, x_sel & (df[other] == s)), _best(df, y_sel & (df[other] == s))) for s in shared]
        pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
        if not pairs:
            rows.append(not_measured(claim, src, paper, f"needs two PEs that differ in this operand only (same "
                                     f"{other.replace('_', ' ')}), both with per-window accuracy"))
            continue
        for s, x, y in pairs:
            rows.append(_accuracy_record(df, f"{claim} (with {_short(s)})", src, paper, x, y, tol,
                                         f"same {other.replace('_', ' ')} {s}"))
    return rows


# ----- the table --------------------------------------------------------------------------------------------
def claims_table(df: pd.DataFrame, front: np.ndarray, front_name: str, studies=()) -> list[ClaimRecord]:
    """Every claim record for a results table; ``front`` is the accuracy-vs-hardware-cost front mask;
    ``studies``: names in :data:`cost_models.studies.STUDIES` to run beside the sweep."""
    from cost_models.studies.claims import lmul_records

    mixpe = STUDIES["mixpe"]() if "mixpe" in studies else [
        not_measured("MixPE 2.6x speedup and 1.4x energy reduction, like for like at iso-area", "MixPE (arXiv "
                     "2411.16158)", "2.6x / 1.4x", "the sweep spec does not list the study: add `studies: [mixpe]`")]
    return [*mixpe, *lmul_records(), *_lmul(df), _front_int_vs_minifloat(df, front, front_name), *_bfp_kv(df),
            *_zeroquant(df)]


def claims_lines(records: list[ClaimRecord], out_dir: str | Path, md_table) -> list[str]:
    """Write ``claims.json`` (one object per claim) in ``out_dir``; return the report's claims section
    (``md_table(rows, columns)`` renders the table)."""
    from cost_models.explore import atomic

    atomic.write_text(Path(out_dir) / CLAIMS_FILE, json.dumps([r.to_dict() for r in records], indent=2) + "\n")
    return ["## Claims from the papers, side by side", "",
            "Each row: the paper's claim as the paper states it, our figure, and the verdict.  Accuracy claims: "
            "the paired 95% interval (bootstrap over windows) against the claim's tolerance gives holds / does "
            "not hold / unresolved.  Ratio claims: within 20% of the paper's figure \"matches\", above "
            "\"exceeds\", below \"falls short\".  \"How we tested it\" names every way our setting differs from "
            f"the paper's.  Machine-readable: `{CLAIMS_FILE}`.", "",
            md_table(table_rows(records), TABLE_COLUMNS), ""]
