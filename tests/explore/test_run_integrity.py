"""An explore survives its own processes: killed mid-run, run twice at once, or resumed over a damaged part.

The sweeps run in a subprocess (their own session, so a test can always clean up) with the toy
evaluator hanging after a known number of points, so the kill lands mid-run at a known point.
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from accel.cli import main
from accel.errors import ConfigError
from cost_models.explore import atomic
from cost_models.explore.lock import LOCK_NAME, output_lock
from cost_models.explore.runner import run_points
from cost_models.explore.store import ResultsStore

from .conftest import TOY_SWEEP, logged
from .toy import ToyEvaluator

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
TOY = "tests.explore.toy:ToyEvaluator"
STALL_AFTER = 6

STUDY = textwrap.dedent("""
    import sys
    from cost_models.explore.cli import run_study
    from cost_models.explore.spec import load_sweep
    from tests.explore.toy import ToyEvaluator
    if __name__ == "__main__":
        out, log = sys.argv[1], sys.argv[2]
        run_study(load_sweep({sweep!r}), ToyEvaluator(log_dir=log, delay_s=0.05, stall_after={stall}), out,
                  jobs=2, progress=False)
""")


@pytest.fixture
def stalled_study(tmp_path):
    """``start(out) -> Popen``: a study on the toy sweep with two workers, hanging once 6 points are stored."""
    procs = []

    def start(out: Path) -> subprocess.Popen:
        log = tmp_path / f"log-{len(procs)}"
        log.mkdir()
        script = tmp_path / "study.py"
        script.write_text(STUDY.format(sweep=str(TOY_SWEEP), stall=STALL_AFTER))
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(log)], cwd=ROOT, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        procs.append(proc)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "parts" / "points").glob("*.parquet"))) >= STALL_AFTER:
                _wait_settled(out / "parts", deadline)
                return proc
            time.sleep(0.02)
        raise AssertionError(f"the study ended (rc {proc.poll()}) or never reached {STALL_AFTER} points")

    yield start
    for proc in procs:  # whatever the test did, leave nothing running
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _wait_settled(parts: Path, deadline: float) -> None:
    """Until no part file is being written (no temporary file, the same listing twice in a row)."""
    last = None
    while time.monotonic() < deadline:
        names = sorted(str(p.relative_to(parts)) for p in parts.rglob("*"))
        if names == last and not any(n.endswith(".tmp") for n in names):
            return
        last = names
        time.sleep(0.3)
    raise AssertionError(f"the stalled study kept writing under {parts}")


def _running(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_workers_exit_when_the_explore_dies_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path, toy_sweep,
                                                                                           stalled_study, sig):
    out = tmp_path / "out"
    proc = stalled_study(out)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) >= 2  # two pool workers (and the multiprocessing resource tracker)
    os.kill(proc.pid, sig)  # the main process only: its workers are hanging in the 7th and 8th points
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10
    while _running(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(workers) == []

    done = ResultsStore(out).finished_points()
    assert len(done) == STALL_AFTER and not (out / "results.parquet").exists()
    log = tmp_path / "resume-log"
    log.mkdir()
    resumed = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log)), out, jobs=1, progress=False)
    assert resumed.points_reused == STALL_AFTER and not set(logged(log, "performance")) & done
    run_points(toy_sweep.points, ToyEvaluator(), tmp_path / "fresh", jobs=1, progress=False)
    for table in ("results.parquet", "ops.parquet"):  # row by row (the tables hold no timestamps)
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), pd.read_parquet(tmp_path / "fresh" / table))


def test_a_second_explore_on_the_same_output_refuses_naming_the_holder(tmp_path, stalled_study, capsys):
    out = tmp_path / "out"
    first = stalled_study(out)
    assert (out / LOCK_NAME).read_text() == f"{first.pid}\n"
    parts = sorted(p.name for p in (out / "parts").rglob("*"))
    code = main(["explore", "--spec", str(TOY_SWEEP), "-o", str(out), "--evaluator", TOY, "-j", "1"])
    assert code == 2
    assert re.fullmatch(rf"accel: error: output directory '{re.escape(str(out))}' is in use by another explore "
                        rf"\(pid {first.pid}\); wait for it to finish, rerun with --wait, or choose another -o\n",
                        capsys.readouterr().err)
    assert sorted(p.name for p in (out / "parts").rglob("*")) == parts  # nothing touched
    assert first.poll() is None


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from cost_models.explore.lock import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        while not Path(sys.argv[2]).exists():
            time.sleep(0.02)
""")


