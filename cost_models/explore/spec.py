"""Sweep specs: the YAML edge of exploration, parsed in one place, every problem reported at once.

A sweep file::

    name: my-study
    description: what this study asks
    workload: {model: smollm2-135m, phases: [prefill, decode], prefill_tokens: 64, decode_tokens: 16}
                                            # context: N is prefill_tokens: N (as in design files)
                                            # model may be a list: the grid is run on each
    axes:
      pe:                                   # PE spec strings, or a mapping whose list values are swept
        - fp16_dequant_first
        - {name: mixpe_w4a8, group_size: [32, 128]}
      array: [16x16, 32x32]                 # ROWSxCOLS shorthand for array_rows/array_cols
      dram_bandwidth_bytes_per_cycle: [64, 128]
    constraints: {max_area_um2: 5.0e6, max_accuracy_loss: 0.5}
    front_accuracy_limit: 0.05              # fronts without an accuracy objective keep designs whose
                                            # accuracy loss is at most this (default 0.05; null: off)
    fronts: [[accuracy_loss, energy_per_token_pj], [latency_ms, area_mm2]]
    also:                                   # further grids, each with its own axes, added to the sweep
      - axes: {pe: [fp16_dequant_first], array: 32x32, kv_cache_format: [bfp12_b32, bfp16_b32]}
      - workload: {model: llama2-13b, batch: 64}   # keys override the main workload's
        axes: {pe: [int8_mac, mixpe_w4a8], array: [32x32, 64x64]}
    studies: [mixpe]                        # cost studies run beside the points for the claims table

Every axis takes a list (swept) or a single value (fixed).  Points are the Cartesian product of each
grid (the main one and every ``also`` entry), built with ``dataclasses.replace`` on :class:`Point`;
equal points of several grids are evaluated once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from accel.errors import AccelError, ConfigError, list_problems, short_repr
from cost_models.explore.records import Point, Workload
from cost_models.studies import STUDIES
from workloads.protocol import ATTENTION_MODES

#: Result columns an objective or constraint may name, with the direction that is better.
METRICS: dict[str, str] = {
    "accuracy_loss": "min",
    "energy_per_token_pj": "min",
    "energy_pj": "min",
    "latency_ms": "min",
    "tokens_per_s": "max",
    "cycles": "min",
    "area_um2": "min",
    "area_mm2": "min",
    "fpga_luts": "min",
    "edp_pj_s": "min",
    "utilization": "max",
}
#: Constraint name -> (metric, bound kind).
CONSTRAINTS: dict[str, tuple[str, str]] = {
    "max_area_um2": ("area_um2", "max"),
    "max_accuracy_loss": ("accuracy_loss", "max"),
    "max_energy_per_token_pj": ("energy_per_token_pj", "max"),
    "max_latency_ms": ("latency_ms", "max"),
    "max_fpga_luts": ("fpga_luts", "max"),
    "min_utilization": ("utilization", "min"),
}
DEFAULT_FRONTS = (("accuracy_loss", "energy_per_token_pj"), ("latency_ms", "area_mm2"))
#: Accuracy loss a design may have to enter a front that has no accuracy objective (performance, area).
DEFAULT_FRONT_ACCURACY_LIMIT = 0.05
_DESIGN_AXES = tuple(f.name for f in dataclasses.fields(Point) if f.name not in ("workload", "pe"))
AXES = ("pe", "array", *_DESIGN_AXES)
_TOP_KEYS = ("name", "description", "workload", "axes", "constraints", "fronts", "front_accuracy_limit",
             "max_points", "also", "studies")
_ALSO_KEYS = ("workload", "axes")
CONTEXT_ALIAS = "context"
_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Point)}
_FLOAT_AXES = {name for name, t in _FIELD_TYPES.items() if t == "float"}
PRESET_PACKAGE = "cost_models.explore.presets"
MAX_NAME = 100
MAX_COMBINATIONS = 200_000  # axis-value combinations expanded before duplicates are removed


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep: its points plus what to report about them."""

    name: str
    description: str
    workloads: tuple[Workload, ...]
    points: tuple[Point, ...]
    constraints: tuple[tuple[str, float], ...] = ()
    fronts: tuple[tuple[str, str], ...] = DEFAULT_FRONTS
    source: str = "<dict>"
    studies: tuple[str, ...] = ()  # cost studies run beside the points for the claims table (cost_models.studies)
    front_accuracy_limit: float | None = DEFAULT_FRONT_ACCURACY_LIMIT  # None: fronts unconstrained by accuracy

    @property
    def workload(self) -> Workload:
        """The first workload (most sweeps have one)."""
        return self.workloads[0]

    def arith_configs(self):
        """The distinct arithmetic configurations (accuracy is evaluated once for each)."""
        return tuple(dict.fromkeys(p.arith() for p in self.points))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_workloads(data: Any, problems: list[str]) -> tuple[Workload, ...]:
    """The workload section; ``model`` may be a list (one workload per model, same settings)."""
    if isinstance(data, dict) and isinstance(data.get("model"), list):
        models = data["model"] or [None]
        return tuple(dict.fromkeys(_parse_workload({**data, "model": m}, problems) for m in models))
    return (_parse_workload(data, problems),)


