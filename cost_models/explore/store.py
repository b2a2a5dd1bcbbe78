"""Results store: a Parquet dataset of one file per finished item, keyed by its configuration hash.

Layout under the output directory::

    parts/points/<point_hash>.parquet      one row: the point, its PerfResult, tool version, git commit
    parts/ops/<point_hash>.parquet         per-op rows of that point (roofline)
    parts/accuracy/<arith_hash>.parquet    one row: the AccuracyResult of an arithmetic configuration
    parts/sha256/<kind>/<hash>.sha256      SHA-256 of each part above
    parts/cpu/<kind>-<hash>.json           CPU seconds the evaluation took (not part of the results, which
                                           stay identical across runs and backends)
    results.parquet, ops.parquet           the joined tables of the last run (rewritten at its end)

Every file is written to a temporary name unique to its process, fsynced, then renamed into place
(:mod:`cost_models.explore.atomic`), so killing the process at any moment loses no finished item and
never leaves a torn part: a rerun reads the parts that exist and evaluates only the rest.  Each part
has its SHA-256 in ``parts/sha256/<kind>/<name>.sha256``, written before the part is renamed into
place; on resume a part whose bytes do not match (or, without a checksum, that does not read) is
reported, moved to ``corrupt/<kind>/`` and recomputed.  Point parts are written after their ops parts,
so a verified point part with a verified ops part means the point is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from accel import __version__
from cost_models.explore import atomic
from cost_models.explore.provenance import tool_versions, utc_now
from cost_models.explore.records import AccuracyResult, OpPerf, PerfResult, Point, Workload, scalar_fields

log = logging.getLogger(__name__)

_ARROW = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
          "int | None": pa.int64(), "str | None": pa.string(), "tuple[str, ...]": pa.string(),
          "tuple[float, ...]": pa.list_(pa.float64())}
_META = [("tool_version", pa.string()), ("git_commit", pa.string()), ("tool_versions", pa.string())]


def _fields(cls, prefix: str = "") -> list[tuple[str, pa.DataType]]:
    return [(prefix + f.name, _ARROW[f.type]) for f in scalar_fields(cls)]


POINT_SCHEMA = pa.schema([("point_hash", pa.string()), ("arith_hash", pa.string()), ("family", pa.string()),
                          ("label", pa.string()), *_fields(Workload, "workload_"), *_fields(Point),
                          *_fields(PerfResult), *_META])
ACCURACY_SCHEMA = pa.schema([("arith_hash", pa.string()), *_fields(AccuracyResult, "accuracy_"),
                             ("accuracy_loss", pa.float64()), *_META])
OPS_SCHEMA = pa.schema([("point_hash", pa.string()), *_fields(OpPerf)])


def git_commit() -> str:
    """The checkout's commit (``-dirty`` when tracked files changed), or ``unknown`` outside git."""
    from accel.provenance import git_commit as commit

    return commit() or "unknown"


def _value(v):
    return ",".join(v) if isinstance(v, tuple) else v


def point_row(point: Point, perf: PerfResult) -> dict:
    row = {"point_hash": point.key, "arith_hash": point.arith().key, "family": point.family, "label": point.label}
    row.update({"workload_" + f.name: _value(getattr(point.workload, f.name)) for f in scalar_fields(Workload)})
    row.update({f.name: _value(getattr(point, f.name)) for f in scalar_fields(Point)})
    row.update({f.name: getattr(perf, f.name) for f in scalar_fields(PerfResult)})
    row.update(tool_version=__version__, git_commit=git_commit(), tool_versions=tool_versions())
    return row


def accuracy_row(arith_key: str, acc: AccuracyResult) -> dict:
    row = {"arith_hash": arith_key}
    row.update({"accuracy_" + f.name: (list(v) if isinstance(v := getattr(acc, f.name), tuple) else v)
                for f in dataclasses.fields(AccuracyResult)})
    row.update(accuracy_loss=acc.loss, tool_version=__version__, git_commit=git_commit(), tool_versions=tool_versions())
    return row


