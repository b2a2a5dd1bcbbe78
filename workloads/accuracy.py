"""Accuracy of a forward pass computed through a matmul provider (a PE golden model or the reference).

Decoder (SmolLM2): perplexity over fixed token windows of the evaluation text (each window's first
token is context only; the others are predicted from their prefix).  Encoder (MiniLM): mean cosine
similarity of sentence embeddings to the float64 reference embeddings of the same windows.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from workloads import providers as prov
from workloads.text import token_ids, windows

log = logging.getLogger(__name__)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def window_nll(model, ids: np.ndarray, provider: prov.Provider = prov.reference, kv_format: str | None = None,
               sort_k_channels: bool | str = False) -> np.ndarray:
    """Negative log-likelihoods (natural log) of ids[1:] given their prefixes, one prefill pass."""
    ids = np.asarray(ids, dtype=np.int64)
    cache = model.new_cache(kv_format=kv_format, sort_k_channels=sort_k_channels)
    logits = np.asarray(model.forward(ids[:-1], cache=cache, provider=provider), dtype=np.float64)
    lp = log_softmax(logits)
    return -lp[np.arange(ids.size - 1), ids[1:]]


def perplexity(model, *, provider: prov.Provider = prov.reference, tokens: int = 64, n_windows: int = 2,
               text: str | None = None, kv_format: str | None = None, sort_k_channels: bool | str = False
               ) -> dict[str, Any]:
    """Perplexity of a decoder over ``n_windows`` fixed windows of ``tokens`` tokens."""
    ids, desc = token_ids(model.tokenizer, text)
    per_window = []
    nll_all = []
    for i, w in enumerate(windows(ids, tokens, n_windows)):
        nll = window_nll(model, w, provider, kv_format=kv_format, sort_k_channels=sort_k_channels)
        nll_all.append(nll)
        per_window.append(float(math.exp(nll.mean())))
        log.info("window %d/%d: perplexity %.4f", i + 1, n_windows, per_window[-1])
    mean_nll = float(np.concatenate(nll_all).mean())
    return {"perplexity": math.exp(mean_nll), "mean_nll": mean_nll, "per_window_perplexity": per_window,
            "tokens": tokens, "windows": n_windows, "predicted_tokens": int(sum(a.size for a in nll_all)),
            "text": desc, "kv_format": kv_format, "sort_k_channels": sort_k_channels}


def embedding_similarity(model, *, provider: prov.Provider, tokens: int = 64, n_windows: int = 4,
                         text: str | None = None) -> dict[str, Any]:
    """Mean cosine similarity of an encoder's embeddings through ``provider`` to the float64 reference."""
    tk = model.tokenizer
    ids, desc = token_ids(tk, text)
    cls, sep = tk.token_to_id("[CLS]"), tk.token_to_id("[SEP]")
    cos = []
    for w in windows(ids, tokens, n_windows):
        seq = np.concatenate([[cls], w, [sep]])
        ref = model.embed(seq, provider=prov.reference)
        got = model.embed(seq, provider=provider)
        cos.append(float(np.dot(ref, got) / (np.linalg.norm(ref) * np.linalg.norm(got))))
    return {"cosine_similarity": float(np.mean(cos)), "min_cosine_similarity": float(np.min(cos)),
            "per_window": cos, "tokens": tokens, "windows": n_windows, "text": desc}
