"""BERT encoder (all-MiniLM-L6-v2) from safetensors, with a numpy forward and mean-pooled embeddings.

Post-LayerNorm BERT: embeddings (word + position + token type) -> LayerNorm; per layer self-attention
(biases, no mask for one unpadded sequence) -> residual -> LayerNorm -> GELU (erf) FFN -> residual ->
LayerNorm.  Sentence embedding: mean over tokens, then L2-normalised (the model's Normalize module).
Weights are stored (out, in) as in PyTorch; every product goes through a matmul provider.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import WorkloadError
from workloads import providers as prov
from workloads.weights import FloatWeight

log = logging.getLogger(__name__)

_erf = np.frompyfunc(math.erf, 1, 1)


@dataclass(frozen=True)
class BertConfig:
    n_layers: int
    hidden: int
    ffn: int
    n_heads: int
    vocab: int
    max_positions: int = 512
    type_vocab: int = 2
    ln_eps: float = 1e-12

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    def __post_init__(self) -> None:
        bad = [f"{f}={getattr(self, f)!r}" for f in ("n_layers", "hidden", "ffn", "n_heads", "vocab", "max_positions")
               if not (isinstance(getattr(self, f), int) and getattr(self, f) > 0)]
        if bad or self.hidden % self.n_heads:
            raise WorkloadError(f"invalid BERT config: positive integers needed and hidden divisible by n_heads; "
                                f"got {', '.join(bad) or f'hidden={self.hidden!r}, n_heads={self.n_heads!r}'}")

    @classmethod
    def from_hf(cls, cfg: dict[str, Any]) -> BertConfig:
        if cfg.get("model_type") != "bert":
            raise WorkloadError(f"expected a config.json with model_type 'bert', got {cfg.get('model_type')!r}")
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise WorkloadError(f"unsupported hidden_act {cfg.get('hidden_act')!r}; supported: 'gelu'")
        try:
            return cls(n_layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"], ffn=cfg["intermediate_size"],
                       n_heads=cfg["num_attention_heads"], vocab=cfg["vocab_size"],
                       max_positions=cfg.get("max_position_embeddings", 512),
                       type_vocab=cfg.get("type_vocab_size", 2), ln_eps=float(cfg.get("layer_norm_eps", 1e-12)))
        except KeyError as exc:
            raise WorkloadError(f"BERT config.json lacks key {exc.args[0]!r}") from None


def expected_tensors(c: BertConfig) -> dict[str, tuple[int, ...]]:
    h, f = c.hidden, c.ffn
    want = {"embeddings.word_embeddings.weight": (c.vocab, h),
            "embeddings.position_embeddings.weight": (c.max_positions, h),
            "embeddings.token_type_embeddings.weight": (c.type_vocab, h),
            "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    for i in range(c.n_layers):
        p = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            want[p + n + ".weight"], want[p + n + ".bias"] = (h, h), (h,)
        want[p + "intermediate.dense.weight"], want[p + "intermediate.dense.bias"] = (f, h), (f,)
        want[p + "output.dense.weight"], want[p + "output.dense.bias"] = (h, f), (h,)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            want[p + n + ".weight"], want[p + n + ".bias"] = (h,), (h,)
    return want


class BertModel:
    """A BERT encoder: ``embed(text)`` gives a normalised sentence embedding."""

    def __init__(self, config: BertConfig, tensors: dict[str, np.ndarray], tokenizer=None, name: str = "bert"):
        self.config = config
        self.tokenizer = tokenizer
        self.name = name
        self.verified_files: dict[str, str] = {}  # {file: sha256} checked on load (workloads.models.load_model)
        self.t = tensors
        self.weights = {n: FloatWeight(n, a) for n, a in tensors.items() if n.endswith(".weight") and a.ndim == 2
                        and n.startswith("encoder.")}
        self._reference: dict[bytes, np.ndarray] = {}

    @classmethod
    def from_dir(cls, path: str | Path, name: str | None = None) -> BertModel:
        """Load ``model.safetensors``, ``config.json`` and ``vocab.txt`` from a directory."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        from workloads.vocab import wordpiece

        d = Path(path)
        try:
            cfg = json.loads((d / "config.json").read_text())
        except FileNotFoundError:
            raise WorkloadError(f"BERT model directory {str(d)!r} has no config.json") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise WorkloadError(f"cannot read {str(d / 'config.json')!r}: {exc}") from None
        if not isinstance(cfg, dict):
            raise WorkloadError(f"{str(d / 'config.json')!r} must hold a JSON object, got {type(cfg).__name__}")
        config = BertConfig.from_hf(cfg)
        st = d / "model.safetensors"
        if not st.is_file():
            raise WorkloadError(f"BERT model directory {str(d)!r} has no model.safetensors")
        try:
            raw = load_file(st)
        except (SafetensorError, OSError, ValueError) as exc:
            raise WorkloadError(f"cannot read safetensors file {str(st)!r} (corrupt or truncated?): {exc}") from None
        raw = {k[5:] if k.startswith("bert.") else k: v for k, v in raw.items()}
        want = expected_tensors(config)
        missing = [n for n in want if n not in raw]
        if missing:
            raise WorkloadError(f"safetensors file {str(st)!r} lacks tensors {missing[:5]!r}"
                                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        for n, shape in want.items():
            if tuple(raw[n].shape) != shape:
                raise WorkloadError(f"tensor {n!r} has shape {tuple(raw[n].shape)!r}; expected {shape!r}")
        tok = wordpiece(d / "vocab.txt") if (d / "vocab.txt").is_file() else None
        return cls(config, {n: raw[n] for n in want}, tok, name=name or d.name)

    def encode(self, text: str) -> np.ndarray:
        if self.tokenizer is None:
            raise WorkloadError(f"model {self.name!r} has no tokenizer")
        return np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)

    def forward(self, ids, *, provider: prov.Provider = prov.reference, dtype=np.float64) -> np.ndarray:
        """Token states (T, hidden) after the last layer."""
        c, t = self.config, self.t
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        T = ids.size
        if T == 0 or T > c.max_positions or ids.min() < 0 or ids.max() >= c.vocab:
            raise WorkloadError(f"token ids must be 1..{c.max_positions} ids in 0..{c.vocab - 1}, "
                                f"got {T} ids {ids[:8]!r}")
        x = (t["embeddings.word_embeddings.weight"][ids].astype(dtype)
             + t["embeddings.position_embeddings.weight"][:T].astype(dtype)
             + t["embeddings.token_type_embeddings.weight"][0].astype(dtype))
        x = self._ln(x, "embeddings.LayerNorm", dtype)
        H, hd = c.n_heads, c.head_dim
        scale = dtype(1.0 / math.sqrt(hd))
        for i in range(c.n_layers):
            p = f"encoder.layer.{i}."

            def lin(a, n, op, _p=p, _i=i):
                y = provider(a, self.weights[_p + n + ".weight"], name=op, layer=_i).astype(dtype, copy=False)
                return y + t[_p + n + ".bias"].astype(dtype)

            q = lin(x, "attention.self.query", "attn_q").reshape(T, H, hd)
            k = lin(x, "attention.self.key", "attn_k").reshape(T, H, hd)
            v = lin(x, "attention.self.value", "attn_v").reshape(T, H, hd)
            ctx = np.empty((T, H, hd), dtype=dtype)
            for h in range(H):
                s = provider(q[:, h], k[:, h].T, name=f"attn_qk[h{h}]", layer=i).astype(dtype) * scale
                s -= s.max(axis=1, keepdims=True)
                pr = np.exp(s)
                pr /= pr.sum(axis=1, keepdims=True)
                ctx[:, h] = provider(pr, v[:, h], name=f"attn_pv[h{h}]", layer=i)
            x = self._ln(x + lin(ctx.reshape(T, H * hd), "attention.output.dense", "attn_output"),
                         p + "attention.output.LayerNorm", dtype)
            u = lin(x, "intermediate.dense", "ffn_up")
            u = (0.5 * u * (1.0 + _erf(u / math.sqrt(2.0)).astype(dtype))).astype(dtype)
            x = self._ln(x + lin(u, "output.dense", "ffn_down"), p + "output.LayerNorm", dtype)
        return x

    def embed(self, ids, *, provider: prov.Provider = prov.reference, dtype=np.float64) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence embedding (hidden,)."""
        e = self.forward(ids, provider=provider, dtype=dtype).mean(axis=0)
        return e / np.linalg.norm(e)

    def reference_embedding(self, ids) -> np.ndarray:
        """:meth:`embed` through the float64 reference, kept per token sequence (every design is compared with it)."""
        key = np.asarray(ids, dtype=np.int64).tobytes()
        if key not in self._reference:
            self._reference[key] = self.embed(ids, provider=prov.reference)
        return self._reference[key]

    def _ln(self, x: np.ndarray, n: str, dtype) -> np.ndarray:
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return ((x - mu) / np.sqrt(var + dtype(self.config.ln_eps)) * self.t[n + ".weight"].astype(dtype)
                + self.t[n + ".bias"].astype(dtype))
