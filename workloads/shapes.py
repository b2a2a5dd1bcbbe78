"""Shape-only traces of large transformers from their published configurations.

Every GEMM of one forward pass (prefill over ``tokens`` tokens, or one decode step after ``tokens``
tokens of context), with batch ``batch``; no tensors.  Attention products are per head; with
``fold_heads`` (default) they are one op per layer with ``count = batch * kv_heads``, the query heads
that share a KV head (grouped-query attention) stacked as the rows of one product over that head's K
and V, so each sequence's cache is read once per step.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.errors import WorkloadError
from workloads.trace import PHASES, GemmOp, Trace


@dataclass(frozen=True)
class ModelShape:
    """The dimensions that set a transformer's GEMM shapes, with where they were published."""

    name: str
    family: str  # "llama" (gated SwiGLU FFN, GQA), "opt" (ReLU FFN), "vit" (GELU FFN, patch embedding)
    n_layers: int
    hidden: int
    ffn: int
    n_heads: int
    n_kv_heads: int
    vocab: int = 0  # LM head width (LLMs); ViT: number of classes
    patch: int = 0
    image: int = 0
    source: str = ""

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    @property
    def vit_tokens(self) -> int:
        return (self.image // self.patch) ** 2 + 1  # patches + [CLS]


MODELS: dict[str, ModelShape] = {m.name: m for m in (
    ModelShape("llama2-7b", "llama", 32, 4096, 11008, 32, 32, 32000,
               source="Llama 2 paper (arXiv 2307.09288) / meta-llama/Llama-2-7b-hf config.json"),
    ModelShape("llama2-13b", "llama", 40, 5120, 13824, 40, 40, 32000,
               source="Llama 2 paper (arXiv 2307.09288) / meta-llama/Llama-2-13b-hf config.json"),
    ModelShape("llama2-70b", "llama", 80, 8192, 28672, 64, 8, 32000,
               source="Llama 2 paper (arXiv 2307.09288) / meta-llama/Llama-2-70b-hf config.json"),
    ModelShape("llama3-8b", "llama", 32, 4096, 14336, 32, 8, 128256,
               source="meta-llama/Meta-Llama-3-8B config.json"),
    ModelShape("opt-6.7b", "opt", 32, 4096, 16384, 32, 32, 50272,
               source="OPT paper (arXiv 2205.01068) Table 1 / facebook/opt-6.7b config.json"),
    ModelShape("vit-b16", "vit", 12, 768, 3072, 12, 12, 1000, patch=16, image=224,
               source="ViT paper (arXiv 2010.11929) Table 1, ViT-Base, patch 16, 224x224"),
    ModelShape("vit-h14", "vit", 32, 1280, 5120, 16, 16, 1000, patch=14, image=224,
               source="ViT paper (arXiv 2010.11929) Table 1, ViT-Huge, patch 14, 224x224"),
    ModelShape("smollm2-135m", "llama", 30, 576, 1536, 9, 3, 49152,
               source="SmolLM2-135M GGUF metadata (REFERENCE.md §8)"),
)}


def model_shape(name: str) -> ModelShape:
    try:
        return MODELS[name]
    except KeyError:
        raise WorkloadError(f"unknown shape-only model {name!r}; valid: {', '.join(MODELS)}") from None


def shape_trace(name: str | ModelShape, *, phase: str = "prefill", tokens: int | None = None, batch: int = 1,
                fold_heads: bool = True, logits: str = "last", a_format: str = "fp16",
                w_format: str = "fp16") -> Trace:
    """The GEMMs of one forward pass of ``name`` (see module doc).  ViTs take no ``tokens`` (fixed)."""
    s = name if isinstance(name, ModelShape) else model_shape(name)
    name = s.name
    if phase not in PHASES:
        raise WorkloadError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    if logits not in ("all", "last"):
        raise WorkloadError(f"logits must be 'all' or 'last', got {logits!r}")
    if not (isinstance(batch, int) and batch >= 1):
        raise WorkloadError(f"batch must be a positive integer, got {batch!r}")
    if s.family == "vit":
        if phase != "prefill":
            raise WorkloadError(f"{name!r} is an encoder: only phase 'prefill' applies, got {phase!r}")
        if tokens is not None and tokens != s.vit_tokens:
            raise WorkloadError(f"{name!r} has a fixed sequence of {s.vit_tokens} tokens "
                                f"({s.image}x{s.image} image, patch {s.patch}), got tokens={tokens!r}")
        tokens = s.vit_tokens
    if not (isinstance(tokens, int) and tokens >= 1):
        raise WorkloadError(f"tokens must be a positive integer, got {tokens!r}")
    T = tokens if phase == "prefill" else 1  # new tokens per sequence
    S = tokens if phase == "prefill" else tokens + 1  # keys attended to
    M = batch * T
    hd, kv = s.head_dim, s.n_kv_heads * s.head_dim
    ops: list[GemmOp] = []

    def add(layer, op, m, n, k, count=1, act_w=False):
        ops.append(GemmOp(layer, op, phase, m, n, k, a_format, a_format if act_w else w_format,
                          weight_ref=None if act_w else f"{layer}.{op}", count=count))

    if s.family == "vit":
        add(-1, "patch_embed", batch * (T - 1), s.hidden, 3 * s.patch * s.patch)
    for i in range(s.n_layers):
        add(i, "attn_q", M, s.hidden, s.hidden)
        add(i, "attn_k", M, kv, s.hidden)
        add(i, "attn_v", M, kv, s.hidden)
        if fold_heads:  # the query heads sharing a KV head (GQA) stack their rows over its one K and V
            g = s.n_heads // s.n_kv_heads
            add(i, "attn_qk", T * g, S, hd, count=batch * s.n_kv_heads, act_w=True)
            add(i, "attn_pv", T * g, hd, S, count=batch * s.n_kv_heads, act_w=True)
        else:
            for h in range(s.n_heads):
                add(i, f"attn_qk[h{h}]", T, S, hd, count=batch, act_w=True)
                add(i, f"attn_pv[h{h}]", T, hd, S, count=batch, act_w=True)
        add(i, "attn_output", M, s.hidden, s.hidden)
        if s.family == "llama":
            add(i, "ffn_gate", M, s.ffn, s.hidden)
        add(i, "ffn_up", M, s.ffn, s.hidden)
        add(i, "ffn_down", M, s.hidden, s.ffn)
    head = "head" if s.family == "vit" else "lm_head"
    add(s.n_layers, head, batch if (logits == "last" or s.family == "vit") else M, s.vocab, s.hidden)
    meta = {"shape_only": True, "phase": phase, "tokens": tokens, "batch": batch, "fold_heads": fold_heads,
            "logits": logits, "config": {k: v for k, v in s.__dict__.items()}, "source": s.source}
    return Trace(model=name, ops=ops, meta=meta)
