"""Run a sweep: evaluate the unfinished items in parallel and store each one the moment it finishes.

Items are the distinct arithmetic configurations (accuracy) and the points (performance); both are
independent, so they are submitted together and joined by hash afterwards.  Backends: inline
(``jobs=1``), local processes (default, ``ProcessPoolExecutor`` with spawned workers), or a Dask
cluster (``scheduler="tcp://..."``).  Only the calling process writes to the store, holding the output
directory's lock.  Local workers die with the calling process, however it dies (SIGKILL included):
they ask the kernel for a death signal when their parent goes (Linux), and a watchdog thread exits
them when their parent changes (everywhere).  A Dask cluster's workers belong to the cluster and are
left running.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cost_models.explore.lock import output_lock
from cost_models.explore.progress import Progress
from cost_models.explore.records import ArithConfig, Evaluator, Point
from cost_models.explore.store import ResultsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    kind: str  # "accuracy" | "performance"
    item: ArithConfig | Point

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def name(self) -> str:
        """What a progress line calls this item."""
        item = self.item
        if isinstance(item, ArithConfig):
            extra = "".join([f", KV {item.kv_cache_format}" if item.kv_cache_format else "",
                             ", attention on the PE" if item.attention == "pe" else ""])
            return f"accuracy {item.pe}{extra} on {item.model}"
        return f"performance {item.label} on {item.workload.model}"

    @property
    def cost_rank(self) -> tuple[int, int]:
        """Sort key, cheap items first: performance points (seconds each), then accuracy configurations
        (minutes each) by the tokens they evaluate."""
        if isinstance(self.item, ArithConfig):
            return 1, self.item.accuracy_windows * self.item.accuracy_tokens
        return 0, 0


def run_task(evaluator: Evaluator, task: Task):
    """Evaluate one task (runs in a worker)."""
    if task.kind == "accuracy":
        return evaluator.accuracy(task.item)
    return evaluator.performance(task.item)


def timed_task(evaluator: Evaluator, task: Task):
    """(result, CPU seconds of the worker process spent on it)."""
    import time

    t0 = time.process_time()
    result = run_task(evaluator, task)
    return result, time.process_time() - t0


@dataclass
class RunSummary:
    out_dir: Path
    points: int
    points_evaluated: int
    points_reused: int
    accuracy_configs: int
    accuracy_evaluated: int
    accuracy_reused: int
    backend: str
    parts_set_aside: list[tuple[str, str, str]] = field(default_factory=list)  # (part, moved to, why)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, key, error)
    results: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "results"}
        d["out_dir"] = str(self.out_dir)
        d["failures"] = [{"kind": k, "key": h, "error": e} for k, h, e in self.failures]
        d["parts_set_aside"] = [{"part": p, "moved_to": m, "why": w} for p, m, w in self.parts_set_aside]
        return d


def _inline(evaluator, tasks, on_running) -> Iterator[tuple[Task, object, BaseException | None]]:
    for t in tasks:
        on_running([t])
        try:
            yield t, timed_task(evaluator, t), None
        except Exception as exc:  # noqa: BLE001 - reported per item, the sweep goes on
            yield t, None, exc


PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _terminate_workers(pool) -> None:
    """Stop a pool's workers now, mid-task (ProcessPoolExecutor.terminate_workers from Python 3.14)."""
    stop = getattr(pool, "terminate_workers", None)
    if stop is not None:
        stop()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()


#: Seconds between looks at which items a backend is running (a progress line is written only on a change).
RUNNING_POLL_S = 1.0


def _local(evaluator, tasks, jobs: int, on_running):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))
    finished = False
    try:
        futures = {pool.submit(timed_task, evaluator, t): t for t in tasks}
        pending = set(futures)
        while pending:
            # the pool marks queued items running too (its call queue is longer than the worker count): the
            # first ``jobs`` of them, in submission order, are the ones the workers hold
            on_running([futures[f] for f in futures if f in pending and f.running()][:jobs])
            done, pending = wait(pending, timeout=RUNNING_POLL_S, return_when=FIRST_COMPLETED)
            for f in done:
                exc = f.exception()
                yield futures[f], (None if exc else f.result()), exc
        finished = True
    finally:
        if not finished:  # interrupted or abandoned: in-flight items are unfinished and will be rerun
            _terminate_workers(pool)
        pool.shutdown(wait=finished, cancel_futures=True)


