import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from accel import __version__
from cost_models.explore.runner import run_points
from cost_models.explore.store import ResultsStore, git_commit

from .conftest import TOY_SWEEP, logged
from .toy import ToyEvaluator

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_results_table_and_provenance(tmp_path, toy_sweep):
    s = run_points(toy_sweep.points, ToyEvaluator(), tmp_path, jobs=1, progress=False)
    assert (s.points, s.points_evaluated, s.points_reused, s.failures) == (20, 20, 0, [])
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert len(df) == 20 and df["point_hash"].tolist() == [p.key for p in toy_sweep.points]
    assert set(df["tool_version"]) == {__version__} and set(df["git_commit"]) == {git_commit()}
    meta = pq.read_schema(tmp_path / "results.parquet").metadata
    assert meta[b"accel_version"].decode() == __version__
    # the parts directory is itself a Parquet dataset keyed by point hash
    parts = pd.read_parquet(tmp_path / "parts" / "points")
    assert sorted(parts["point_hash"]) == sorted(p.key for p in toy_sweep.points)
    # derived metrics are the stated formulas of stored columns
    pd.testing.assert_series_equal(df["latency_ms"], df["cycles"] / df["freq_mhz"] / 1e3, check_names=False)
    pd.testing.assert_series_equal(df["energy_per_token_pj"], df["energy_pj"] / df["tokens"], check_names=False)
    ops = pd.read_parquet(tmp_path / "ops.parquet")
    assert len(ops) == 2 * 20 and set(ops["phase"]) == {"prefill", "decode"}


def test_accuracy_once_per_arithmetic_config_and_rerun_skips_everything(tmp_path, toy_sweep):
    log1, log2 = tmp_path / "log1", tmp_path / "log2"
    log1.mkdir(), log2.mkdir()
    first = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log1)), tmp_path / "out", jobs=1, progress=False)
    acc = logged(log1, "accuracy")
    assert sorted(acc) == sorted(a.key for a in toy_sweep.arith_configs())  # each exactly once
    assert len(acc) == 5 < len(toy_sweep.points)
    assert sorted(logged(log1, "performance")) == sorted(p.key for p in toy_sweep.points)
    second = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log2)), tmp_path / "out", jobs=1, progress=False)
    assert logged(log2) == []
    assert (second.points_reused, second.accuracy_reused, second.points_evaluated) == (20, 5, 0)
    pd.testing.assert_frame_equal(first.results, second.results)


def test_failed_points_are_reported_and_retried(tmp_path, toy_sweep):
    bad = "toy:a=4,w=2"
    s = run_points(toy_sweep.points, ToyEvaluator(fail_pe=bad), tmp_path, jobs=1, progress=False)
    n_bad = sum(p.pe == bad for p in toy_sweep.points)
    assert len(s.failures) == n_bad and all(e.startswith("ValueError: toy failure for 'toy:a=4,w=2'")
                                            for _, _, e in s.failures)
    assert len(s.results) == 20 - n_bad
    log = tmp_path / "log"
    log.mkdir()
    s2 = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log)), tmp_path, jobs=1, progress=False)
    assert sorted(logged(log)) == sorted(p.key for p in toy_sweep.points if p.pe == bad)
    assert len(s2.results) == 20 and not s2.failures


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_temporary_files_of_dead_writers_are_removed_and_a_live_run_s_are_kept(tmp_path, toy_sweep):
    store = ResultsStore(tmp_path)
    dead, live = _dead_pid(), os.getppid()  # pytest's parent: alive, and not this process
    torn = store.points_dir / f".{toy_sweep.points[0].key}.parquet.{dead}.0badc0de.tmp"
    torn.write_bytes(b"PAR1 half written")
    torn_table = tmp_path / f".results.parquet.{dead}.tmp"  # an earlier version's temporary name
    torn_table.write_bytes(b"PAR1")
    in_flight = store.points_dir / f".{toy_sweep.points[1].key}.parquet.{live}.0badc0de.tmp"
    in_flight.write_bytes(b"PAR1 being written")
    store = ResultsStore(tmp_path)
    assert sorted(store.remove_stale_temps()) == sorted([torn, torn_table])
    assert not torn.exists() and not torn_table.exists() and in_flight.exists()
    assert store.finished_points() == set()


