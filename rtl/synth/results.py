"""Reading the synthesis table (``rtl/reports/synth_table.json``, written by :mod:`rtl.synth.table`): one row
per (block, target), as :class:`SynthRow`.  Other packages read synthesis results through :func:`read_table`."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from accel.errors import ConfigError

#: The committed table
TABLE = Path(__file__).resolve().parents[1] / "reports" / "synth_table.json"


@dataclass(frozen=True)
class SynthRow:
    """One block synthesised for one target (None where the target has no such count, or on ``error``)."""

    block: str  # the row's label
    pe: str  # the PE spec the block is built from
    kind: str  # "mul" (multiplier alone), "pe", "array4x4", "dequant", "fp16_dequant"
    multiplier: str | None
    target: str  # "generic", "ice40", "ecp5", "xc7"
    nodsp: bool
    luts: int | None = None
    carries: int | None = None
    ffs: int | None = None
    dsps: int | None = None
    cells: int | None = None
    transistors: int | None = None
    ge: float | None = None  # NAND2 equivalents (generic target)
    depth: int | None = None
    yosys_version: str | None = None
    error: str | None = None  # the Yosys failure, when the block did not synthesise


@dataclass(frozen=True)
class SynthTable:
    rows: tuple[SynthRow, ...]
    yosys_version: str
    liberty: str  # the liberty file GE are counted with
    meta: dict


_FIELDS = {f.name for f in dataclasses.fields(SynthRow)}
_REQUIRED = {f.name for f in dataclasses.fields(SynthRow) if f.default is dataclasses.MISSING}


def read_table(path: str | Path = TABLE) -> SynthTable:
    """The synthesis table at ``path``; every malformed row is reported at once (:class:`ConfigError`)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the synthesis table {str(path)!r}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list) or not isinstance(data.get("meta"), dict):
        raise ConfigError(f"synthesis table {str(path)!r}: expected {{'meta': {{...}}, 'rows': [...]}} as "
                          f"rtl.synth.table writes it, got {type(data).__name__} with keys "
                          f"{sorted(data) if isinstance(data, dict) else None!r}")
    problems, rows = [], []
    for i, r in enumerate(data["rows"]):
        if not isinstance(r, dict):
            problems.append(f"row {i}: expected a mapping, got {r!r}")
        elif missing := sorted(_REQUIRED - set(r)):
            problems.append(f"row {i}: missing {', '.join(missing)}")
        elif unknown := sorted(set(r) - _FIELDS):
            problems.append(f"row {i}: unknown {', '.join(unknown)}; valid: {', '.join(sorted(_FIELDS))}")
        else:
            rows.append(SynthRow(**r))
    if problems:
        raise ConfigError(f"synthesis table {str(path)!r}: " + "; ".join(problems))
    meta = data["meta"]
    return SynthTable(tuple(rows), str(meta.get("yosys_version", "")), str(meta.get("liberty", "")), meta)


#: The committed place-and-route table (``rtl.synth.table.write_pnr_table``)
PNR_TABLE = TABLE.with_name("pnr_table.json")
_PNR_REQUIRED = ("block", "pe", "kind", "device", "family", "nodsp", "error")
_PNR_MEASURED = ("levels", "luts", "ffs", "fmax_mhz")


def read_pnr_rows(path: str | Path = PNR_TABLE) -> tuple[dict, ...]:
    """The placed-and-routed rows of the P&R table at ``path`` (rows with an ``error`` left out); every malformed
    row is reported at once (:class:`ConfigError`)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the place-and-route table {str(path)!r}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ConfigError(f"place-and-route table {str(path)!r}: expected {{'meta': {{...}}, 'rows': [...]}} as "
                          f"rtl.synth.table writes it, got {type(data).__name__}")
    problems, rows = [], []
    for i, r in enumerate(data["rows"]):
        if not isinstance(r, dict):
            problems.append(f"row {i}: expected a mapping, got {r!r}")
            continue
        need = _PNR_REQUIRED + (() if r.get("error") else _PNR_MEASURED)
        if missing := [k for k in need if k not in r]:
            problems.append(f"row {i}: missing {', '.join(missing)}")
        elif not r["error"]:
            rows.append(r)
    if problems:
        raise ConfigError(f"place-and-route table {str(path)!r}: " + "; ".join(problems))
    return tuple(rows)
