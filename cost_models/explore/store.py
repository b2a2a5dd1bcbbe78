"""Results store: a Parquet dataset of one file per finished item, keyed by its configuration hash.

Layout under the output directory::

    parts/points/<point_hash>.parquet      one row: the point, its PerfResult, tool version, git commit
    parts/ops/<point_hash>.parquet         per-op rows of that point (roofline)
    parts/accuracy/<arith_hash>.parquet    one row: the AccuracyResult of an arithmetic configuration
    parts/cpu/<kind>-<hash>.json           CPU seconds the evaluation took (not part of the results, which
                                           stay identical across runs and backends)
    results.parquet, ops.parquet           the joined tables of the last run (rewritten at its end)

Every file is written to a hidden temporary name, fsynced, then renamed into place (atomic on POSIX),
so killing the process at any moment loses no finished item and never leaves a torn part: a rerun
reads the parts that exist and evaluates only the rest.  Point parts are written after their ops
parts, so a point part's presence means the point is complete.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from accel import __version__
from cost_models.explore.records import AccuracyResult, OpPerf, PerfResult, Point, Workload, scalar_fields

log = logging.getLogger(__name__)

_ARROW = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
          "int | None": pa.int64(), "str | None": pa.string(), "tuple[str, ...]": pa.string(),
          "tuple[float, ...]": pa.list_(pa.float64())}
_META = [("tool_version", pa.string()), ("git_commit", pa.string())]


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
    row.update(tool_version=__version__, git_commit=git_commit())
    return row


def accuracy_row(arith_key: str, acc: AccuracyResult) -> dict:
    row = {"arith_hash": arith_key}
    row.update({"accuracy_" + f.name: (list(v) if isinstance(v := getattr(acc, f.name), tuple) else v)
                for f in dataclasses.fields(AccuracyResult)})
    row.update(accuracy_loss=acc.loss, tool_version=__version__, git_commit=git_commit())
    return row


def ops_rows(point_key: str, perf: PerfResult) -> list[dict]:
    return [{"point_hash": point_key, **dataclasses.asdict(op)} for op in perf.ops]


def _write_atomic(path: Path, rows: Sequence[dict], schema: pa.Schema) -> None:
    table = pa.Table.from_pylist(list(rows), schema=schema)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def derive_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns (latency, energy per token, area in mm^2, energy-delay product)."""
    df = df.copy()
    df["latency_ms"] = df["cycles"] / (df["freq_mhz"] * 1e3)
    df["energy_per_token_pj"] = df["energy_pj"] / df["tokens"].clip(lower=1)
    df["area_mm2"] = df["area_um2"] / 1e6
    df["edp_pj_s"] = df["energy_pj"] * df["latency_ms"] / 1e3
    return df


class ResultsStore:
    """The results of one output directory."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.points_dir = self.out_dir / "parts" / "points"
        self.ops_dir = self.out_dir / "parts" / "ops"
        self.accuracy_dir = self.out_dir / "parts" / "accuracy"
        self.cpu_dir = self.out_dir / "parts" / "cpu"
        for d in (self.points_dir, self.ops_dir, self.accuracy_dir, self.cpu_dir):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.out_dir, self.points_dir, self.ops_dir, self.accuracy_dir, self.cpu_dir):
            for stale in d.glob(".*.tmp"):  # a temporary file of a killed writer: never a finished item
                stale.unlink(missing_ok=True)

    def finished_points(self) -> set[str]:
        return {p.stem for p in self.points_dir.glob("*.parquet")}

    def finished_accuracy(self) -> set[str]:
        return {p.stem for p in self.accuracy_dir.glob("*.parquet")}

    def put_point(self, point: Point, perf: PerfResult) -> None:
        key = point.key
        _write_atomic(self.ops_dir / f"{key}.parquet", ops_rows(key, perf), OPS_SCHEMA)
        _write_atomic(self.points_dir / f"{key}.parquet", [point_row(point, perf)], POINT_SCHEMA)

    def put_accuracy(self, arith_key: str, acc: AccuracyResult) -> None:
        _write_atomic(self.accuracy_dir / f"{arith_key}.parquet", [accuracy_row(arith_key, acc)], ACCURACY_SCHEMA)

    def put_cpu_seconds(self, kind: str, key: str, seconds: float) -> None:
        import json

        path = self.cpu_dir / f"{kind}-{key}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"kind": kind, "key": key, "cpu_seconds": float(seconds)}))
        os.replace(tmp, path)

    def cpu_seconds(self, points: Sequence[Point]) -> dict[str, float]:
        """Recorded CPU seconds of the evaluations of ``points``, summed per kind (accuracy, performance)."""
        import json

        wanted = {("performance", p.key) for p in points} | {("accuracy", p.arith().key) for p in points}
        out = {"accuracy": 0.0, "performance": 0.0}
        for kind, key in wanted:
            f = self.cpu_dir / f"{kind}-{key}.json"
            if f.exists():
                out[kind] += float(json.loads(f.read_text())["cpu_seconds"])
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
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"accel_version": __version__.encode(),
                                               b"git_commit": git_commit().encode()})
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        ops = self.ops(points)
        _write_atomic(self.out_dir / "ops.parquet", ops.to_dict("records"), OPS_SCHEMA)
        return path, df
