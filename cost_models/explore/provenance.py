"""The report's cost-provenance line: each source cited once, numbered, and referred to by number."""

from __future__ import annotations

from collections.abc import Iterable


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
