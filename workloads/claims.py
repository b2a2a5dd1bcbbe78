"""The accuracy side of the paper claims: each claim's arithmetic configurations and the pairs it compares.

Every configuration runs under the accuracy protocol (:mod:`workloads.accuracy`: decoders over consecutive
windows, paired with the float64 reference on the same tokens; encoders by cosine similarity over
sentences); every pair is a paired difference on the same tokens or sentences (:func:`accuracy.compare`).

- ``lmul-attention`` (Addition is All You Need): L-Mul on e4m3 operands in Q.K^T and P.V only, weight
  products exact; its exact-e4m3 peer in the same place.  Pair: exact e4m3 -> L-Mul.
- ``bfp-kv`` (Accurate Block Quantization in LLMs with Outliers): keys in BFP12 or BFP16, values as
  computed, queries in BFP16 of the keys' block, blocks 16/32/64, key channels unsorted or sorted by W_k
  row norm where sorting can change a block.  Pairs per block: BFP16 keys (channels in their natural
  order) -> BFP12 keys unsorted and sorted, and unsorted -> sorted.
- ``zeroquant-fp`` (ZeroQuant-FP): group-wise FP4 (e2m1, g32, fp16 scales) vs INT4 (g32) weights, float64
  arithmetic otherwise; MiniLM from its FP32 weights, SmolLM2 from its stored Q4_1 / Q8_0 values (the
  least-quantized weights it ships).  Pair: INT4 -> FP4.
- ``minifloat-int`` (Shedding the Bits): :func:`accel.pe.grids.element_format_pes`, every configuration
  against the reference (the claim's fronts are built from these and the cost model).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from accel.errors import WorkloadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """One arithmetic configuration of a model: a PE (or weight-only scheme, or neither) and KV-cache settings."""

    label: str
    model: str
    pe: str | None = None
    attention: str = "reference"
    weights: str | None = None  # weight-only quantization scheme (float64 arithmetic otherwise)
    kv_format: str | None = None
    kv_keys_only: bool = False
    query_format: str | None = None
    kv_sort_k_channels: bool = False

    def provider(self):
        from workloads import providers as prov

        if self.weights is not None:
            return prov.WeightOnly(self.weights)
        if self.pe is not None:
            from accel import pe

            return prov.PEProvider(pe.parse(self.pe), attention=self.attention)
        return prov.reference

    def run(self, *, tokens: int, windows: int, sentences: int, score: str = "half") -> dict[str, Any]:
        """The accuracy result of this configuration (``accel workloads accuracy --json``'s keys) plus
        ``config``, ``seconds`` (wall clock) and ``cpu_seconds`` (this process)."""
        from workloads import accuracy
        from workloads.models import load_model, real_model_kind

        model = load_model(self.model)
        provider = self.provider()
        t0, c0 = time.perf_counter(), time.process_time()
        if real_model_kind(self.model) == "encoder":
            res = accuracy.embedding_similarity(model, provider=provider, n_sentences=sentences)
        else:
            res = accuracy.perplexity(model, provider=provider, tokens=tokens, n_windows=windows, score=score,
                                      kv_format=self.kv_format, sort_k_channels=self.kv_sort_k_channels,
                                      kv_keys_only=self.kv_keys_only, query_format=self.query_format)
        res["seconds"], res["cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
        if hasattr(provider, "settings"):
            res.update(provider.settings())
        res["config"] = asdict(self)
        return res


@dataclass(frozen=True)
class Pair:
    """A paired comparison ``b - a`` of two configurations (labels) on the same tokens or sentences."""

    a: str
    b: str
    question: str


def _lmul_attention() -> tuple[list[Config], list[Pair]]:
    configs, pairs = [], []
    for model in ("smollm2-135m", "minilm-l6"):
        exact = Config(f"{model}/e4m3-attention", model, "minifloat_mac", attention="pe_only")
        lmul = Config(f"{model}/lmul-attention", model, "lmul", attention="pe_only")
        configs += [exact, lmul]
        pairs.append(Pair(exact.label, lmul.label, "L-Mul vs exact e4m3 multiplies, attention only"))
    configs.append(Config("smollm2-135m/lmul-adder-attention", "smollm2-135m", "lmul:realisation=adder",
                          attention="pe_only"))
    return configs, pairs


def _bfp_kv() -> tuple[list[Config], list[Pair]]:
    from workloads.kvcache import sorting_changes_blocks
    from workloads.shapes import MODELS

    model = "smollm2-135m"
    head_dim = MODELS[model].head_dim

    def keys(bits: int, block: int, s: bool = False) -> Config:
        return Config(f"{model}/k-bfp{bits}-b{block}{'-sorted' if s else ''}", model, kv_format=f"bfp{bits}_b{block}",
                      kv_keys_only=True, query_format=f"bfp16_b{block}", kv_sort_k_channels=s)

    configs, pairs = [], []
    for block in (16, 32, 64):  # BFP12 first: the claim's subject; the BFP16 baselines after
        configs.append(keys(12, block))
        pairs.append(Pair(keys(16, block).label, keys(12, block).label, f"BFP12 vs BFP16 keys, block {block}"))
        if sorting_changes_blocks(f"bfp12_b{block}", head_dim):
            configs.append(keys(12, block, True))
            pairs.append(Pair(keys(16, block).label, keys(12, block, True).label,
                              f"BFP12 keys with channels sorted vs BFP16 keys, block {block}"))
            pairs.append(Pair(keys(12, block).label, keys(12, block, True).label,
                              f"sorted vs unsorted key channels, BFP12 block {block}"))
    configs += [keys(16, block) for block in (16, 32, 64)]
    return configs, pairs


def _zeroquant_fp() -> tuple[list[Config], list[Pair]]:
    configs, pairs = [], []
    for model in ("minilm-l6", "smollm2-135m"):
        int4 = Config(f"{model}/int4-g32", model, weights="int4_g32")
        fp4 = Config(f"{model}/fp4-e2m1-g32", model, weights="e2m1_g32")
        configs += [int4, fp4]
        pairs.append(Pair(int4.label, fp4.label, "FP4 (e2m1) vs INT4 weights, groups of 32"))
    return configs, pairs


def _minifloat_int() -> tuple[list[Config], list[Pair]]:
    from accel import pe
    from accel.pe.grids import element_format_pes

    specs = [s for group in element_format_pes().values() for s in group]
    configs = [Config(f"{model}/{pe.parse(s).weight_format}", model, s)
               for model in ("minilm-l6", "smollm2-135m") for s in specs]
    return configs, []


#: claim name -> (configurations, pairs) builder
CLAIMS = {"lmul-attention": _lmul_attention, "bfp-kv": _bfp_kv, "zeroquant-fp": _zeroquant_fp,
          "minifloat-int": _minifloat_int}


def claim(name: str) -> tuple[list[Config], list[Pair]]:
    """The configurations and pairs of claim ``name``."""
    try:
        return CLAIMS[name]()
    except KeyError:
        raise WorkloadError(f"unknown claim {name!r}; valid claims: {', '.join(CLAIMS)}") from None


def summary(res: dict[str, Any]) -> dict[str, Any]:
    """The figures of one result a claims table needs (decoder or encoder)."""
    keys = ("perplexity", "reference_perplexity", "delta_nll", "delta_nll_ci95", "kld", "kld_ci95",
            "top1_agreement", "top1_agreement_ci95", "tokens_scored", "cosine_similarity", "cosine_similarity_ci95",
            "sentences", "k_channels_sorted", "seconds", "cpu_seconds", "config")
    return {k: res[k] for k in keys if k in res}


def run(name: str, out: str | Path, *, tokens: int, windows: int, sentences: int, score: str = "half",
        models=None) -> dict[str, Any]:
    """Run claim ``name``'s configurations (those of ``models`` if given) into ``out/<label>.json`` (existing files
    are reused: a run resumes), then its pairs.  Returns ``{"configs": {label: summary}, "pairs": [...]}``."""
    configs, pairs = claim(name)
    if models is not None:
        configs = [c for c in configs if c.model in models]
    out = Path(out)
    results: dict[str, dict[str, Any]] = {}
    for c in configs:
        path = out / f"{c.label}.json"
        if path.is_file():
            results[c.label] = json.loads(path.read_text(encoding="utf-8"))
            continue
        log.info("%s: %s", name, c.label)
        res = c.run(tokens=tokens, windows=windows, sentences=sentences, score=score)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(res), encoding="utf-8")
        tmp.replace(path)
        results[c.label] = res
    from workloads.accuracy import compare

    done = []
    for p in pairs:
        if p.a in results and p.b in results:
            d = compare(results[p.a], results[p.b])
            done.append({"a": p.a, "b": p.b, "question": p.question,
                         **{k: v for k, v in d.items() if k not in ("ci_method",)}})
    return {"claim": name, "configs": {k: summary(v) for k, v in results.items()}, "pairs": done}
