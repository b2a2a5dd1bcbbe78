"""Real workloads by name: load from the cache, capture traces of real runs."""

from __future__ import annotations

import functools
import logging
from typing import Any

from accel.errors import WorkloadError
from workloads import fetch
from workloads import providers as prov
from workloads.capture import Recorder
from workloads.text import load_text, token_ids, windows
from workloads.trace import Trace

log = logging.getLogger(__name__)

REAL_MODELS = {"smollm2-135m": "decoder", "minilm-l6": "encoder"}


def real_model_kind(name: str) -> str:
    try:
        return REAL_MODELS[name]
    except KeyError:
        raise WorkloadError(f"unknown real model {name!r}; valid: {', '.join(REAL_MODELS)}") from None


@functools.lru_cache(maxsize=2)
def load_model(name: str):
    """The model ``name`` from the cache (LlamaModel or BertModel), loaded once per process.

    Its files are first checked against the SHA-256 pinned at fetch (:func:`workloads.fetch.verify`);
    the model's ``verified_files`` lists them (``{file: sha256}``).
    """
    kind = real_model_kind(name)
    verified = fetch.verify(name)
    if kind == "decoder":
        from workloads.llama import LlamaModel

        model = LlamaModel.from_gguf(fetch.model_path(name), name=name)
    else:
        from workloads.bert import BertModel

        model = BertModel.from_dir(fetch.model_dir(name), name=name)
    model.verified_files = verified
    return model


def eval_ids(model, tokens: int, text: str | None = None) -> Any:
    """The first ``tokens`` tokens of the evaluation text (the first of its fixed windows)."""
    ids, _ = token_ids(model.tokenizer, text)
    return windows(ids, tokens, 1)[0]


def real_trace(name: str, *, phase: str = "prefill", tokens: int = 32, decode_steps: int = 1,
               provider: prov.Provider = prov.reference, text: str | None = None, keep_tensors: bool = True,
               a_format: str = "fp64", w_format: str | None = None, model=None) -> Trace:
    """Capture the GEMMs of a real run of ``name`` on the first evaluation window of ``tokens`` tokens.

    Decoder: ``prefill`` records the prefill over the window (logits of the last position only, as
    inference does); ``decode`` prefills the window unrecorded, then records ``decode_steps`` decode
    steps (greedy).  Encoder: one forward pass over [CLS] window [SEP] (prefill only).
    """
    import numpy as np

    kind = real_model_kind(name)
    model = model or load_model(name)
    rec = Recorder(provider, a_format=a_format, w_format=w_format, keep_tensors=keep_tensors)
    from accel.provenance import provenance

    files = fetch.files_provenance(name, getattr(model, "verified_files", {}))
    meta: dict[str, Any] = {"shape_only": False, "phase": phase, "tokens": tokens, "batch": 1,
                            "text": load_text(text)[1], "model_wheel": fetch.source(name).requirement,
                            "model_files": files, **provenance()}
    if hasattr(provider, "settings"):
        meta["arithmetic"] = provider.settings()
    if kind == "encoder":
        if phase != "prefill":
            raise WorkloadError(f"{name!r} is an encoder: only phase 'prefill' applies, got {phase!r}")
        body = eval_ids(model, tokens, text)
        cls, sep = model.tokenizer.token_to_id("[CLS]"), model.tokenizer.token_to_id("[SEP]")
        ids = np.concatenate([[cls], body, [sep]])
        model.forward(ids, provider=rec)
        meta["tokens"] = int(ids.size)
        return rec.trace(name, **meta)
    ids = eval_ids(model, tokens, text)
    if phase == "prefill":
        model.forward(ids, provider=rec, logits="last")
    elif phase == "decode":
        if not (isinstance(decode_steps, int) and decode_steps >= 1):
            raise WorkloadError(f"decode_steps must be a positive integer, got {decode_steps!r}")
        cache = model.new_cache()
        logits = model.forward(ids, cache=cache, provider=provider, logits="last")
        rec.phase = "decode"
        for _ in range(decode_steps):
            nxt = int(np.argmax(logits[-1]))
            logits = model.forward([nxt], cache=cache, provider=rec)
        meta["decode_steps"] = decode_steps
    else:
        raise WorkloadError(f"phase must be one of prefill, decode, got {phase!r}")
    return rec.trace(name, **meta)


def weight_resolver(model, spec=None, *, mismatched: str = "requantize"):
    """``weight_ref -> operand`` for replaying a saved trace (``sim.simulate(..., weights=...)``).

    ``model``: a loaded model or a real model's name.  Without ``spec``: the exact stored values as a
    float64 (K, N) array; with an ``accel.pe`` spec: what :class:`workloads.providers.PEProvider` would
    hand to ``spec.gemm`` (stored GGML blocks as a QTensor when the formats match, else quantized with
    the spec's weight scheme).
    """
    if isinstance(model, str):
        model = load_model(model)
    pe_provider = prov.PEProvider(spec, mismatched=mismatched) if spec is not None else None

    def resolve(ref: str):
        try:
            w = model.weights[ref]
        except KeyError:
            raise WorkloadError(f"model {model.name!r} has no weight tensor {ref!r}") from None
        return w.float64() if pe_provider is None else pe_provider.operand(w)

    return resolve
