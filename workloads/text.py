"""Evaluation text nobody here wrote, cut into fixed, reproducible token windows.

The default corpus is CPython's bundled ``pydoc_data/topics.py`` (the Python documentation topics):
its topic texts joined in sorted key order.  Users can pass their own UTF-8 text file instead.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import numpy as np

from accel.errors import WorkloadError


def topics_text() -> str:
    """CPython's documentation topics, joined in sorted key order (deterministic per Python version)."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def calibration_text() -> str:
    """A second bundled text, disjoint from the evaluation corpus: the Zen of Python (CPython's ``this``
    module stores it rot13-encoded; read from source, since importing ``this`` prints it)."""
    import ast
    import codecs
    import importlib.util

    origin = importlib.util.find_spec("this").origin
    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "s":
            return codecs.decode(node.value.value, "rot13")
    raise WorkloadError(f"CPython's {origin!r} no longer holds the Zen of Python as 's'")


def load_text(path: str | Path | None = None) -> tuple[str, dict]:
    """(text, description) of the evaluation corpus: ``path`` or the CPython topics."""
    if path is None:
        text = topics_text()
        src = f"cpython-{sys.version_info.major}.{sys.version_info.minor}:pydoc_data/topics.py"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorkloadError(f"text file {str(p)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkloadError(f"cannot read text file {str(p)!r} as UTF-8: {exc}") from None
        src = str(p)
    if not text.strip():
        raise WorkloadError(f"evaluation text {src!r} is empty")
    return text, {"source": src, "sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}


def windows(ids, length: int, count: int) -> list[np.ndarray]:
    """``count`` windows of ``length`` tokens, starting at evenly spaced offsets over ``ids``.

    Window i starts at ``i * (len(ids) - length) // max(count - 1, 1)``: the first at 0, the last at
    the end; the same ids, length and count always give the same windows.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not (isinstance(length, int) and length >= 2):
        raise WorkloadError(f"window length must be an integer >= 2 tokens, got {length!r}")
    if not (isinstance(count, int) and count >= 1):
        raise WorkloadError(f"window count must be a positive integer, got {count!r}")
    if ids.size < length:
        raise WorkloadError(f"text has {ids.size} tokens, fewer than one window of {length!r}")
    span = ids.size - length
    starts = [0] if count == 1 else [i * span // (count - 1) for i in range(count)]
    return [ids[s:s + length] for s in starts]


def consecutive_windows(ids, length: int, count: int) -> list[np.ndarray]:
    """Windows ``w = 0 .. count-1`` of ``length`` tokens, window w holding ``ids[w*length:(w+1)*length]``
    (llama.cpp ``perplexity``'s chunks)."""
    ids = np.asarray(ids, dtype=np.int64)
    if not (isinstance(length, int) and length >= 4):
        raise WorkloadError(f"window length must be an integer >= 4 tokens, got {length!r}")
    if not (isinstance(count, int) and count >= 1):
        raise WorkloadError(f"window count must be a positive integer, got {count!r}")
    if ids.size < length * count:
        raise WorkloadError(f"text has {ids.size} tokens, fewer than {count!r} windows of {length!r} "
                            f"(at most {ids.size // length} such windows)")
    return [ids[w * length:(w + 1) * length] for w in range(count)]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def sentences(text: str, count: int, min_words: int = 4) -> list[str]:
    """The first ``count`` sentences of ``text`` with at least ``min_words`` words, in text order
    (split after ``.``, ``!`` or ``?`` followed by white space, and at blank lines)."""
    if not (isinstance(count, int) and count >= 1):
        raise WorkloadError(f"sentence count must be a positive integer, got {count!r}")
    out = []
    for s in _SENTENCE_END.split(text):
        s = " ".join(s.split())
        if len(s.split()) >= min_words:
            out.append(s)
            if len(out) == count:
                return out
    raise WorkloadError(f"text has {len(out)} sentences of at least {min_words} words, fewer than {count!r}")


_IDS: dict[tuple[int, str], tuple[object, np.ndarray, dict]] = {}


def token_ids(tokenizer, path: str | Path | None = None) -> tuple[np.ndarray, dict]:
    """The evaluation text encoded by ``tokenizer`` (no special tokens) and its description; cached per
    tokenizer and text content."""
    text, desc = load_text(path)
    key = (id(tokenizer), desc["sha256"])
    hit = _IDS.get(key)
    if hit is None or hit[0] is not tokenizer:
        ids = np.asarray(tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)
        hit = _IDS[key] = (tokenizer, ids, desc)
    return hit[1], hit[2]
