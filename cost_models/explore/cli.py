"""``accel explore``: run a sweep (the default study with no arguments), then write tables, plots, report."""

from __future__ import annotations

import argparse
import importlib
import os

from accel.cliutil import add_command, check_output_dir
from accel.errors import AccelError, ConfigError

DEFAULT_PRESET = "default"
DEFAULT_EVALUATOR = "cost_models.explore.chain:ChainEvaluator"
#: Seconds to wait for a Dask scheduler to accept a connection before the sweep starts.
SCHEDULER_TIMEOUT_S = 5.0


def register(subparsers) -> None:
    """Add ``accel explore``."""
    p = add_command(subparsers, "explore", help="sweep designs: accuracy, cycles, energy, area -> fronts, report",
                    func=_explore, description=(
                        "Evaluate every design of a sweep (default: the SmolLM2-135M study) and write\n"
                        "results.parquet, ops.parquet, plots/ (PNG, SVG) and report.md under the output\n"
                        "directory. Finished points are kept: rerunning skips them."))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help=f"built-in sweep (default {DEFAULT_PRESET!r})")
    src.add_argument("--spec", metavar="SWEEP.yaml", help="sweep file")
    src.add_argument("--list-presets", action="store_true", help="list the built-in sweeps and exit")
    p.add_argument("-o", "--out", metavar="DIR", help="output directory (default results/<sweep name>)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                   help="Dask scheduler address, e.g. tcp://host:8786 (default $DASK_SCHEDULER_ADDRESS; "
                        "unset: local processes)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="local worker processes (default: CPU count)")
    p.add_argument("--evaluator", metavar="MODULE:NAME", default=DEFAULT_EVALUATOR,
                   help="evaluation stage: an Evaluator object or class (default: workloads accuracy + "
                        "sim.simulate + cost_models.evaluate)")
    p.add_argument("--wait", action="store_true", help="if another explore is using the output directory, wait for "
                                                        "it to finish instead of refusing")
    p.add_argument("--no-report", action="store_true", help="skip plots and report.md")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def load_evaluator(path: str):
    """Import ``MODULE:NAME``; a class is instantiated with no arguments."""
    mod_name, sep, attr = path.partition(":")
    if not sep or not mod_name or not attr:
        raise ConfigError(f"--evaluator must be written MODULE:NAME, got {path!r}")
    try:
        obj = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load evaluator {path!r}: {exc}") from None
    return obj() if isinstance(obj, type) else obj


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """ConfigError unless the TCP scheduler at ``address`` (``tcp://HOST:PORT`` or ``HOST:PORT``) accepts a
    connection within ``timeout`` seconds; other transports (tls://, inproc://, ...) are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme != "tcp":
        return
    try:
        url = urlsplit(address if "://" in address else f"tcp://{address}")
        host, port = url.hostname, url.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ConfigError(f"--scheduler must be a Dask scheduler address like tcp://host:8786, got {address!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r} ({why}); start one "
                          "there (`dask scheduler`) or leave --scheduler unset to use local processes") from None


def _explore(args: argparse.Namespace):
    from cost_models.explore import spec as spec_mod

    if args.list_presets:
        names = spec_mod.preset_names()
        if not args.json:
            for n in names:
                print(n)
        return {"presets": names}
    evaluator = load_evaluator(args.evaluator)
    canonical = getattr(evaluator, "canonical_pe", spec_mod.accel_canonical_pe)
    models = getattr(evaluator, "models", spec_mod.accel_models())
    if args.spec:
        sweep = spec_mod.load_sweep(args.spec, canonical_pe=canonical, models=models)
    else:
        sweep = spec_mod.load_preset(args.preset or DEFAULT_PRESET, canonical_pe=canonical, models=models)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be an integer >= 1, got {args.jobs!r}")
    out = args.out or os.path.join("results", sweep.name)
    check_output_dir(out, "-o/--out")
    if args.scheduler:
        check_scheduler(args.scheduler)
    return run_study(sweep, evaluator, out, scheduler=args.scheduler, jobs=args.jobs,
                     progress=not (args.no_progress or args.json), report=not args.no_report, quiet=args.json,
                     wait=args.wait)


def run_study(sweep, evaluator, out_dir, *, scheduler=None, jobs=None, progress=True, report=True, quiet=True,
              wait=False):
    """Run a sweep and write its report, holding the output directory's lock; returns the summary dict
    (what ``--json`` prints)."""
    from cost_models.explore.lock import output_lock
    from cost_models.explore.progress import report_steps
    from cost_models.explore.report import write_report
    from cost_models.explore.runner import run_points
    from cost_models.explore.store import ResultsStore

    with output_lock(out_dir, wait=wait):
        summary = run_points(sweep.points, evaluator, out_dir, scheduler=scheduler, jobs=jobs, progress=progress)
        result = summary.to_dict()
        result["sweep"] = sweep.name
        result["results"] = os.path.join(str(out_dir), "results.parquet")
        if report and summary.results is not None and len(summary.results):
            ops = ResultsStore(out_dir).ops(sweep.points)
            result["report"] = str(write_report(sweep, summary.results, ops, out_dir, backend=summary.backend,
                                                failures=summary.failures, step=report_steps(progress)))
    if not quiet:
        print(f"{sweep.name}: {summary.points} points ({summary.points_evaluated} evaluated, "
              f"{summary.points_reused} reused), {summary.accuracy_configs} accuracy configs "
              f"({summary.accuracy_evaluated} evaluated, {summary.accuracy_reused} reused), backend {summary.backend}")
        print(f"results: {result['results']}")
        if "report" in result:
            print(f"report:  {result['report']}")
    if summary.failures:
        kind, key, err = summary.failures[0]
        raise AccelError(f"{len(summary.failures)} evaluation(s) failed (first: {kind} {key}: {err}); the other "
                         f"results and the report are in {str(out_dir)!r}, and a rerun retries only the failures")
    return result
