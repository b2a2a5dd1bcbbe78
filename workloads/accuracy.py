"""Accuracy of a forward pass through a matmul provider, paired with the float64 reference on the same tokens.

Decoder (SmolLM2), llama.cpp ``perplexity``'s protocol without BOS: the tokenized text is cut into
consecutive windows of N tokens (:func:`workloads.text.consecutive_windows`), each run from an empty KV
cache; the logits at positions N/2 .. N-2 predict tokens N/2+1 .. N-1 (``score="half"``: every scored
token has at least N/2 tokens of context) or those at 0 .. N-2 predict 1 .. N-1 (``score="all"``).
Perplexity is exp(mean NLL over every scored token of every window).

Paired with the float64 reference on the same scored tokens: mean KL(p_ref || p_design) per token over
the full vocabulary, top-1 agreement (share of positions whose argmax equals the reference's) and mean
NLL difference (design minus reference), each with a 95% interval from a bootstrap over windows
(:mod:`workloads.statistics`).

The reference is computed once per (model file, window tokens, scoring) and cached under
``$ACCEL_CACHE/reference/`` by content hash, one file per window (:mod:`workloads.refcache`).

Encoder (MiniLM): cosine similarity of sentence embeddings to the float64 reference's, over sentences
of the text, with the same kind of interval (the sentences are the resampled units).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from accel.errors import WorkloadError
from workloads import providers as prov
from workloads import statistics as stats
from workloads.kvcache import sorting_changes_blocks
from workloads.protocol import DEFAULT_SENTENCES, DEFAULT_TOKENS, DEFAULT_WINDOWS
from workloads.refcache import KL_METHOD, reference_window, run_key, scored_positions
from workloads.scoring import ScoredHead, log_softmax, scored_logits  # noqa: F401  (part of this API)
from workloads.text import consecutive_windows, load_text, sentences, token_ids

log = logging.getLogger(__name__)

CI_METHOD = ("expanded percentile bootstrap over windows (scipy.stats.bootstrap, 9999 resamples, seed 0); "
             "windows are the independent units")
_ROW_CHUNK = 64


def reference_log_probs(model, hidden: np.ndarray) -> np.ndarray:
    """float64 log-probabilities of the reference from its final hidden states (stored LM-head weights)."""
    w = model.weights["output.weight"]
    return log_softmax(prov.reference(hidden, w, name="lm_head", layer=model.config.n_layers))


def _window_metrics(model, lp: np.ndarray, ref_hidden: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    """Per-token NLL of design and reference, KL(p_ref || p_design) and top-1 agreement.

    The reference's LM head runs on all scored rows in one call, as the design's does: for the
    reference itself both are the same product of the same operands, so its KL is exactly 0.
    """
    ref = reference_log_probs(model, ref_hidden)
    idx = np.arange(lp.shape[0])
    kld = np.concatenate([(np.exp(r) * (r - d)).sum(axis=-1) for r, d in
                          zip(np.split(ref, range(_ROW_CHUNK, len(ref), _ROW_CHUNK)),
                              np.split(lp, range(_ROW_CHUNK, len(lp), _ROW_CHUNK)), strict=True)])
    return {"nll": -lp[idx, targets], "ref_nll": -ref[idx, targets], "kld": kld,
            "top1": (lp.argmax(axis=-1) == ref.argmax(axis=-1)).astype(np.float64)}


def perplexity(model, *, provider: prov.Provider = prov.reference, tokens: int = DEFAULT_TOKENS,
               n_windows: int = DEFAULT_WINDOWS, score: str = "half", text: str | None = None,
               kv_format: str | None = None, sort_k_channels: bool | str = False, kv_keys_only: bool = False,
               query_format: str | None = None) -> dict[str, Any]:
    """Perplexity of a decoder through ``provider`` and its paired metrics against the float64 reference.

    KV-cache settings as :meth:`workloads.llama.LlamaModel.new_cache`; ``k_channels_sorted`` in the result
    is true only when sorting was asked for and changes the stored blocks (a block shorter than the head).

    Keys: ``perplexity``, ``mean_nll``, ``tokens_scored``, ``kld``, ``top1_agreement``, ``delta_nll``
    (each paired metric with a ``_ci95`` pair), ``per_window`` (per-window mean NLLs), ``per_token_nll``
    (one list per window), the reference's ``reference_perplexity`` / ``reference_per_window``, and
    the protocol's settings.
    """
    ids, desc = token_ids(model.tokenizer, text)
    wins = consecutive_windows(ids, tokens, n_windows)
    rows = scored_positions(tokens, score)
    per: dict[str, list[np.ndarray]] = {"nll": [], "ref_nll": [], "kld": [], "top1": []}
    keys = []
    for w, win in enumerate(wins):
        logits, _ = scored_logits(model, win, rows, provider, kv_format=kv_format, sort_k_channels=sort_k_channels,
                                  kv_keys_only=kv_keys_only, query_format=query_format)
        ref = reference_window(model, win, rows)
        keys.append(ref.key)
        m = _window_metrics(model, log_softmax(logits), ref.hidden, win[rows + 1])
        for k, v in m.items():
            per[k].append(v)
        log.info("window %d/%d: mean NLL %.4f (reference %.4f), KLD %.5f", w + 1, n_windows, m["nll"].mean(),
                 m["ref_nll"].mean(), m["kld"].mean())
    sorted_k = bool(sort_k_channels) and sorting_changes_blocks(kv_format, model.config.head_dim)
    return summarize(per, tokens=tokens, windows=n_windows, score=score, text=desc, kv_format=kv_format,
                     sort_k_channels=sort_k_channels, k_channels_sorted=sorted_k, kv_keys_only=kv_keys_only,
                     query_format=query_format, reference_cache=run_key(keys))


def summarize(per: dict[str, list[np.ndarray]], **settings: Any) -> dict[str, Any]:
    """The result dictionary from per-window, per-token arrays ``nll``, ``ref_nll``, ``kld``, ``top1``."""
    nll = stats.window_mean(per["nll"])
    kld = stats.window_mean(per["kld"])
    top1 = stats.window_mean(per["top1"])
    delta = stats.paired_difference(per["ref_nll"], per["nll"])
    ref = stats.window_mean(per["ref_nll"])
    return {"perplexity": math.exp(nll.value), "perplexity_ci95": [math.exp(nll.low), math.exp(nll.high)],
            "mean_nll": nll.value, "tokens_scored": int(sum(a.size for a in per["nll"])),
            "kld": kld.value, "kld_ci95": kld.ci, "top1_agreement": top1.value, "top1_agreement_ci95": top1.ci,
            "delta_nll": delta.value, "delta_nll_ci95": delta.ci,
            "per_window": [float(a.mean()) for a in per["nll"]],
            "per_window_kld": [float(a.mean()) for a in per["kld"]],
            "per_window_top1_agreement": [float(a.mean()) for a in per["top1"]],
            "reference_perplexity": math.exp(ref.value), "reference_perplexity_ci95": [math.exp(ref.low),
                                                                                       math.exp(ref.high)],
            "reference_mean_nll": ref.value,
            "reference_per_window": [float(a.mean()) for a in per["ref_nll"]],
            "per_token_nll": [a.tolist() for a in per["nll"]],
            "kl_method": KL_METHOD, "ci_method": CI_METHOD, **settings}


def embedding_similarity(model, *, provider: prov.Provider, n_sentences: int = DEFAULT_SENTENCES,
                         text: str | None = None) -> dict[str, Any]:
    """Cosine similarity of an encoder's sentence embeddings through ``provider`` to the float64 reference's.

    Each of the first ``n_sentences`` sentences of the text (:func:`workloads.text.sentences`) is
    embedded alone ([CLS] sentence [SEP], truncated to the model's positions); the interval is a
    bootstrap over sentences.
    """
    body, desc = load_text(text)
    limit = model.config.max_positions - 2
    cos = []
    for s in sentences(body, n_sentences):
        ids = model.encode(s)
        if ids.size > limit + 2:
            ids = np.concatenate([ids[:limit + 1], ids[-1:]])
        ref = model.reference_embedding(ids)
        got = model.embed(ids, provider=provider)
        cos.append(float(np.dot(ref, got) / (np.linalg.norm(ref) * np.linalg.norm(got))))
    est = stats.window_mean([[c] for c in cos])
    return {"cosine_similarity": est.value, "cosine_similarity_ci95": est.ci, "min_cosine_similarity": min(cos),
            "per_sentence": cos, "sentences": n_sentences, "text": desc,
            "ci_method": CI_METHOD.replace("windows", "sentences")}


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Paired difference of two saved results on the same tokens or sentences.

    Decoders: mean NLL of ``b`` minus ``a`` per scored token and the perplexity ratio (bootstrap over
    windows).  Encoders: mean cosine similarity to the reference of ``b`` minus ``a`` per sentence
    (bootstrap over sentences).  ``resolved``: the interval excludes 0.
    """
    if "per_sentence" in a or "per_sentence" in b:
        return _compare_sentences(a, b)
    keys = ("tokens", "windows", "score", "reference_cache")
    diff = {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}
    if diff:
        raise WorkloadError(f"results must cover the same tokens to be paired; they differ in {diff!r}")
    try:
        xa = [np.asarray(v, dtype=np.float64) for v in a["per_token_nll"]]
        xb = [np.asarray(v, dtype=np.float64) for v in b["per_token_nll"]]
    except KeyError:
        raise WorkloadError("both results need 'per_token_nll' (saved by `accel workloads accuracy --json`)"
                            ) from None
    d = stats.paired_difference(xa, xb)
    return {"delta_nll": d.value, "delta_nll_ci95": d.ci, "perplexity_ratio": math.exp(d.value),
            "perplexity_ratio_ci95": [math.exp(d.low), math.exp(d.high)],
            "perplexity": [a["perplexity"], b["perplexity"]], "tokens_scored": int(sum(x.size for x in xa)),
            "resolved": bool(d.low > 0 or d.high < 0), "ci_method": CI_METHOD}


def _compare_sentences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    keys = ("sentences", "text")
    diff = {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}
    if diff:
        raise WorkloadError(f"results must cover the same sentences to be paired; they differ in {diff!r}")
    try:
        xa, xb = (np.asarray(r["per_sentence"], dtype=np.float64) for r in (a, b))
    except KeyError:
        raise WorkloadError("both results need 'per_sentence' (saved by `accel workloads accuracy MODEL --json` "
                            "for an encoder)") from None
    d = stats.paired_difference([[x] for x in xa], [[y] for y in xb])
    return {"delta_cosine_similarity": d.value, "delta_cosine_similarity_ci95": d.ci,
            "cosine_similarity": [a["cosine_similarity"], b["cosine_similarity"]], "sentences": int(xa.size),
            "resolved": bool(d.low > 0 or d.high < 0), "ci_method": CI_METHOD.replace("windows", "sentences")}