def _parse_workload(data: Any, problems: list[str]) -> Workload:
    if data is None:
        return Workload()
    if not isinstance(data, dict):
        problems.append(f"workload must be a mapping, got {short_repr(data)}")
        return Workload()
    valid = [f.name for f in dataclasses.fields(Workload)] + [CONTEXT_ALIAS]
    if CONTEXT_ALIAS in data and "prefill_tokens" in data:
        problems.append("workload.context is workload.prefill_tokens: give one of them, not both")
    kwargs = {}
    for k, v in data.items():
        if k not in valid:
            problems.append(f"unknown key workload.{short_repr(k)}; valid keys: {', '.join(valid)}")
        elif k == "model":
            if isinstance(v, str) and v:
                kwargs[k] = v
            else:
                problems.append(f"workload.model must be a model name, got {short_repr(v)}")
        elif k == "phases":
            phases = (v,) if isinstance(v, str) else v
            if not isinstance(phases, (list, tuple)) or not phases or any(
                    p not in ("prefill", "decode") for p in phases):
                problems.append(f"workload.phases must be a non-empty list of prefill, decode, got {short_repr(v)}")
            else:
                kwargs[k] = tuple(dict.fromkeys(phases))
        elif not (_is_int(v) and v >= (0 if k == "decode_tokens" else 1)):
            low = 0 if k == "decode_tokens" else 1
            problems.append(f"workload.{k} must be an integer >= {low}, got {short_repr(v)}")
        else:  # context: the prompt length, as `accel sim --context` and design files name it
            kwargs["prefill_tokens" if k == CONTEXT_ALIAS else k] = v
    return Workload(**kwargs)


def _pe_strings(entry: Any, where: str, problems: list[str]) -> list[str]:
    """Expand one ``pe`` axis entry (string, or mapping with swept list values) into spec strings."""
    if isinstance(entry, str) and entry:
        return [entry]
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        problems.append(f"{where} must be a PE spec string or a mapping with a 'name', got {short_repr(entry)}")
        return []
    params = {k: (v if isinstance(v, list) else [v]) for k, v in sorted(entry.items(), key=lambda kv: str(kv[0]))
              if k != "name"}
    for k, vs in params.items():
        if not vs:
            problems.append(f"{where}.{k} is an empty list; give at least one value")
            return []
    out = []
    for combo in itertools.product(*params.values()):
        args = ",".join(f"{k}={v}" for k, v in zip(params, combo, strict=True))
        out.append(f"{entry['name']}:{args}" if args else entry["name"])
    return out


def _canonical_pe(text: str, canonical_pe, where: str, problems: list[str]) -> str | None:
    if canonical_pe is None:
        return text
    try:
        return canonical_pe(text)
    except ConfigError as exc:
        problems.append(f"{where}: {exc}")
    except (ValueError, TypeError, KeyError) as exc:
        problems.append(f"{where}: invalid PE spec {short_repr(text)}: {exc}")
    return None


def _design_axis_problems(name: str, value: Any) -> list[str]:
    """Validate one axis value by building a design with it (accel.design validates)."""
    if name in _FLOAT_AXES and _is_int(value):
        value = float(value)
    try:
        Point(Workload(), "pe", **{name: value}).to_design(None)
    except ConfigError as exc:
        return [str(exc).split(": ", 1)[-1]]
    except TypeError as exc:
        return [f"axes.{name}: {exc}"]
    return []


