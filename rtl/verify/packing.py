"""Pack and unpack port values by the export manifest's field layout (struct and array payloads)."""

from __future__ import annotations

from typing import Any


def pack(info: dict[str, Any], value: Any) -> int:
    """Pack ``value`` (int, dict of fields, or list for array layouts) into the port's raw integer."""
    fields = info.get("fields")
    if fields is None:
        return int(value) & ((1 << info["width"]) - 1)
    items = value.items() if isinstance(value, dict) else enumerate(value)
    raw = 0
    for key, v in items:
        f = fields[str(key)]
        raw |= pack(f, v) << f["offset"]
    return raw


def unpack(info: dict[str, Any], raw: int) -> Any:
    """Inverse of :func:`pack`: signed fields are sign-extended; array layouts become lists."""
    fields = info.get("fields")
    width = info["width"]
    raw = int(raw) & ((1 << width) - 1)
    if fields is None:
        if info.get("signed") and raw >> (width - 1):
            raw -= 1 << width
        return raw
    out = {k: unpack(f, raw >> f["offset"]) for k, f in fields.items()}
    if all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out
