"""Accuracy records with their uncertainty, from the results of ``workloads.accuracy``.

Decoder: the paired metrics against the float64 reference (KL divergence, top-1 agreement, NLL
difference) carry the 95% bootstrap-over-windows intervals ``workloads.accuracy`` computed.  The loss
is the relative perplexity increase, ``exp(delta_nll) - 1``, so its interval maps from the NLL
difference's.  The standard errors (``value_stderr``, ``loss_stderr``) are kept from per-window mean
NLLs: ``value * sd(nll_w) / sqrt(W)`` and, paired per window, ``exp(mean d) * sd(d_w) / sqrt(W)``.
Encoder: mean cosine over sentences with its bootstrap-over-sentences interval; loss = 1 - cosine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from cost_models.explore.records import AccuracyResult


def _sem(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size >= 2 else math.nan


def routes_summary(routes: dict[str, str]) -> str:
    """``arithmetic: N tensors`` per route, naming the tensors of routes that hold three or fewer."""
    groups: dict[str, list[str]] = {}
    for name, route in routes.items():
        groups.setdefault(route, []).append(name)
    parts = []
    for route, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        parts.append(f"{route}: " + (", ".join(sorted(names)) if len(names) <= 3 else f"{len(names)} tensors"))
    return "; ".join(parts)


def decoder_result(res: dict[str, Any], routes: dict[str, str] | None = None, model_files: str = "") -> AccuracyResult:
    """An :class:`AccuracyResult` from ``workloads.accuracy.perplexity``'s result dictionary."""
    text = res.get("text") or {}
    nll = np.asarray(res["per_window"], dtype=np.float64)
    ref = np.asarray(res["reference_per_window"], dtype=np.float64)
    d = nll - ref
    value, reference = float(res["perplexity"]), float(res["reference_perplexity"])
    dl, dh = res["delta_nll_ci95"]
    return AccuracyResult(
        "perplexity", value, reference, windows=int(res["windows"]), tokens=int(res["tokens"]),
        value_stderr=value * _sem(nll), loss_stderr=math.exp(d.mean()) * _sem(d), score=str(res["score"]),
        tokens_scored=int(res["tokens_scored"]), value_low=float(res["perplexity_ci95"][0]),
        value_high=float(res["perplexity_ci95"][1]), loss_low=math.expm1(dl), loss_high=math.expm1(dh),
        kld=float(res["kld"]), kld_low=float(res["kld_ci95"][0]), kld_high=float(res["kld_ci95"][1]),
        top1=float(res["top1_agreement"]), top1_low=float(res["top1_agreement_ci95"][0]),
        top1_high=float(res["top1_agreement_ci95"][1]), delta_nll=float(res["delta_nll"]), delta_nll_low=float(dl),
        delta_nll_high=float(dh), per_window=tuple(float(v) for v in nll),
        reference_per_window=tuple(float(v) for v in ref),
        per_window_kld=tuple(float(v) for v in res.get("per_window_kld", ())),
        per_window_top1=tuple(float(v) for v in res.get("per_window_top1_agreement", ())),
        routes=routes_summary(routes or {}), text_source=str(text.get("source", "")),
        text_sha256=str(text.get("sha256", "")), model_files=model_files)


def cosine_result(per_sentence: Sequence[float], ci95: Sequence[float] | None = None,
                  routes: dict[str, str] | None = None, model_files: str = "") -> AccuracyResult:
    """Mean cosine similarity to the reference (1.0), its standard error (that of the loss too) and interval."""
    c = np.asarray(per_sentence, dtype=np.float64)
    se = _sem(c)
    lo, hi = ci95 if ci95 is not None else (math.nan, math.nan)
    return AccuracyResult("cosine", float(c.mean()), 1.0, higher_is_better=True, windows=int(c.size),
                          value_stderr=se, loss_stderr=se, value_low=float(lo), value_high=float(hi),
                          loss_low=1.0 - float(hi), loss_high=1.0 - float(lo), per_window=tuple(float(v) for v in c),
                          routes=routes_summary(routes or {}), model_files=model_files)