def _axis_values(name: str, raw: Any, problems: list[str]) -> list[Any]:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        problems.append(f"axes.{name} is an empty list; give at least one value")
    out = []
    for v in values:
        if name == "array":
            try:
                from accel.design import ArraySpec

                rows, cols = ArraySpec.parse_shape(v)
            except ConfigError as exc:
                problems.append(f"axes.array: {exc}")
                continue
            errs = _design_axis_problems("array_rows", rows) + _design_axis_problems("array_cols", cols)
            problems.extend(f"axes.array {short_repr(v)}: {e}" for e in errs)
            if not errs:
                out.append({"array_rows": rows, "array_cols": cols})
            continue
        if name in _FLOAT_AXES and _is_int(v):
            v = float(v)
        ftype = _FIELD_TYPES[name]
        type_ok = {"int": _is_int(v), "int | None": v is None or _is_int(v), "float": isinstance(v, float),
                   "str": isinstance(v, str), "str | None": v is None or isinstance(v, str),
                   "bool": isinstance(v, bool)}[ftype]
        if not type_ok:
            problems.append(f"axes.{name} values must be of type {ftype}, got {short_repr(v)}")
            continue
        if name in ("kv_cache_format", "query_format"):
            if v is not None:
                try:
                    from accel import formats

                    formats.get(v)
                except AccelError as exc:
                    problems.append(f"axes.{name}: {exc}")
                    continue
            out.append({name: v})
            continue
        if name == "attention":
            if v in ATTENTION_MODES:
                out.append({name: v})
            else:
                problems.append(f"axes.attention values must be one of {', '.join(ATTENTION_MODES)}, "
                                f"got {short_repr(v)}")
            continue
        if name in ("kv_sort_k_channels", "kv_keys_only", "fpga_place_and_route"):
            out.append({name: v})
            continue
        if name == "fpga_device":
            from cost_models.explore.fpga import check_device

            if errs := check_device(v):
                problems.extend(errs)
            else:
                out.append({name: v})
            continue
        errs = _design_axis_problems(name, v)
        problems.extend(errs)
        if not errs:
            out.append({name: v})
    return [dict(items) for items in dict.fromkeys(tuple(d.items()) for d in out)]  # each value once


def _parse_grid(axes: Any, where: str, canonical_pe, problems: list[str]) -> tuple[list[str], list[list[dict]]]:
    """One grid's axes: (canonical PE strings, the value lists of the other axes)."""
    grid: list[list[dict[str, Any]]] = []
    pes: list[str] = []
    if not isinstance(axes, dict):
        problems.append(f"{where} must be a mapping with at least 'pe'; valid axes: {', '.join(AXES)}; "
                        f"got {short_repr(axes)}")
        return pes, grid
    if "pe" not in axes:
        problems.append(f"{where}.pe is missing; list the PE variants to sweep (valid axes: {', '.join(AXES)})")
    for k, raw in axes.items():
        if k not in AXES:
            problems.append(f"unknown axis {short_repr(k)}; valid axes: {', '.join(AXES)}")
        elif k == "pe":
            entries = raw if isinstance(raw, list) else [raw]
            if not entries:
                problems.append(f"{where}.pe is an empty list; give at least one PE variant")
            for i, entry in enumerate(entries):
                for text in _pe_strings(entry, f"{where}.pe[{i}]", problems):
                    canon = _canonical_pe(text, canonical_pe, f"{where}.pe[{i}]", problems)
                    if canon is not None:
                        pes.append(canon)
        else:
            grid.append(_axis_values(k, raw, problems))
    if "array" in axes and ("array_rows" in axes or "array_cols" in axes):
        problems.append(f"give either {where}.array (ROWSxCOLS) or {where}.array_rows/array_cols, not both")
    return pes, grid


