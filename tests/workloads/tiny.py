"""Tiny models written by the tests: a LLaMA GGUF (Q4_1 weights, Q8_0 embedding) and a BERT safetensors dir.

The GGUF is built the way llama.cpp's converter builds one from Hugging Face weights: Q/K rows
permuted for adjacent-pair RoPE, shapes listed reversed by the writer.  ``hf`` keeps the unpermuted
(Hugging Face layout) float weights *as stored* (dequantized with gguf), for an independent forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ran", "and", "a", "big", "red", "hat"]


@dataclass
class TinyLlama:
    path: Path
    n_layers: int = 2
    hidden: int = 64
    ffn: int = 96
    n_heads: int = 4
    n_kv_heads: int = 2
    rope_base: float = 10000.0
    eps: float = 1e-5
    tokens: list[str] = field(default_factory=list)
    hf: dict[str, np.ndarray] = field(default_factory=dict)


def hf_to_gguf_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf's Q/K row permutation (rotate-half order -> adjacent pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def byte_vocab() -> tuple[list[str], list[str]]:
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = list(alphabet)
    merges = []
    for w in WORDS:  # merge every word left to right, then the word with its leading-space marker
        cur = w[0]
        for ch in w[1:] + " ":
            if ch == " ":
                ch, cur = cur, "Ġ"
            merges.append(f"{cur} {ch}")
            cur = cur + ch
            if cur not in vocab:
                vocab.append(cur)
    merges = list(dict.fromkeys(merges))
    return vocab, merges


def write_tiny_llama(path: Path, *, arch: str = "llama", drop: str | None = None, seed: int = 0,
                     ffn: int = 96, n_heads: int = 4, n_kv_heads: int = 2) -> TinyLlama:
    import gguf
    from gguf import GGMLQuantizationType as Q

    rng = np.random.default_rng(seed)
    spec = TinyLlama(path=path, ffn=ffn, n_heads=n_heads, n_kv_heads=n_kv_heads)
    tokens, merges = byte_vocab()
    tokens = tokens + ["<|endoftext|>"]
    spec.tokens = tokens
    V, h, f = len(tokens), spec.hidden, spec.ffn
    hd = h // spec.n_heads
    kv = spec.n_kv_heads * hd
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(spec.n_layers)
    w.add_context_length(256)
    w.add_embedding_length(h)
    w.add_feed_forward_length(f)
    w.add_head_count(spec.n_heads)
    w.add_head_count_kv(spec.n_kv_heads)
    w.add_rope_freq_base(spec.rope_base)
    w.add_layer_norm_rms_eps(spec.eps)
    w.add_rope_dimension_count(hd)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([1] * (V - 1) + [3])
    w.add_token_merges(merges)
    w.add_bos_token_id(V - 1)
    w.add_add_bos_token(False)

    def quant(name: str, hf_rows: np.ndarray, qtype, permute_heads: int | None = None) -> None:
        rows = hf_rows if permute_heads is None else hf_to_gguf_permute(hf_rows, permute_heads)
        data = gguf.quants.quantize(rows.astype(np.float32), qtype)
        stored = gguf.quants.dequantize(data, qtype).astype(np.float64)
        spec.hf[name] = stored if permute_heads is None else _unpermute(stored, permute_heads)
        if name != drop:
            w.add_tensor(name, data, raw_dtype=qtype)

    def f32(name: str, vec: np.ndarray) -> None:
        spec.hf[name] = vec.astype(np.float32).astype(np.float64)
        if name != drop:
            w.add_tensor(name, vec.astype(np.float32))

    quant("token_embd.weight", rng.normal(0, 1, (V, h)), Q.Q8_0)
    for i in range(spec.n_layers):
        b = f"blk.{i}."
        f32(b + "attn_norm.weight", 1 + 0.1 * rng.normal(size=h))
        quant(b + "attn_q.weight", rng.normal(0, h ** -0.5, (h, h)), Q.Q4_1, spec.n_heads)
        quant(b + "attn_k.weight", rng.normal(0, h ** -0.5, (kv, h)), Q.Q4_1, spec.n_kv_heads)
        quant(b + "attn_v.weight", rng.normal(0, h ** -0.5, (kv, h)), Q.Q4_1)
        quant(b + "attn_output.weight", rng.normal(0, h ** -0.5, (h, h)), Q.Q4_1)
        f32(b + "ffn_norm.weight", 1 + 0.1 * rng.normal(size=h))
        quant(b + "ffn_gate.weight", rng.normal(0, h ** -0.5, (f, h)), Q.Q4_1)
        quant(b + "ffn_up.weight", rng.normal(0, h ** -0.5, (f, h)), Q.Q4_1)
        quant(b + "ffn_down.weight", rng.normal(0, f ** -0.5, (h, f)), Q.Q4_1)
    f32("output_norm.weight", 1 + 0.1 * rng.normal(size=h))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return spec


def _unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_llama_forward(spec: TinyLlama, ids: list[int]) -> np.ndarray:
    """Hugging Face style forward (rotate-half RoPE on unpermuted weights), written independently.

    ``spec`` needs ``hf`` (weights by GGUF name, Hugging Face layout), ``hidden``, ``n_heads``,
    ``n_kv_heads``, ``n_layers``, ``eps`` and ``rope_base``: a :class:`TinyLlama` or :func:`hf_from_gguf`.
    """
    t = spec.hf
    h, H, KVH = spec.hidden, spec.n_heads, spec.n_kv_heads
    hd = h // H
    T = len(ids)
    x = t["token_embd.weight"][ids]

    def norm(v, g):
        return v / np.sqrt((v ** 2).mean(-1, keepdims=True) + spec.eps) * g

    inv = 1.0 / spec.rope_base ** (np.arange(0, hd, 2) / hd)
    emb = np.concatenate([np.outer(np.arange(T), inv)] * 2, axis=-1)  # (T, hd)
    cos, sin = np.cos(emb), np.sin(emb)

    def rot(v):  # v (T, heads, hd)
        half = np.concatenate([-v[..., hd // 2:], v[..., :hd // 2]], axis=-1)
        return v * cos[:, None, :] + half * sin[:, None, :]

    for i in range(spec.n_layers):
        b = f"blk.{i}."
        a = norm(x, t[b + "attn_norm.weight"])
        q = rot((a @ t[b + "attn_q.weight"].T).reshape(T, H, hd))
        k = rot((a @ t[b + "attn_k.weight"].T).reshape(T, KVH, hd))
        v = (a @ t[b + "attn_v.weight"].T).reshape(T, KVH, hd)
        kh = np.repeat(k, H // KVH, axis=1)  # (T, H, hd): query head hh reads KV head hh * KVH // H
        vh = np.repeat(v, H // KVH, axis=1)
        sc = np.einsum("phd,jhd->hpj", q, kh) / np.sqrt(hd)
        sc = np.where(np.tril(np.ones((T, T), dtype=bool)), sc, -np.inf)  # position p sees j <= p
        e = np.exp(sc - sc.max(axis=-1, keepdims=True))
        out = np.einsum("hpj,jhd->phd", e / e.sum(axis=-1, keepdims=True), vh)
        x = x + out.reshape(T, h) @ t[b + "attn_output.weight"].T
        a = norm(x, t[b + "ffn_norm.weight"])
        gt = a @ t[b + "ffn_gate.weight"].T
        x = x + (gt / (1 + np.exp(-gt)) * (a @ t[b + "ffn_up.weight"].T)) @ t[b + "ffn_down.weight"].T
    return norm(x, t["output_norm.weight"]) @ t["token_embd.weight"].T


BERT_CONFIG = {"model_type": "bert", "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 32,
               "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 0,
               "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12}


def write_tiny_bert(d: Path, *, seed: int = 0, drop: str | None = None, model_type: str = "bert") -> dict:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + WORDS + ["##s", "##ed", "##ing"]
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    cfg = dict(BERT_CONFIG, vocab_size=len(vocab), model_type=model_type)
    (d / "config.json").write_text(json.dumps(cfg))
    h, f, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    t = {"embeddings.word_embeddings.weight": rng.normal(0, 1, (len(vocab), h)),
         "embeddings.position_embeddings.weight": rng.normal(0, 0.1, (64, h)),
         "embeddings.token_type_embeddings.weight": rng.normal(0, 0.1, (2, h)),
         "embeddings.LayerNorm.weight": 1 + 0.1 * rng.normal(size=h), "embeddings.LayerNorm.bias": rng.normal(0, .1, h),
         "embeddings.position_ids": np.arange(64)[None]}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t[p + n + ".weight"], t[p + n + ".bias"] = rng.normal(0, h ** -0.5, (h, h)), rng.normal(0, .1, h)
        t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = rng.normal(0, h ** -.5, (f, h)), \
            rng.normal(0, .1, f)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = rng.normal(0, f ** -.5, (h, f)), rng.normal(0, .1, h)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + 0.1 * rng.normal(size=h), rng.normal(0, .1, h)
    t = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v.astype(np.int64)) for k, v in t.items() if k != drop}
    save_file(t, str(d / "model.safetensors"))
    return {"config": cfg, "tensors": t, "vocab": vocab, "dir": d}


def hf_bert_embed(tiny: dict, ids: list[int]) -> np.ndarray:
    """BERT forward + mean pooling + normalisation, written independently (einsum over all heads)."""
    t = {k: v.astype(np.float64) for k, v in tiny["tensors"].items()}
    c = tiny["config"]
    H, h = c["num_attention_heads"], c["hidden_size"]
    hd = h // H
    T = len(ids)

    def ln(v, n):
        mu = v.mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(v.var(-1, keepdims=True) + c["layer_norm_eps"]) * t[n + ".weight"] + t[n + ".bias"]

    def dense(v, n):
        return v @ t[n + ".weight"].T + t[n + ".bias"]

    from math import erf

    x = ln(t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:T]
           + t["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (dense(x, p + "attention.self." + n).reshape(T, H, hd) for n in ("query", "key", "value"))
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = np.einsum("hts,shd->thd", a, v).reshape(T, h)
        x = ln(x + dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        u = dense(x, p + "intermediate.dense")
        u = np.vectorize(lambda z: 0.5 * z * (1 + erf(z / 2 ** 0.5)))(u)
        x = ln(x + dense(u, p + "output.dense"), p + "output.LayerNorm")
    e = x.mean(0)
    return e / np.linalg.norm(e)


def hf_from_gguf(path: Path) -> TinyLlama:
    """A :class:`TinyLlama` for :func:`hf_llama_forward` from any LLaMA GGUF file (SmolLM2 included): every
    tensor dequantized by gguf, Q/K rows un-permuted back to the Hugging Face layout."""
    import gguf

    r = gguf.GGUFReader(str(path))

    def field(key):
        return r.fields[key].contents()

    spec = TinyLlama(path=Path(path), n_layers=int(field("llama.block_count")),
                     hidden=int(field("llama.embedding_length")), ffn=int(field("llama.feed_forward_length")),
                     n_heads=int(field("llama.attention.head_count")),
                     n_kv_heads=int(field("llama.attention.head_count_kv")),
                     rope_base=float(field("llama.rope.freq_base")),
                     eps=float(field("llama.attention.layer_norm_rms_epsilon")))
    for t in r.tensors:
        rows = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
        rows = rows.reshape(-1) if len(t.shape) == 1 else rows.reshape(int(t.shape[1]), int(t.shape[0]))
        if t.name.endswith("attn_q.weight"):
            rows = _unpermute(rows, spec.n_heads)
        elif t.name.endswith("attn_k.weight"):
            rows = _unpermute(rows, spec.n_kv_heads)
        spec.hf[t.name] = rows
    return spec