def test_with_wait_a_second_run_waits_for_the_first(tmp_path, toy_sweep, caplog):
    out, release = tmp_path / "out", tmp_path / "release"
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(out), str(release)], cwd=ROOT, stdout=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}) as holder:
        try:
            assert holder.stdout.readline() == "held\n"
            with pytest.raises(ConfigError, match=rf"in use by another explore \(pid {holder.pid}\)"):
                run_points(toy_sweep.points, ToyEvaluator(), out, jobs=1, progress=False)
            timer = threading.Timer(1.0, release.touch)
            timer.start()
            with caplog.at_level("WARNING", logger="cost_models.explore.lock"):
                code = main(["explore", "--spec", str(TOY_SWEEP), "-o", str(out), "--evaluator", TOY, "-j", "1",
                             "--no-report", "--wait"])
            assert release.exists() and holder.wait(timeout=30) == 0  # it ran only once the holder let go
            assert code == 0 and len(ResultsStore(out).finished_points()) == 20
            assert [r.getMessage() for r in caplog.records] == [
                f"output directory {str(out)!r} is in use by another explore (pid {holder.pid}); waiting for it"]
        finally:
            release.touch()
            holder.wait(timeout=30)


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path, toy_sweep):
    with output_lock(tmp_path):
        run_points(toy_sweep.points[:2], ToyEvaluator(), tmp_path, jobs=1, progress=False)
    with output_lock(tmp_path):
        pass


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupt_and_truncated_parts_are_reported_moved_aside_and_recomputed(tmp_path, toy_sweep, caplog):
    out = tmp_path / "out"
    first = run_points(toy_sweep.points, ToyEvaluator(), out, jobs=1, progress=False)
    assert first.parts_set_aside == []
    store = ResultsStore(out)
    ref = {t: pd.read_parquet(out / t) for t in ("results.parquet", "ops.parquet")}
    flipped, ops_flipped, legacy = (toy_sweep.points[i].key for i in (3, 5, 7))
    truncated = sorted(a.key for a in toy_sweep.arith_configs())[0]
    part = store.points_dir / f"{flipped}.parquet"
    _flip(part, part.stat().st_size // 2)
    _flip(store.ops_dir / f"{ops_flipped}.parquet", 40)
    acc = store.accuracy_dir / f"{truncated}.parquet"
    acc.write_bytes(acc.read_bytes()[: acc.stat().st_size // 2])
    (out / "parts" / "sha256" / "points" / f"{legacy}.parquet.sha256").unlink()  # a part of an earlier version

    log = tmp_path / "log"
    log.mkdir()
    with caplog.at_level("WARNING", logger="cost_models.explore.store"):
        second = run_points(toy_sweep.points, ToyEvaluator(log_dir=str(log)), out, jobs=1, progress=False)
    warned = [r.getMessage() for r in caplog.records if "is corrupt" in r.getMessage()]
    assert len(warned) == 4, warned
    assert any(m.startswith(f"part file {part} is corrupt (its SHA-256 ") and
               m.endswith(f": moved to {out / 'corrupt' / 'points' / part.name}; it will be recomputed")
               for m in warned)
    assert any(m.startswith(f"part file {acc} is corrupt (its SHA-256 ") for m in warned)
    assert any(m.startswith(f"part file {store.points_dir / (ops_flipped + '.parquet')} is corrupt (its ops part "
                            "is missing or corrupt)") for m in warned)
    assert sorted(Path(p["part"]).name for p in second.to_dict()["parts_set_aside"]) == sorted(
        [f"{flipped}.parquet", f"{ops_flipped}.parquet", f"{ops_flipped}.parquet", f"{truncated}.parquet"])
    assert sorted(str(p.relative_to(out / "corrupt")) for p in (out / "corrupt").rglob("*.parquet")) == sorted(
        [f"points/{flipped}.parquet", f"ops/{ops_flipped}.parquet", f"points/{ops_flipped}.parquet",
         f"accuracy/{truncated}.parquet"])
    assert sorted(logged(log, "performance")) == sorted([flipped, ops_flipped])
    assert logged(log, "accuracy") == [truncated]
    assert (out / "parts" / "sha256" / "points" / f"{legacy}.parquet.sha256").is_file()  # adopted, not recomputed
    for table, df in ref.items():
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), df)
    third = run_points(toy_sweep.points, ToyEvaluator(), out, jobs=1, progress=False)
    assert third.parts_set_aside == [] and third.points_reused == 20


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError, match="^disk full$"):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_report_and_plots_leave_no_temporary_files(tmp_path):
    from cost_models.explore.cli import run_study
    from cost_models.explore.spec import load_sweep

    run_study(load_sweep(TOY_SWEEP), ToyEvaluator(), tmp_path, jobs=1, progress=False)
    assert (tmp_path / "report.md").is_file() and len(list((tmp_path / "plots").glob("*.png"))) >= 3
    assert list(tmp_path.rglob("*.tmp")) == []