def test_local_processes_give_the_inline_results(tmp_path, toy_sweep):
    a = run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "a", jobs=1, progress=False)
    b = run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "b", jobs=2, progress=False)
    assert (a.backend, b.backend) == ("inline", "local:2")
    pd.testing.assert_frame_equal(a.results, b.results)


def test_dask_local_cluster_gives_the_local_results(tmp_path, toy_sweep):
    from distributed import LocalCluster

    local = run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "local", jobs=2, progress=False)
    log = tmp_path / "log"
    log.mkdir()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        dask = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log)), tmp_path / "dask",
                          scheduler=cluster.scheduler_address, progress=False)
    assert dask.backend == f"dask:{cluster.scheduler_address}"
    pids = {name.split("-")[2] for name in os.listdir(log)}
    assert str(os.getpid()) not in pids and len(logged(log)) == 25  # evaluated in the workers, each once
    pd.testing.assert_frame_equal(local.results, dask.results)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "local" / "results.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "results.parquet"))


KILLED_RUN = textwrap.dedent("""
    import sys
    from cost_models.explore.runner import run_points
    from cost_models.explore.spec import load_sweep
    from tests.explore.toy import ToyEvaluator
    if __name__ == "__main__":
        out, log = sys.argv[1], sys.argv[2]
        run_points(load_sweep({sweep!r}).points, ToyEvaluator(log_dir=log, delay_s=0.05, stall_after=6), out,
                   jobs=2, progress=False)
""")


def test_killing_a_sweep_midway_loses_no_finished_point(tmp_path, toy_sweep):
    out, log1, log2 = tmp_path / "killed", tmp_path / "log1", tmp_path / "log2"
    log1.mkdir(), log2.mkdir()
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN.format(sweep=str(TOY_SWEEP)))
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(log1)], cwd=ROOT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    points_dir = out / "parts" / "points"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if points_dir.is_dir() and len(list(points_dir.glob("*.parquet"))) >= 6:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    # SIGKILL the sweep and its workers (hanging in the 7th and 8th evaluations): no chance to clean up
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    store = ResultsStore(out)
    done_points, done_acc = store.finished_points(), store.finished_accuracy()
    assert len(done_points) == 6  # the 7th and 8th were in flight
    assert not (out / "results.parquet").exists()

    resumed = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log2)), out, jobs=1, progress=False)
    recomputed = set(logged(log2))
    assert not recomputed & (done_points | done_acc)  # no finished item is evaluated again
    assert recomputed == {p.key for p in toy_sweep.points} - done_points | (
        {a.key for a in toy_sweep.arith_configs()} - done_acc)
    assert resumed.points_reused == len(done_points)

    fresh = run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "fresh", jobs=1, progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"),
                                  pd.read_parquet(tmp_path / "fresh" / "results.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "ops.parquet"),
                                  pd.read_parquet(tmp_path / "fresh" / "ops.parquet"))
    assert len(fresh.results) == 20


def test_reusing_results_of_other_code_is_reported(tmp_path, toy_sweep, monkeypatch, caplog):
    run_points(toy_sweep.points, ToyEvaluator(), tmp_path, jobs=1, progress=False)
    from cost_models.explore import store

    monkeypatch.setattr(store, "git_commit", lambda: "f" * 40)  # the code has moved on since the first run
    with caplog.at_level("WARNING", logger="cost_models.explore.store"):
        run_points(toy_sweep.points, ToyEvaluator(), tmp_path, jobs=1, progress=False)
    assert any(r.getMessage().startswith("20 of 20 results in ") and "computed by other commits" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level("WARNING", logger="cost_models.explore.store"):
        run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "fresh", jobs=1, progress=False)
    assert not [r for r in caplog.records if "other commits" in r.getMessage()]
