"""Cost tables: per-operation anchors, cell figures and memory points, each with unit, source and node.

A table is a YAML file (``cost_models/data/horowitz_45nm.yaml`` is the default and documents the
schema).  It is parsed and validated in one place, :func:`table_from_dict`, which reports every
problem at once.  Alternative tables plug in by path: ``get_table("my_28nm.yaml")``.

Technology-node rule (first-order constant-field scaling, applied by :meth:`CostTable.at_node`):
area scales with (node / node0)^2, dynamic energy with (node / node0) * (vdd / vdd0)^2, leakage
power density with (vdd / vdd0) (per um^2).  Below about 28 nm real nodes deviate from this rule
(Stillmaker & Baas, Integration 2017, give measured fits); the rule and factors are recorded in
every output so a reader sees what was assumed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from accel.errors import ConfigError, list_problems, short_repr

DATA_DIR = Path(__file__).parent / "data"
BUILTIN = {"horowitz45": DATA_DIR / "horowitz_45nm.yaml"}
ANCHORED_OPS = ("int_add", "int_mul", "fp_add", "fp_mul")
CELLS = ("nand2_um2", "and2_um2", "full_adder_um2", "mux2_um2", "dff_um2", "register_bit_energy_pj")
MEMORY_SCALARS = ("sram_write_over_read", "sram_area_lambda2_per_bit", "dram_access_64b_pj",
                  "logic_leakage_nw_per_um2", "sram_leakage_nw_per_um2")


@dataclass(frozen=True)
class Anchor:
    """One published operator point: width (bits) or float format (ebits, mbits)."""

    energy_pj: float
    area_um2: float
    source: str
    bits: int | None = None
    ebits: int | None = None
    mbits: int | None = None
    format: str | None = None


@dataclass(frozen=True)
class Figure:
    """A scalar with its source (unit is in the key that names it)."""

    value: float
    source: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class SramPoint:
    capacity_bytes: int
    energy_pj: float
    source: str


@dataclass(frozen=True)
class CostTable:
    """A validated cost table; ``energy_scale``/``area_scale`` record any node scaling applied."""

    name: str
    node_nm: float
    vdd_v: float
    sources: dict[str, str]
    ops: dict[str, tuple[Anchor, ...]]
    cells: dict[str, Figure]
    memory: dict[str, Figure]
    sram_read_64b: tuple[SramPoint, ...]
    energy_scale: float = 1.0
    area_scale: float = 1.0
    leakage_scale: float = 1.0
    base_node_nm: float | None = None
    base_vdd_v: float | None = None
    path: str = field(default="", compare=False)

    def cite(self, key: str) -> str:
        """Expand a source key (``horowitz``) into its citation; unknown keys are citations themselves."""
        return self.sources.get(key, key)

    @property
    def provenance(self) -> dict[str, Any]:
        return {"table": self.name, "node_nm": self.node_nm, "vdd_v": self.vdd_v,
                "base_node_nm": self.base_node_nm or self.node_nm,
                "node_rule": "area*(n/n0)^2, energy*(n/n0)*(V/V0)^2, leakage density*(V/V0)",
                "energy_scale": self.energy_scale, "area_scale": self.area_scale, "path": self.path}

    def at_node(self, node_nm: float, vdd_v: float | None = None) -> CostTable:
        """This table scaled to another node (and supply voltage; default: unchanged)."""
        if not isinstance(node_nm, (int, float)) or not 1 <= node_nm <= 1000:
            raise ConfigError(f"node_nm must be a number in 1..1000 (nm), got {short_repr(node_nm)}")
        vdd = self.vdd_v if vdd_v is None else vdd_v
        if not isinstance(vdd, (int, float)) or not 0.1 <= vdd <= 5:
            raise ConfigError(f"vdd_v must be a number in 0.1..5 (V), got {short_repr(vdd_v)}")
        base = self.base_node_nm or self.node_nm
        base_vdd = self.base_vdd_v or self.vdd_v
        s = node_nm / base
        v = vdd / base_vdd
        return dataclasses.replace(self, node_nm=float(node_nm), vdd_v=float(vdd), energy_scale=s * v * v,
                                   area_scale=s * s, leakage_scale=v, base_node_nm=base,
                                   base_vdd_v=base_vdd)


def _figure(raw: Any, where: str, problems: list[str]) -> Figure | None:
    if not isinstance(raw, dict) or "value" not in raw or "source" not in raw:
        problems.append(f"{where} must be a mapping with 'value' and 'source', got {short_repr(raw)}")
        return None
    try:
        v = float(raw["value"])
    except (TypeError, ValueError):
        problems.append(f"{where}.value must be a number, got {short_repr(raw['value'])}")
        return None
    if v < 0:
        problems.append(f"{where}.value must be >= 0, got {short_repr(v)}")
    return Figure(v, str(raw["source"]), raw.get("low"), raw.get("high"))


def _anchor(raw: Any, op: str, where: str, problems: list[str]) -> Anchor | None:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping, got {short_repr(raw)}")
        return None
    need = ["energy_pj", "area_um2", "source"] + (["bits"] if op.startswith("int") else ["ebits", "mbits"])
    missing = [k for k in need if k not in raw]
    if missing:
        problems.append(f"{where} is missing {', '.join(missing)}; required keys: {', '.join(need)}")
        return None
    for k in need[:2]:
        if not isinstance(raw[k], (int, float)) or raw[k] <= 0:
            problems.append(f"{where}.{k} must be a positive number, got {short_repr(raw[k])}")
            return None
    for k in need[3:]:
        if not isinstance(raw[k], int) or raw[k] < (1 if k != "mbits" else 0):
            problems.append(f"{where}.{k} must be a positive integer, got {short_repr(raw[k])}")
            return None
    return Anchor(float(raw["energy_pj"]), float(raw["area_um2"]), str(raw["source"]), raw.get("bits"),
                  raw.get("ebits"), raw.get("mbits"), raw.get("format"))


def table_from_dict(data: Any, source: str = "<dict>") -> CostTable:
    """Validate a parsed cost-table YAML, reporting every problem at once in one ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a cost table must be a mapping, got {type(data).__name__}")
    problems: list[str] = []
    for k in ("name", "node_nm", "vdd_v", "sources", "ops", "cells", "memory"):
        if k not in data:
            problems.append(f"missing key {short_repr(k)}")
    ops: dict[str, tuple[Anchor, ...]] = {}
    raw_ops = data.get("ops") or {}
    for op in ANCHORED_OPS:
        pts = raw_ops.get(op) if isinstance(raw_ops, dict) else None
        if not isinstance(pts, list) or len(pts) != 2:
            problems.append(f"ops.{op} must list exactly two anchor points (the scaling law passes through "
                            f"both), got {short_repr(pts)}")
            continue
        anchors = [_anchor(p, op, f"ops.{op}[{i}]", problems) for i, p in enumerate(pts)]
        if all(anchors):
            a, b = anchors
            wa, wb = (a.bits, b.bits) if op.startswith("int") else (a.mbits, b.mbits)
            if not wa < wb or not (a.energy_pj <= b.energy_pj and a.area_um2 <= b.area_um2):
                problems.append(f"ops.{op}: anchors must be ordered by width with non-decreasing energy and "
                                f"area, got {short_repr(pts)}")
            ops[op] = (a, b)
    if isinstance(raw_ops, dict):
        for k in sorted(set(raw_ops) - set(ANCHORED_OPS), key=str):
            problems.append(f"unknown op {short_repr(k)} under ops; valid: {', '.join(ANCHORED_OPS)}")
    cells = {}
    raw_cells = data.get("cells") or {}
    if not isinstance(raw_cells, dict):
        problems.append(f"cells must be a mapping, got {short_repr(raw_cells)}")
        raw_cells = {}
    for k in CELLS:
        f = _figure(raw_cells.get(k), f"cells.{k}", problems)
        if f:
            cells[k] = f
    memory = {}
    raw_mem = data.get("memory") or {}
    if not isinstance(raw_mem, dict):
        problems.append(f"memory must be a mapping, got {short_repr(raw_mem)}")
        raw_mem = {}
    for k in MEMORY_SCALARS:
        f = _figure(raw_mem.get(k), f"memory.{k}", problems)
        if f:
            memory[k] = f
    sram: list[SramPoint] = []
    pts = raw_mem.get("sram_read_64b") if isinstance(raw_mem, dict) else None
    if not isinstance(pts, list) or len(pts) < 2:
        problems.append(f"memory.sram_read_64b must list at least two points, got {short_repr(pts)}")
    else:
        for i, p in enumerate(pts):
            if (not isinstance(p, dict) or not isinstance(p.get("capacity_bytes"), int) or p["capacity_bytes"] <= 0
                    or not isinstance(p.get("energy_pj"), (int, float)) or p["energy_pj"] <= 0 or "source" not in p):
                problems.append(f"memory.sram_read_64b[{i}] needs positive capacity_bytes (int), energy_pj and a "
                                f"source, got {short_repr(p)}")
            else:
                sram.append(SramPoint(p["capacity_bytes"], float(p["energy_pj"]), str(p["source"])))
    for k in ("node_nm", "vdd_v"):
        if k in data and (not isinstance(data[k], (int, float)) or data[k] <= 0):
            problems.append(f"{k} must be a positive number, got {short_repr(data[k])}")
    if not isinstance(data.get("sources", {}), dict):
        problems.append(f"sources must be a mapping of key to citation, got {short_repr(data.get('sources'))}")
    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s) in cost table: " + list_problems(problems))
    return CostTable(name=str(data["name"]), node_nm=float(data["node_nm"]), vdd_v=float(data["vdd_v"]),
                     sources=dict(data["sources"]), ops=ops, cells=cells, memory=memory,
                     sram_read_64b=tuple(sorted(sram, key=lambda p: p.capacity_bytes)), path=source)


@cache
def _load(path: str) -> CostTable:
    from accel.config import read_yaml

    return table_from_dict(read_yaml(path, "cost table"), source=path)


def get_table(name_or_path: str = "horowitz45") -> CostTable:
    """A built-in table by name (``horowitz45``) or a YAML file by path."""
    if name_or_path in BUILTIN:
        return _load(str(BUILTIN[name_or_path]))
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        return _load(str(p))
    raise ConfigError(f"unknown cost table {name_or_path!r}; valid: {', '.join(BUILTIN)} or a path to a .yaml file")
