"""The float64 reference run of a decoder over the evaluation windows, computed once and cached on disk.

What is stored keeps KL divergence exact over the full vocabulary without storing the full
distribution (8 windows x 255 scored positions x 49152 tokens would be 400 MB in float32): the
reference's final hidden states (after the output norm, float64) at the scored positions, about
1.2 MB per window for SmolLM2.  The reference log-probabilities are recomputed from them through the
stored LM-head weights in float64 when a design streams against them, so KL(p_ref || p_design) sums
over every token of the vocabulary (no top-k truncation); its only error is float64 rounding.  The
per-token reference NLLs are stored too.

Files: ``$ACCEL_CACHE/reference/<key>.npz`` (no pickles), where ``key`` hashes the model file's
SHA-256, the token ids of every window, the scored positions and :data:`VERSION`.
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

log = logging.getLogger(__name__)

VERSION = 1
SCORE_MODES = ("half", "all")
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
class ReferenceRun:
    """The reference's final hidden states (W, S, hidden) and per-token NLLs (W, S) at the scored positions."""

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


def cache_key(model, windows: list[np.ndarray], rows: np.ndarray) -> str:
    h = hashlib.sha256(f"reference-v{VERSION}:{model_identity(model)}".encode())
    h.update(np.ascontiguousarray(np.stack(windows), dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(rows, dtype="<i8").tobytes())
    return h.hexdigest()


def cache_path(key: str) -> Path:
    from workloads.fetch import cache_root

    return cache_root() / "reference" / f"{key}.npz"


def _load(path: Path, key: str, shape: tuple[int, int]) -> ReferenceRun | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            run = ReferenceRun(key, z["hidden"], z["nll"])
    except (OSError, ValueError, KeyError) as exc:
        log.warning("reference cache %s unreadable (%s); recomputing", path, exc)
        return None
    return run if run.nll.shape == shape else None


def reference_run(model, windows: list[np.ndarray], rows: np.ndarray) -> ReferenceRun:
    """The cached reference run for these windows and scored rows; computed and stored on a miss.

    Processes sharing the cache (the sweep's workers) take a lock per key, so one computes and the
    others read its file.
    """
    import fcntl

    from workloads.accuracy import log_softmax, scored_logits

    key = cache_key(model, windows, rows)
    path = cache_path(key)
    shape = (len(windows), rows.size)
    run = _load(path, key, shape)
    if run is not None:
        return run
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = _load(path, key, shape)
        if run is not None:
            return run
        hidden, nll = [], []
        for w, ids in enumerate(windows):
            logits, h = scored_logits(model, ids, rows, prov.reference)
            lp = log_softmax(logits)
            hidden.append(h)
            nll.append(-lp[np.arange(rows.size), ids[rows + 1]])
            log.info("reference window %d/%d: mean NLL %.4f", w + 1, len(windows), nll[-1].mean())
        run = ReferenceRun(key, np.stack(hidden), np.stack(nll))
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, hidden=run.hidden, nll=run.nll)
        os.replace(tmp, path)
    return run
