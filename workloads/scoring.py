"""The scored part of a decoder window: the LM head on the scored positions only, and log-probabilities.

Shared by the accuracy run (:mod:`workloads.accuracy`) and the reference cache (:mod:`workloads.refcache`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workloads import providers as prov


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class ScoredHead:
    """A provider that sends the LM head only the scored positions' hidden states and keeps them.

    The forward pass is unchanged up to the final norm; logits of unscored positions are never used,
    so the head (a 576 x 49152 product for SmolLM2) is not computed for them.
    """

    def __init__(self, provider: prov.Provider, rows: np.ndarray):
        self.provider = provider
        self.rows = rows
        self.hidden: np.ndarray | None = None

    def __call__(self, x: np.ndarray, weight: Any, *, name: str, layer: int) -> np.ndarray:
        if name != "lm_head":
            return self.provider(x, weight, name=name, layer=layer)
        self.hidden = np.array(x[self.rows], dtype=np.float64)
        return self.provider(self.hidden, weight, name=name, layer=layer)


def scored_logits(model, ids: np.ndarray, rows: np.ndarray, provider: prov.Provider = prov.reference, *,
                  kv_format: str | None = None, sort_k_channels: bool | str = False, kv_keys_only: bool = False,
                  query_format: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(logits, final hidden states) of the scored positions ``rows`` of one window, from an empty cache
    (:meth:`workloads.llama.LlamaModel.new_cache` takes the KV-cache settings)."""
    head = ScoredHead(provider, rows)
    cache = model.new_cache(kv_format=kv_format, sort_k_channels=sort_k_channels, keys_only=kv_keys_only,
                            query_format=query_format)
    logits = np.asarray(model.forward(np.asarray(ids, dtype=np.int64), cache=cache, provider=head),
                        dtype=np.float64)
    return logits, head.hidden
