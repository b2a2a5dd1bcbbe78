"""Start-up of the ``accel`` command against the least each command must load, measured in this run.

For each command line: the best of N processor times (user + system, far less sensitive to other load than wall
time) of a fresh process running it as the console script does, and of a fresh process that only imports what
the command itself needs (its bound).  A ratio near 1 means the entry point adds little beyond that.
Run: ``.venv/bin/python benchmarks/bench_cli.py [N]``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (command line, the imports it cannot do without)
CASES = ((["--help"], "import accel.cli, workloads.cli, sim.cli, rtl.cli, cost_models.cli"),
         (["formats", "list"], "import accel.cli, accel.formats.describe"),
         (["pe", "list"], "import accel.cli, accel.pe"))


def _cpu_seconds(code: str, *args: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(n: int = 5) -> None:
    entry = "import sys; from accel.cli import main; sys.exit(main())"
    python = min(_cpu_seconds("pass") for _ in range(n))
    print(f"processor time, best of {n} (bare python: {python * 1e3:.0f} ms)")
    print(f"{'accel ...':16} {'command ms':>10} {'bound ms':>9} {'ratio':>6}")
    for argv, bound_code in CASES:
        cmd = min(_cpu_seconds(entry, *argv) for _ in range(n))
        bound = min(_cpu_seconds(bound_code) for _ in range(n))
        print(f"{' '.join(argv):16} {cmd * 1e3:10.0f} {bound * 1e3:9.0f} {cmd / bound:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
