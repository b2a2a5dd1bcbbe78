"""Markdown tables of the report: cell formatting and the table itself."""

from __future__ import annotations

import numpy as np


def fmt(v) -> str:
    """A cell: 4 significant digits for floats, ``-`` for missing values."""
    if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return "-"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def md_table(rows: list[dict], columns) -> str:
    """A Markdown table (``|`` in cells escaped)."""
    cols = list(columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c, "")).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines)