def _name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a sweep (its default output is ``results/<name>``), or None."""
    if not isinstance(name, str) or not name.strip():
        return f"name must be a non-empty string, got {short_repr(name)}"
    if (len(name) > MAX_NAME or name.startswith(".") or any(c in name for c in "/\\:")
            or not name.isprintable()):
        return (f"name must be a plain directory name of at most {MAX_NAME} printable characters, not starting "
                f"with '.' and without '/', '\\' or ':' (the default output is results/<name>), "
                f"got {short_repr(name)}")
    return None


def sweep_from_dict(data: Any, *, source: str = "<dict>",
                    canonical_pe: Callable[[str], str] | None = None,
                    models: Collection[str] | None = None) -> SweepSpec:
    """Build a :class:`SweepSpec`; every problem in ``data`` is reported in one :class:`ConfigError`.

    ``canonical_pe`` (normally :func:`accel_canonical_pe`) validates a PE string and returns its canonical
    form (so equal designs hash equally); ``None`` keeps the strings as written.  ``models`` (normally
    :func:`accel_models`) are the valid workload models; ``None`` accepts any name.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a sweep must be a mapping with keys {', '.join(_TOP_KEYS)}, "
                          f"got {type(data).__name__} {short_repr(data)}")
    problems: list[str] = []
    for k in data:
        if k not in _TOP_KEYS:
            problems.append(f"unknown top-level key {short_repr(k)}; valid keys: {', '.join(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem)
    if (why := _name_problem(name)) is not None:
        problems.append(why)
    workloads = _parse_workloads(data.get("workload"), problems)

    grids = [(workloads, _parse_grid(data.get("axes"), "axes", canonical_pe, problems))]
    also = data.get("also", [])
    if not isinstance(also, list):
        problems.append(f"also must be a list of grids (mappings with keys {', '.join(_ALSO_KEYS)}), "
                        f"got {short_repr(also)}")
        also = []
    for i, entry in enumerate(also):
        where = f"also[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping with keys {', '.join(_ALSO_KEYS)}, got {short_repr(entry)}")
            continue
        for k in entry:
            if k not in _ALSO_KEYS:
                problems.append(f"unknown key {where}.{short_repr(k)}; valid keys: {', '.join(_ALSO_KEYS)}")
        raw_w = entry.get("workload", {})
        if not isinstance(raw_w, dict):
            problems.append(f"{where}.workload must be a mapping, got {short_repr(raw_w)}")
            raw_w = {}
        main_w = data.get("workload") if isinstance(data.get("workload"), dict) else {}
        merged = {**main_w, **raw_w}
        grids.append((_parse_workloads(merged, problems),
                      _parse_grid(entry.get("axes"), f"{where}.axes", canonical_pe, problems)))

    if models is not None:
        for model in dict.fromkeys(w.model for ws, _ in grids for w in ws):
            if model not in models:
                problems.append(f"unknown model {short_repr(model)} in workload; valid models: {', '.join(models)}")

    constraints = []
    raw_c = data.get("constraints") or {}
    if not isinstance(raw_c, dict):
        problems.append(f"constraints must be a mapping, got {short_repr(raw_c)}")
        raw_c = {}
    for k, v in raw_c.items():
        if k not in CONSTRAINTS:
            problems.append(f"unknown constraint {short_repr(k)}; valid constraints: {', '.join(CONSTRAINTS)}")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            problems.append(f"constraints.{k} must be a number, got {short_repr(v)}")
        else:
            constraints.append((k, float(v)))

    fronts = DEFAULT_FRONTS
    if "fronts" in data:
        raw_f = data["fronts"]
        ok = isinstance(raw_f, list) and raw_f and all(
            isinstance(f, list) and len(f) >= 2 and all(isinstance(m, str) for m in f) for f in raw_f)
        if not ok:
            problems.append(f"fronts must be a list of metric lists (at least 2 each), got {short_repr(raw_f)}")
        else:
            for f in raw_f:
                for m in f:
                    if m not in METRICS:
                        problems.append(f"unknown metric {short_repr(m)} in fronts; "
                                        f"valid metrics: {', '.join(METRICS)}")
            fronts = tuple(tuple(f) for f in raw_f)

    studies = data.get("studies", [])
    if not (isinstance(studies, list) and all(isinstance(s, str) and s in STUDIES for s in studies)):
        problems.append(f"studies must be a list of study names from {', '.join(STUDIES)}, got {short_repr(studies)}")
        studies = []

    acc_limit = data.get("front_accuracy_limit", DEFAULT_FRONT_ACCURACY_LIMIT)
    if acc_limit is not None and (isinstance(acc_limit, bool) or not isinstance(acc_limit, (int, float))
                                  or not acc_limit >= 0):
        problems.append(f"front_accuracy_limit must be a number >= 0 (relative accuracy loss) or null, "
                        f"got {short_repr(acc_limit)}")
        acc_limit = DEFAULT_FRONT_ACCURACY_LIMIT

    max_points = data.get("max_points", 5000)
    if not (_is_int(max_points) and max_points >= 1):
        problems.append(f"max_points must be an integer >= 1, got {short_repr(max_points)}")
        max_points = 5000
    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s): " + list_problems(problems))

    combinations = sum(len(ws) * len(set(pes)) * math.prod(map(len, grid)) for ws, (pes, grid) in grids)
    if combinations > (limit := max(MAX_COMBINATIONS, 2 * max_points)):
        raise ConfigError(f"{source}: the sweep's axes span {combinations:,} combinations, more than {limit:,} "
                          f"(max_points={max_points}); narrow the axes")
    points = []
    for grid_workloads, (pes, grid) in grids:
        for workload in grid_workloads:
            base = Point(workload=workload, pe="")
            for pe in dict.fromkeys(pes):
                for combo in itertools.product(*grid):
                    changes: dict[str, Any] = {"pe": pe}
                    for c in combo:
                        changes.update(c)
                    point = dataclasses.replace(base, **changes)
                    if point.kv_sort_k_channels and not _sorting_changes_blocks(point):
                        continue  # sorting key channels changes nothing without a block shorter than a head
                    if point.kv_keys_only and point.kv_cache_format is None:
                        continue  # no key format to store
                    points.append(point)
    points = list(dict.fromkeys(points))
    if len(points) > max_points:
        raise ConfigError(f"{source}: the sweep has {len(points)} points, more than max_points={max_points}; "
                          "narrow the axes or raise max_points")
    all_workloads = tuple(dict.fromkeys(w for ws, _ in grids for w in ws))
    return SweepSpec(name=name, description=str(data.get("description", "")), workloads=all_workloads,
                     points=tuple(points), constraints=tuple(constraints), fronts=fronts, source=source,
                     studies=tuple(dict.fromkeys(studies)),
                     front_accuracy_limit=None if acc_limit is None else float(acc_limit))