def _dask(evaluator, tasks, address: str, on_running):
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        futures = {client.submit(timed_task, evaluator, t, pure=False): t for t in tasks}
        on_running([])  # a cluster's scheduler decides what runs; the counts still tell the progress
        try:
            for f in as_completed(list(futures), loop=client.loop):
                exc = f.exception()
                yield futures[f], (None if exc else f.result()), exc
        finally:
            client.cancel(list(futures))


def run_points(points: Sequence[Point], evaluator: Evaluator, out_dir: str | Path, *, scheduler: str | None = None,
               jobs: int | None = None, progress: bool = True, wait: bool = False) -> RunSummary:
    """Evaluate every unfinished point of ``points`` (and each distinct arithmetic configuration once).

    Holds ``out_dir``'s lock throughout: another explore on it makes this raise ConfigError, or with
    ``wait`` wait for it.
    """
    with output_lock(out_dir, wait=wait):
        return _run_points(points, evaluator, out_dir, scheduler=scheduler, jobs=jobs, progress=progress)


def _run_points(points, evaluator, out_dir, *, scheduler, jobs, progress) -> RunSummary:
    store = ResultsStore(out_dir)
    store.remove_stale_temps()
    points = list(dict.fromkeys(points))
    ariths = list(dict.fromkeys(p.arith() for p in points))
    done_pts, done_acc = store.finished_points(), store.finished_accuracy()
    tasks = [Task("accuracy", a) for a in ariths if a.key not in done_acc]
    tasks += [Task("performance", p) for p in points if p.key not in done_pts]
    tasks.sort(key=lambda t: t.cost_rank)  # stable: cheap first, so the ETA starts from measured items
    jobs = jobs or os.cpu_count() or 1
    if not tasks:
        backend = "none (every item reused)"
    elif scheduler:
        backend = f"dask:{scheduler}"
    else:
        backend = "inline" if jobs == 1 or len(tasks) == 1 else f"local:{min(jobs, len(tasks))}"
    summary = RunSummary(out_dir=Path(out_dir), points=len(points),
                         points_evaluated=0, points_reused=len(points) - sum(t.kind == "performance" for t in tasks),
                         accuracy_configs=len(ariths), accuracy_evaluated=0,
                         accuracy_reused=len(ariths) - sum(t.kind == "accuracy" for t in tasks), backend=backend,
                         parts_set_aside=[(str(p), str(m), w) for p, m, w in store.set_aside])
    log.info("sweep: %d points (%d finished), %d arithmetic configs (%d finished), backend %s",
             len(points), summary.points_reused, len(ariths), summary.accuracy_reused, backend)
    if tasks:
        bar = Progress({kind: sum(t.kind == kind for t in tasks) for kind in ("performance", "accuracy")},
                       enabled=progress)

        def on_running(running: list[Task]) -> None:
            bar.set_running([t.name for t in running])

        if scheduler:
            stream = _dask(evaluator, tasks, scheduler, on_running)
        elif backend == "inline":
            stream = _inline(evaluator, tasks, on_running)
        else:
            stream = _local(evaluator, tasks, min(jobs, len(tasks)), on_running)  # backend "local:N"
        # closing: an exception here (Ctrl-C while storing a result) stops the backend's workers at once
        with closing(stream):
            for task, timed, exc in stream:
                if exc is not None:
                    log.error("%s of %s failed: %s", task.kind, task.key, exc)
                    summary.failures.append((task.kind, task.key, f"{type(exc).__name__}: {exc}"))
                    bar.finished(task.kind, 0.0, task.name)
                    continue
                result, cpu_s = timed
                if task.kind == "accuracy":
                    store.put_accuracy(task.key, result)
                    summary.accuracy_evaluated += 1
                else:
                    store.put_point(task.item, result)
                    summary.points_evaluated += 1
                store.put_cpu_seconds(task.kind, task.key, cpu_s)
                bar.finished(task.kind, cpu_s, task.name)
    _, summary.results = store.write_tables(points)
    return summary
