"""Stable configuration hashes: SHA-256 of canonical JSON, identical across runs, processes and machines.

Never Python's ``hash()`` (salted per process).  Canonical JSON: dataclasses as dicts, tuples as lists,
keys sorted, no whitespace, floats in ``repr`` form, and the record type name included so that two
record kinds with equal fields never collide.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

#: Bump when the meaning of a stored configuration changes: old results are then not reused.
HASH_SCHEMA = 2  # 2: accuracy results carry windows and standard errors
HASH_HEX_DIGITS = 16


def canonical(obj: Any) -> Any:
    """A JSON-ready canonical form of a (nested) dataclass record."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__,
                **{f.name: canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in obj.items()}
    return obj


def canonical_json(obj: Any) -> str:
    return json.dumps({"hash_schema": HASH_SCHEMA, "config": canonical(obj)}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any) -> str:
    """Hex digest (16 digits) of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:HASH_HEX_DIGITS]
