"""LLaMA-architecture decoder (SmolLM2-135M) from a GGUF file, with a numpy forward pass.

Facts used (REFERENCE.md §8): GGUF lists shapes reversed (``[K, N]`` for a weight applied as
``x @ W``, stored as N rows of K); llama.cpp permutes Q/K rows so that RoPE rotates adjacent pairs
(2i, 2i+1); RMSNorm; grouped-query attention; SwiGLU; output tied to ``token_embd`` when the file has
no ``output.weight``.  Every matrix product goes through a matmul provider (:mod:`workloads.providers`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import WorkloadError
from workloads import providers as prov
from workloads.kvcache import KVCache
from workloads.weights import GGMLWeight

log = logging.getLogger(__name__)

LOGITS_MODES = ("all", "last")
K_ORDER_MODES = ("weights", "calibration")


@dataclass(frozen=True)
class LlamaConfig:
    """Hyper-parameters of a LLaMA-architecture decoder."""

    n_layers: int
    hidden: int
    ffn: int
    n_heads: int
    n_kv_heads: int
    vocab: int
    rope_base: float = 10000.0
    rms_eps: float = 1e-5
    context_length: int = 2048

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    def problems(self) -> list[str]:
        p = []
        for f in ("n_layers", "hidden", "ffn", "n_heads", "n_kv_heads", "vocab"):
            v = getattr(self, f)
            if not (isinstance(v, int) and v > 0):
                p.append(f"{f} must be a positive integer, got {v!r}")
        if not p and (self.hidden % self.n_heads or self.n_heads % self.n_kv_heads or self.head_dim % 2):
            p.append(f"hidden {self.hidden!r} must split into n_heads {self.n_heads!r} of even size, and "
                     f"n_heads into n_kv_heads {self.n_kv_heads!r} groups")
        return p

    def __post_init__(self) -> None:
        if self.problems():
            raise WorkloadError("invalid LLaMA config: " + "; ".join(self.problems()))


def _field(reader, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise WorkloadError(f"GGUF file lacks metadata key {key!r}")
        return default
    return f.contents()


def config_from_gguf(reader) -> LlamaConfig:
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise WorkloadError(f"expected a GGUF file of architecture 'llama', got {arch!r}")
    n_heads = int(_field(reader, "llama.attention.head_count"))
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    return LlamaConfig(
        n_layers=int(_field(reader, "llama.block_count")),
        hidden=int(_field(reader, "llama.embedding_length")),
        ffn=int(_field(reader, "llama.feed_forward_length")),
        n_heads=n_heads,
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv", n_heads)),
        vocab=int(_field(reader, "llama.vocab_size", len(tokens.data) if tokens is not None else None)),
        rope_base=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        rms_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        context_length=int(_field(reader, "llama.context_length", 2048)),
    )


def _layer_tensors(c: LlamaConfig, i: int) -> dict[str, tuple[int, ...]]:
    """Expected logical shapes ([K, N] as GGUF lists them) of block ``i``'s tensors."""
    kv = c.n_kv_heads * c.head_dim
    return {f"blk.{i}.attn_norm.weight": (c.hidden,), f"blk.{i}.ffn_norm.weight": (c.hidden,),
            f"blk.{i}.attn_q.weight": (c.hidden, c.hidden), f"blk.{i}.attn_k.weight": (c.hidden, kv),
            f"blk.{i}.attn_v.weight": (c.hidden, kv), f"blk.{i}.attn_output.weight": (c.hidden, c.hidden),
            f"blk.{i}.ffn_gate.weight": (c.hidden, c.ffn), f"blk.{i}.ffn_up.weight": (c.hidden, c.ffn),
            f"blk.{i}.ffn_down.weight": (c.ffn, c.hidden)}