def ops_rows(point_key: str, perf: PerfResult) -> list[dict]:
    return [{"point_hash": point_key, **dataclasses.asdict(op)} for op in perf.ops]


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def derive_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns (latency, energy per token, area in mm^2, energy-delay product)."""
    df = df.copy()
    # the clock the design runs at: the predicted Fmax on an FPGA part (results of older runs: freq_mhz)
    clock = df["clock_mhz"].fillna(df["freq_mhz"]) if "clock_mhz" in df else df["freq_mhz"]
    df["latency_ms"] = df["cycles"] / (clock * 1e3)
    df["tokens_per_s"] = df["tokens"] / (df["latency_ms"] / 1e3)
    df["energy_per_token_pj"] = df["energy_pj"] / df["tokens"].clip(lower=1)
    df["area_mm2"] = df["area_um2"] / 1e6
    df["edp_pj_s"] = df["energy_pj"] * df["latency_ms"] / 1e3
    return df


PART_KINDS = ("points", "ops", "accuracy")
_SCHEMAS = {"points": POINT_SCHEMA, "ops": OPS_SCHEMA, "accuracy": ACCURACY_SCHEMA}


class ResultsStore:
    """The results of one output directory (hold :func:`cost_models.explore.lock.output_lock` to write)."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.parts = {kind: self.out_dir / "parts" / kind for kind in PART_KINDS}
        self.points_dir, self.ops_dir, self.accuracy_dir = (self.parts[k] for k in PART_KINDS)
        self.cpu_dir = self.out_dir / "parts" / "cpu"
        self.set_aside: list[tuple[Path, Path, str]] = []  # (part, where it went, why)
        for d in (*self.parts.values(), *(self._sum_dir(k) for k in PART_KINDS), self.cpu_dir):
            d.mkdir(parents=True, exist_ok=True)

    def _sum_dir(self, kind: str) -> Path:
        return self.out_dir / "parts" / "sha256" / kind

    def _sum_path(self, kind: str, part: Path) -> Path:
        return self._sum_dir(kind) / f"{part.name}.sha256"

    def remove_stale_temps(self) -> list[Path]:
        """Remove temporary files of dead writers (never those of a live process)."""
        dirs = (self.out_dir, self.out_dir / "plots", *self.parts.values(),
                *(self._sum_dir(k) for k in PART_KINDS), self.cpu_dir)
        removed = [p for d in dirs if d.is_dir() for p in atomic.remove_stale_temps(d)]
        if removed:
            log.info("removed %d temporary file(s) of dead runs in %s", len(removed), self.out_dir)
        return removed

    def _put(self, kind: str, key: str, rows: Sequence[dict]) -> None:
        path = self.parts[kind] / f"{key}.parquet"
        with atomic.atomic_path(path) as tmp:
            pq.write_table(pa.Table.from_pylist(list(rows), schema=_SCHEMAS[kind]), tmp)
            atomic.write_text(self._sum_path(kind, path), f"{_sha256(tmp)}  {path.name}\n")

    def _problem(self, kind: str, part: Path) -> str | None:
        """Why ``part`` is not a finished item, or None when it is."""
        sums = self._sum_path(kind, part)
        if sums.is_file():
            want = (sums.read_text(errors="replace").split() or ["<empty>"])[0]
            got = _sha256(part)
            return None if got == want else f"its SHA-256 {got} differs from the recorded {want}"
        try:  # no checksum (a part of an earlier version): keep it if it reads whole
            table = pq.read_table(part, schema=_SCHEMAS[kind])
        except (pa.ArrowException, OSError) as exc:
            return f"it has no checksum and does not read: {exc}"
        if kind != "ops" and table.num_rows != 1:
            return f"it has no checksum and holds {table.num_rows} rows instead of 1"
        atomic.write_text(sums, f"{_sha256(part)}  {part.name}\n")
        return None

    def _move_aside(self, kind: str, part: Path, why: str) -> None:
        dest_dir = self.out_dir / "corrupt" / kind
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / part.name
        if dest.exists():
            dest = dest_dir / f"{part.stem}.{secrets.token_hex(4)}{part.suffix}"
        part.replace(dest)
        self._sum_path(kind, part).unlink(missing_ok=True)
        self.set_aside.append((part, dest, why))
        log.warning("part file %s is corrupt (%s): moved to %s; it will be recomputed", part, why, dest)

    def _verified(self, kind: str) -> set[str]:
        ok = set()
        for part in sorted(self.parts[kind].glob("*.parquet")):
            why = self._problem(kind, part)
            if why is None:
                ok.add(part.stem)
            else:
                self._move_aside(kind, part, why)
        return ok

    def finished_points(self) -> set[str]:
        """Points whose point and ops parts both verify (a corrupt part is moved aside)."""
        points, ops = self._verified("points"), self._verified("ops")
        for key in sorted(points - ops):
            self._move_aside("points", self.points_dir / f"{key}.parquet", "its ops part is missing or corrupt")
        return points & ops

    def finished_accuracy(self) -> set[str]:
        return self._verified("accuracy")

    def put_point(self, point: Point, perf: PerfResult) -> None:
        key = point.key
        self._put("ops", key, ops_rows(key, perf))
        self._put("points", key, [point_row(point, perf)])

    def put_accuracy(self, arith_key: str, acc: AccuracyResult) -> None:
        self._put("accuracy", arith_key, [accuracy_row(arith_key, acc)])

    def put_cpu_seconds(self, kind: str, key: str, seconds: float) -> None:
        atomic.write_text(self.cpu_dir / f"{kind}-{key}.json",
                          json.dumps({"kind": kind, "key": key, "cpu_seconds": float(seconds),
                                      "computed_at": utc_now()}))

    def cpu_seconds(self, points: Sequence[Point]) -> dict[str, float]:
        """Recorded CPU seconds of the evaluations of ``points``, summed per kind (accuracy, performance)."""
        wanted = {("performance", p.key) for p in points} | {("accuracy", p.arith().key) for p in points}
        out = {"accuracy": 0.0, "performance": 0.0}
        for kind, key in wanted:
            f = self.cpu_dir / f"{kind}-{key}.json"
            if f.exists():
                try:
                    out[kind] += float(json.loads(f.read_text())["cpu_seconds"])
                except (ValueError, KeyError, TypeError) as exc:  # bookkeeping only: never fatal
                    log.warning("ignoring unreadable CPU-time record %s: %s", f, exc)
        return out

    def computed_at(self, points: Sequence[Point]) -> dict[str, dict[str, str]]:
        """``{"performance": {point_hash: UTC time}, "accuracy": {arith_hash: UTC time}}`` of the evaluations
        of ``points``, as recorded when each finished (kept out of the rows, which are identical across runs)."""
        out: dict[str, dict[str, str]] = {"performance": {}, "accuracy": {}}
        wanted = {("performance", p.key) for p in points} | {("accuracy", p.arith().key) for p in points}
        for kind, key in sorted(wanted):
            f = self.cpu_dir / f"{kind}-{key}.json"
            try:
                out[kind][key] = json.loads(f.read_text())["computed_at"]
            except (OSError, ValueError, KeyError, TypeError):  # older record or none: bookkeeping only
                continue
        return out

    @staticmethod
    def _read(directory: Path, keys: Iterable[str], schema: pa.Schema) -> pd.DataFrame:
        files = [directory / f"{k}.parquet" for k in keys]
        tables = [pq.read_table(f, schema=schema) for f in files if f.exists()]
        return pa.concat_tables(tables).to_pandas() if tables else schema.empty_table().to_pandas()

    def results(self, points: Sequence[Point]) -> pd.DataFrame:
        """The joined results of ``points`` (in that order) that are finished, with derived metrics."""
        keys = [p.key for p in points]
        df = self._read(self.points_dir, keys, POINT_SCHEMA)
        acc = self._read(self.accuracy_dir, sorted({p.arith().key for p in points}), ACCURACY_SCHEMA)
        acc = acc.drop(columns=[c for c, _ in _META])
        df = df.merge(acc, on="arith_hash", how="inner")
        order = {k: i for i, k in enumerate(keys)}
        df = df.sort_values("point_hash", key=lambda s: s.map(order)).reset_index(drop=True)
        return derive_metrics(df)

    def ops(self, points: Sequence[Point]) -> pd.DataFrame:
        return self._read(self.ops_dir, [p.key for p in points], OPS_SCHEMA)

    def write_tables(self, points: Sequence[Point]) -> tuple[Path, pd.DataFrame]:
        """Write ``results.parquet`` and ``ops.parquet`` (atomically) and return the results table."""
        df = self.results(points)
        other = df[df["git_commit"] != git_commit()]
        if len(other):  # reused from an earlier run of different code: say so rather than mix silently
            log.warning("%d of %d results in %s were computed by other commits (%s); rerun into a fresh output "
                        "directory to recompute them with this code", len(other), len(df), self.out_dir,
                        ", ".join(sorted(set(other["git_commit"]))))
        path = self.out_dir / "results.parquet"
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"accel_version": __version__.encode(),
                                               b"git_commit": git_commit().encode(),
                                               b"written_at": utc_now().encode(),
                                               b"computed_at": json.dumps(self.computed_at(points)).encode(),
                                               b"model_files": json.dumps(model_files(points)).encode()})
        with atomic.atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        ops = self.ops(points)
        with atomic.atomic_path(self.out_dir / "ops.parquet") as tmp:
            pq.write_table(pa.Table.from_pylist(ops.to_dict("records"), schema=OPS_SCHEMA), tmp)
        return path, df


def model_files(points: Sequence[Point]) -> dict[str, dict]:
    """The pinned files of the real models in ``points``, each marked verified only if it checks out now."""
    from accel.errors import WorkloadError
    from workloads import fetch
    from workloads.models import REAL_MODELS

    out = {}
    for name in sorted({p.workload.model for p in points} & set(REAL_MODELS)):
        try:
            checked = fetch.verify(name)
        except WorkloadError as exc:
            log.warning("model files of %s do not verify: %s", name, exc)
            checked = {}
        out[name] = fetch.files_provenance(name, checked)
    return out