def _sorting_changes_blocks(point: Point) -> bool:
    """Whether K-channel sorting can change the point's cache (block shorter than the model's head dim; a
    model without a known shape is given the benefit of the doubt when its cache is quantized)."""
    from workloads.kvcache import sorting_changes_blocks
    from workloads.shapes import MODELS

    shape = MODELS.get(point.workload.model)
    if shape is None:
        return point.kv_cache_format is not None
    return sorting_changes_blocks(point.kv_cache_format, shape.head_dim)


def accel_canonical_pe(text: str) -> str:
    """Validate a PE spec string with ``accel.pe.parse`` and return its canonical ``to_string()``."""
    from accel import pe

    return pe.parse(text).to_string()


def accel_models() -> tuple[str, ...]:
    """The models the toolkit can evaluate: real ones (weights) and shape-only ones (published shapes)."""
    from workloads.models import REAL_MODELS
    from workloads.shapes import MODELS

    return tuple(dict.fromkeys([*REAL_MODELS, *MODELS]))


def load_sweep(path: str | Path, *, canonical_pe=None, models: Collection[str] | None = None) -> SweepSpec:
    """Load a sweep YAML file."""
    from accel.config import read_yaml

    return sweep_from_dict(read_yaml(path, "sweep file"), source=str(path), canonical_pe=canonical_pe,
                           models=models)


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(PRESET_PACKAGE).iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    names = preset_names()
    if name not in names:
        raise ConfigError(f"unknown preset {short_repr(name)}; valid presets: {', '.join(names)}")
    return Path(str(resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml")))


def load_preset(name: str, *, canonical_pe=None, models: Collection[str] | None = None) -> SweepSpec:
    return load_sweep(preset_path(name), canonical_pe=canonical_pe, models=models)
