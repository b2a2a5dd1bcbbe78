"""The float64 reference run of a decoder over the evaluation windows, computed once and cached on disk.

What is stored keeps KL divergence exact over the full vocabulary without storing the full
distribution (8 windows x 255 scored positions x 49152 tokens would be 400 MB in float32): the
reference's final hidden states (after the output norm, float64) at the scored positions, about
1.2 MB per window for SmolLM2.  The reference log-probabilities are recomputed from them through the
stored LM-head weights in float64 when a design streams against them, so KL(p_ref || p_design) sums
over every token of the vocabulary (no top-k truncation); its only error is float64 rounding.  The
per-token reference NLLs are stored too.

Files: ``$ACCEL_CACHE/reference/<key>.npz`` (no pickles), one per window, where ``key`` hashes the
model file's SHA-256, the window's token ids, the scored positions and :data:`VERSION`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.errors import WorkloadError
from workloads import providers as prov
from workloads.protocol import SCORE_MODES
from workloads.scoring import log_softmax, scored_logits

log = logging.getLogger(__name__)

VERSION = 1
KL_METHOD = ("exact over the full vocabulary: reference log-probabilities recomputed in float64 from the cached "
             "reference final hidden states through the stored LM-head weights")


def scored_positions(tokens: int, score: str) -> np.ndarray:
    """Positions whose logits are scored in a window of ``tokens`` tokens (each predicts the next token)."""
    if score not in SCORE_MODES:
        raise WorkloadError(f"score must be one of {', '.join(SCORE_MODES)}, got {score!r}")
    if not (isinstance(tokens, int) and tokens >= 4):
        raise WorkloadError(f"window length must be an integer >= 4 tokens, got {tokens!r}")
    return np.arange(tokens // 2 if score == "half" else 0, tokens - 1)


@dataclass(frozen=True)
class ReferenceWindow:
    """The reference's final hidden states (S, hidden) and per-token NLLs (S,) at one window's scored positions."""

    key: str
    hidden: np.ndarray
    nll: np.ndarray


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_identity(model) -> str:
    """SHA-256 of the model's file (its name when it has no file)."""
    src = getattr(model, "source", None)
    if not src:
        return f"name:{model.name}"
    st = os.stat(src)
    return _file_sha256(str(src), st.st_size, st.st_mtime_ns)


def cache_key(model, ids: np.ndarray, rows: np.ndarray) -> str:
    """Content hash of one window's reference: model file, token ids, scored positions, format version."""
    h = hashlib.sha256(f"reference-v{VERSION}:{model_identity(model)}".encode())
    h.update(np.ascontiguousarray(ids, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(rows, dtype="<i8").tobytes())
    return h.hexdigest()


def run_key(window_keys: list[str]) -> str:
    """One hash for a run's windows (results over the same tokens share it)."""
    return hashlib.sha256(":".join(window_keys).encode()).hexdigest()


@functools.cache
def blas_tag() -> str:
    """The BLAS library and kernel set numpy runs on (e.g. ``openblas-0.3.30-SkylakeX``).

    Reference files are kept per kernel set: float64 BLAS results move in the last ulp between kernels
    (AVX-512 vs SSE3), so a reference computed on another one would make the reference against itself
    differ from zero by rounding.
    """
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            parts = (lib.get("internal_api"), lib.get("version"), lib.get("architecture"))
            return "-".join(str(p) for p in parts if p) or "blas"
    return "no-blas"


def cache_path(key: str) -> Path:
    from workloads.fetch import cache_root

    return cache_root() / "reference" / f"{key}-{blas_tag()}.npz"


def _load(path: Path, key: str, size: int) -> ReferenceWindow | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            ref = ReferenceWindow(key, z["hidden"], z["nll"])
    except (OSError, ValueError, KeyError) as exc:
        log.warning("reference cache %s unreadable (%s); recomputing", path, exc)
        return None
    return ref if ref.nll.shape == (size,) else None


def reference_window(model, ids: np.ndarray, rows: np.ndarray) -> ReferenceWindow:
    """The cached reference of one window at the scored ``rows``; computed and stored on a miss.

    Processes sharing the cache (a sweep's workers) take a lock per window, so one computes it and the
    others read its file; a design computes its own window first, so workers rarely wait.
    """
    import fcntl

    key = cache_key(model, ids, rows)
    path = cache_path(key)
    ref = _load(path, key, rows.size)
    if ref is not None:
        return ref
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ref = _load(path, key, rows.size)
        if ref is not None:
            return ref
        logits, hidden = scored_logits(model, ids, rows, prov.reference)
        nll = -log_softmax(logits)[np.arange(rows.size), ids[rows + 1]]
        log.info("reference window: mean NLL %.4f", nll.mean())
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, hidden=hidden, nll=nll)
        os.replace(tmp, path)
    return ReferenceWindow(key, hidden, nll)