class LlamaModel:
    """A LLaMA decoder: config, weight handles, tokenizer; ``forward`` runs prefill or decode steps."""

    def __init__(self, config: LlamaConfig, weights: dict[str, Any], tokenizer=None, *, bos_id: int | None = None,
                 name: str = "llama", source: str | None = None):
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.bos_id = bos_id
        self.name = name
        self.source = source
        self.verified_files: dict[str, str] = {}  # {file: sha256} checked on load (workloads.models.load_model)
        hd = config.head_dim
        self.inv_freq = config.rope_base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
        self._k_orders: dict[str, np.ndarray] = {}

    @classmethod
    def from_gguf(cls, path: str | Path, name: str | None = None) -> LlamaModel:
        """Load a GGUF file; corrupt or truncated files, other architectures and missing tensors raise."""
        import gguf

        path = Path(path)
        if not path.is_file():
            raise WorkloadError(f"GGUF file {str(path)!r} does not exist")
        try:
            reader = gguf.GGUFReader(path)
        except Exception as exc:  # gguf raises ValueError/IndexError/struct errors on bad files
            raise WorkloadError(f"cannot read GGUF file {str(path)!r} (corrupt or truncated?): "
                                f"{type(exc).__name__}: {exc}") from None
        config = config_from_gguf(reader)
        tensors = {t.name: t for t in reader.tensors}
        want: dict[str, tuple[int, ...]] = {"token_embd.weight": (config.hidden, config.vocab),
                                            "output_norm.weight": (config.hidden,)}
        for i in range(config.n_layers):
            want.update(_layer_tensors(config, i))
        if "output.weight" in tensors:
            want["output.weight"] = (config.hidden, config.vocab)
        missing = [n for n in want if n not in tensors]
        if missing:
            raise WorkloadError(f"GGUF file {str(path)!r} lacks tensors {missing[:5]!r}"
                                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        weights: dict[str, Any] = {}
        for n, shape in want.items():
            t = tensors[n]
            got = tuple(int(s) for s in t.shape)
            if got != shape:
                raise WorkloadError(f"tensor {n!r} has shape {got!r}; expected {shape!r} for this config")
            if len(shape) == 1:
                weights[n] = np.asarray(t.data, dtype=np.float64).reshape(shape)
            else:
                weights[n] = GGMLWeight(n, t.data, t.tensor_type.name, k=shape[0])
        if "output.weight" not in weights:
            weights["output.weight"] = weights["token_embd.weight"]
        tokenizer, bos = _gguf_tokenizer(reader)
        log.info("loaded %s: %s", path.name, config)
        return cls(config, weights, tokenizer, bos_id=bos, name=name or path.stem, source=str(path))

    # ------------------------------------------------------------------ tokens
    def encode(self, text: str, bos: bool = True) -> np.ndarray:
        if self.tokenizer is None:
            raise WorkloadError(f"model {self.name!r} has no tokenizer")
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if bos and self.bos_id is not None:
            ids = [self.bos_id] + ids
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    # ------------------------------------------------------------------ forward
    def new_cache(self, kv_format: str | None = None, sort_k_channels: bool | str = False, *,
                  keys_only: bool = False, query_format: str | None = None) -> KVCache:
        """An empty KV cache; ``kv_format`` stores K and V quantized (``keys_only``: K only); ``sort_k_channels``
        (True or "weights", or "calibration") quantizes keys (and queries in ``query_format``) in the channel
        order of :meth:`k_channel_order`."""
        c = self.config
        order = None
        if sort_k_channels:
            order = self.k_channel_order("weights" if sort_k_channels is True else sort_k_channels)
        return KVCache(c.n_layers, c.n_kv_heads, c.head_dim, kv_format=kv_format, k_order=order,
                       keys_only=keys_only, query_format=query_format)

    def k_channel_order(self, by: str = "weights", calibration_ids=None) -> np.ndarray:
        """Compile-time K-channel sorting: per layer and KV head, RoPE pairs (2i, 2i+1) ordered largest
        first, each pair kept together.  ``by="weights"``: norm of the pair's W_k rows (no data);
        ``by="calibration"``: RMS of the pair's post-RoPE keys over ``calibration_ids`` (default: the Zen
        of Python, a bundled text disjoint from the evaluation corpus).  Shape (layers, kv_heads, head_dim)."""
        c = self.config
        hd = c.head_dim
        if by not in K_ORDER_MODES:
            raise WorkloadError(f"K-channel sorting must be one of {', '.join(K_ORDER_MODES)}, got {by!r}")
        if by == "calibration":
            key = "calibration" if calibration_ids is None else None
            if key and key in self._k_orders:
                return self._k_orders[key]
            if calibration_ids is None:
                from workloads.text import calibration_text

                calibration_ids = self.encode(calibration_text())
            cache = self.new_cache()
            self.forward(calibration_ids, cache=cache, logits="last")
            mag = np.stack([np.sqrt((cache.layer(i)[0] ** 2).mean(axis=0)) for i in range(c.n_layers)])  # (L,KVH,hd)
        else:
            mag = np.stack([np.sqrt((self.weights[f"blk.{i}.attn_k.weight"].float64() ** 2).sum(axis=0))
                            .reshape(c.n_kv_heads, hd) for i in range(c.n_layers)])
        pair = np.sqrt((mag.reshape(c.n_layers, c.n_kv_heads, hd // 2, 2) ** 2).sum(axis=-1))
        pairs = np.argsort(-pair, axis=-1, kind="stable")
        order = np.stack([2 * pairs, 2 * pairs + 1], axis=-1).reshape(c.n_layers, c.n_kv_heads, hd)
        if by == "calibration" and key:
            self._k_orders[key] = order
        return order

    def forward(self, ids, *, cache: KVCache | None = None, provider: prov.Provider = prov.reference,
                logits: str = "all", dtype=np.float64) -> np.ndarray:
        """Run tokens ``ids`` after what ``cache`` holds (prefill when empty, a decode step for one token).

        Returns logits (T, vocab) (``logits="last"``: (1, vocab)).  ``cache`` is extended in place.
        """
        if logits not in LOGITS_MODES:
            raise WorkloadError(f"logits must be one of {', '.join(LOGITS_MODES)}, got {logits!r}")
        c = self.config
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size == 0 or ids.min() < 0 or ids.max() >= c.vocab:
            raise WorkloadError(f"token ids must be a non-empty sequence in 0..{c.vocab - 1}, got {ids[:8]!r}")
        cache = cache if cache is not None else self.new_cache()
        p0 = cache.length
        T = ids.size
        pos = np.arange(p0, p0 + T, dtype=np.float64)
        ang = pos[:, None] * self.inv_freq[None, :]
        cos, sin = np.cos(ang).astype(dtype), np.sin(ang).astype(dtype)
        w = self.weights
        x = w["token_embd.weight"].rows(ids).astype(dtype)
        H, KVH, hd = c.n_heads, c.n_kv_heads, c.head_dim
        group = H // KVH
        scale = dtype(1.0 / np.sqrt(hd))
        mask = (np.arange(p0 + T)[None, :] > (p0 + np.arange(T))[:, None])  # True where masked (future)
        for i in range(c.n_layers):
            b = f"blk.{i}."
            h = _rmsnorm(x, w[b + "attn_norm.weight"], c.rms_eps, dtype)
            q = provider(h, w[b + "attn_q.weight"], name="attn_q", layer=i).astype(dtype, copy=False)
            k = provider(h, w[b + "attn_k.weight"], name="attn_k", layer=i).astype(dtype, copy=False)
            v = provider(h, w[b + "attn_v.weight"], name="attn_v", layer=i).astype(dtype, copy=False)
            q = cache.queries(i, _rope(q.reshape(T, H, hd), cos, sin))
            k = _rope(k.reshape(T, KVH, hd), cos, sin)
            keys, values = cache.append(i, k, v.reshape(T, KVH, hd))
            keys = keys.astype(dtype, copy=False)
            values = values.astype(dtype, copy=False)
            out = np.empty((T, H, hd), dtype=dtype)
            for hh in range(H):
                kv = hh // group
                s = provider(q[:, hh, :], keys[:, kv, :].T, name=f"attn_qk[h{hh}]", layer=i).astype(dtype) * scale
                s[mask] = -np.inf
                s -= s.max(axis=1, keepdims=True)
                p = np.exp(s)
                p /= p.sum(axis=1, keepdims=True)
                out[:, hh, :] = provider(p, values[:, kv, :], name=f"attn_pv[h{hh}]", layer=i)
            x = x + provider(out.reshape(T, H * hd), w[b + "attn_output.weight"], name="attn_output", layer=i)
            h = _rmsnorm(x, w[b + "ffn_norm.weight"], c.rms_eps, dtype)
            g = provider(h, w[b + "ffn_gate.weight"], name="ffn_gate", layer=i).astype(dtype, copy=False)
            u = provider(h, w[b + "ffn_up.weight"], name="ffn_up", layer=i).astype(dtype, copy=False)
            a = g / (1 + np.exp(-g)) * u
            x = x + provider(a, w[b + "ffn_down.weight"], name="ffn_down", layer=i)
        if logits == "last":
            x = x[-1:]
        h = _rmsnorm(x, w["output_norm.weight"], c.rms_eps, dtype)
        return provider(h, w["output.weight"], name="lm_head", layer=c.n_layers)


def _rmsnorm(x: np.ndarray, weight: np.ndarray, eps: float, dtype) -> np.ndarray:
    x = x.astype(dtype, copy=False)
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + dtype(eps)) * weight.astype(dtype, copy=False)


def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (2i, 2i+1) of the last axis by position angles (T, hd/2)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def _gguf_tokenizer(reader):
    """Byte-level BPE from the GGUF's tokens and merges; (tokenizer or None, BOS id or None)."""
    from workloads.vocab import byte_level_bpe

    if "tokenizer.ggml.tokens" not in reader.fields:
        return None, None
    model = _field(reader, "tokenizer.ggml.model", "gpt2")
    if model != "gpt2":
        raise WorkloadError(f"unsupported GGUF tokenizer model {model!r}; supported: 'gpt2' (byte-level BPE)")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    merges = _field(reader, "tokenizer.ggml.merges")
    types = reader.fields.get("tokenizer.ggml.token_type")
    tk = byte_level_bpe(tokens, merges, types.contents() if types is not None else None)
    add_bos = bool(_field(reader, "tokenizer.ggml.add_bos_token", False))
    bos = reader.fields.get("tokenizer.ggml.bos_token_id")
    return tk, (int(bos.contents()) if (bos is not None and add_bos) else None)
