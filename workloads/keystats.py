"""How a decoder's keys spread over their channels: what decides whether a BFP K cache and channel sorting work.

A BFP block shares one exponent, set by its largest element; with 4-bit significands (BFP12) an element
2^3 times smaller than the block's largest keeps at most one bit.  Sorting key channels helps when a few
outlier channels sit in blocks with small ones.  When one RoPE pair (two channels rotated together) holds
most of a head's key energy, sorting only moves that pair; its block partners stay far smaller.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def post_rope_keys(model, ids) -> list[np.ndarray]:
    """Per layer, the float64 reference's post-RoPE keys over ``ids`` from an empty cache, (T, kv_heads, head_dim)."""
    cache = model.new_cache()
    model.forward(np.asarray(ids, dtype=np.int64), cache=cache, logits="last")
    return [np.array(cache.layer(i)[0]) for i in range(model.config.n_layers)]


def key_statistics(model, ids, kv_formats=("bfp12_b16", "bfp12_b32", "bfp12_b64")) -> dict[str, Any]:
    """Key-energy concentration per (layer, KV head) and relative K error per format, unsorted and sorted.

    ``top_pair_share``: share of the head's key energy (sum of squares over positions and channels) in its
    largest RoPE pair (median, min and max over heads); ``top_pair_over_median``: RMS of the largest pair over
    the median pair's.  ``relative_error[fmt]``: ||K_hat - K|| / ||K|| over every key, with channels in
    their natural order and sorted by W_k row norm (:meth:`LlamaModel.k_channel_order`).
    """
    from accel import quant

    keys = post_rope_keys(model, ids)
    hd = model.config.head_dim
    energy = np.stack([(k ** 2).sum(axis=0) for k in keys])  # (layers, kv_heads, hd)
    pairs = energy.reshape(*energy.shape[:2], hd // 2, 2).sum(axis=-1)
    share = pairs.max(axis=-1) / pairs.sum(axis=-1)
    over_median = np.sqrt(pairs.max(axis=-1) / np.median(pairs, axis=-1))
    order = model.k_channel_order("weights")
    errors: dict[str, dict[str, float]] = {}
    for fmt in kv_formats:
        out = {}
        for label, perm in (("unsorted", None), ("sorted", order)):
            num = den = 0.0
            for i, k in enumerate(keys):
                x = k if perm is None else np.take_along_axis(k, perm[i][None], axis=-1)
                q = quant.quantize(x.reshape(-1, hd), fmt, axis=-1).dequantize().reshape(x.shape)
                num += float(((q - x) ** 2).sum())
                den += float((x ** 2).sum())
            out[label] = float(np.sqrt(num / den))
        errors[fmt] = out
    return {"tokens": int(np.asarray(ids).size), "heads": int(share.size),
            "top_pair_share": {"median": float(np.median(share)), "min": float(share.min()),
                               "max": float(share.max())},
            "top_pair_over_median": {"median": float(np.median(over_median)), "min": float(over_median.min()),
                                     "max": float(over_median.max())},
            "relative_error": errors}