CHILD = textwrap.dedent("""
    import sys, threading, time
    from cost_models.explore import runner
    threading.Thread(target=runner._watch_parent, args=(int(sys.argv[1]),), daemon=True).start()
    print("watching", flush=True)
    time.sleep(600)
""")
PARENT = textwrap.dedent("""
    import os, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
    print(child.pid, flush=True)
    child.wait()
""")


def test_the_watchdog_alone_ends_a_worker_whose_parent_died(tmp_path):
    """The portable fallback, without the Linux death signal."""
    with subprocess.Popen([sys.executable, "-c", PARENT, CHILD], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)}) as parent:
        child = psutil.Process(int(parent.stdout.readline()))
        try:
            assert parent.stdout.readline() == "watching\n"
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 10
            while _running([child]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _running([child]) == []
        finally:
            os.killpg(parent.pid, signal.SIGKILL) if _running([child]) else None


def test_results_record_model_files_as_verified_only_when_they_verify(tmp_path, toy_sweep, monkeypatch, caplog):
    import dataclasses
    import json

    import pyarrow.parquet as pq

    from workloads import fetch

    monkeypatch.setenv("ACCEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(fetch, "_VERIFIED", {})
    points = [dataclasses.replace(p, workload=dataclasses.replace(p.workload, model="smollm2-135m"))
              for p in toy_sweep.points[:2]]
    with caplog.at_level("WARNING", logger="cost_models.explore.store"):
        run_points(points, ToyEvaluator(), tmp_path / "out", jobs=1, progress=False)
    meta = json.loads(pq.read_schema(tmp_path / "out" / "results.parquet").metadata[b"model_files"])
    assert meta == {"smollm2-135m": {f.name: {"sha256": f.sha256, "verified": False}
                                     for f in fetch.source("smollm2-135m").files}}
    assert any(r.getMessage().startswith("model files of smollm2-135m do not verify: model 'smollm2-135m' is not "
                                         "in the cache") for r in caplog.records)
    run_points(toy_sweep.points[:2], ToyEvaluator(), tmp_path / "toy", jobs=1, progress=False)
    assert json.loads(pq.read_schema(tmp_path / "toy" / "results.parquet").metadata[b"model_files"]) == {}
