import io
import re

import pytest

from cost_models.explore.progress import QUIET_SECONDS, Progress, duration, report_steps

from .conftest import TOY_SWEEP
from .test_report_cli import TOY, _run

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_the_eta_weights_items_by_their_measured_cost():
    clock, out = Clock(), io.StringIO()
    p = Progress({"performance": 4, "accuracy": 2}, stream=out, clock=clock)
    assert p.eta() is None
    p.set_running(["performance a"])
    assert out.getvalue().splitlines()[-1] == ("explore: performance points 0/4 (4 left) | accuracy configurations 0/2 "
                                               "(2 left) | ETA after the first item | running: performance a")
    clock.t = 2.0
    p.finished("performance", 1.0, "performance a")  # 1 CPU s in 2 s of wall time
    seconds, exact = p.eta()
    assert (seconds, exact) == (pytest.approx(6.0), False)  # 3 points of 1 s each, at 2 s wall per CPU s
    assert "ETA > 6s (accuracy configurations not timed yet)" in out.getvalue().splitlines()[-1]
    for _ in range(3):
        p.finished("performance", 1.0)
    assert out.getvalue().splitlines()[-1].endswith("| ETA after the first of the accuracy configurations")
    clock.t = 22.0
    p.finished("accuracy", 10.0)
    # left: 1 config x 10 s = 10 CPU s; 22 s of wall for 14 CPU s done -> 15.7 s
    assert p.eta() == (pytest.approx(22 * 10 / 14), True)
    assert out.getvalue().splitlines()[-1].endswith("accuracy configurations 1/2 (1 left) | ETA 16s")
    n = len(out.getvalue().splitlines())
    p.set_running([])  # same state: no new line
    assert len(out.getvalue().splitlines()) == n
    assert [duration(s) for s in (12, 245, 3720)] == ["12s", "4m05s", "1h02m"]


def test_a_line_whose_eta_alone_moved_waits_for_the_quiet_interval():
    clock, out = Clock(), io.StringIO()
    p = Progress({"accuracy": 3}, stream=out, clock=clock)
    clock.t = 10.0
    p.finished("accuracy", 10.0, "a")
    p.set_running(["b"])
    n = len(out.getvalue().splitlines())
    for t in (11.0, 12.0, 10.0 + QUIET_SECONDS - 1):  # the ETA text changes with the clock, nothing else does
        clock.t = t
        p.set_running(["b"])
    assert len(out.getvalue().splitlines()) == n
    clock.t = 12.0 + QUIET_SECONDS
    p.set_running(["b"])
    assert len(out.getvalue().splitlines()) == n + 1
    p.finished("accuracy", 10.0, "b")  # a count changed: a line at once
    assert len(out.getvalue().splitlines()) == n + 2


def test_a_disabled_progress_and_report_steps_write_nothing():
    out = io.StringIO()
    p = Progress({"performance": 1}, enabled=False, stream=out)
    p.set_running(["x"])
    p.finished("performance", 1.0)
    report_steps(False, out)("setup")
    assert out.getvalue() == ""
    report_steps(True, out)("setup")
    assert out.getvalue() == "explore: report: part 1, setup\n"


def test_explore_reports_each_stage_and_is_quiet_when_asked(tmp_path, capsys):
    _run("--spec", str(TOY_SWEEP), "-o", str(tmp_path / "a"), "--evaluator", TOY, "-j", "1")
    err = capsys.readouterr().err.splitlines()
    lines = [ln for ln in err if ln.startswith("explore: ")]
    assert lines[0] == ("explore: performance points 0/20 (20 left) | accuracy configurations 0/5 (5 left) | ETA after "
                        "the first item | running: performance toy:w=8,a=8 @ 8x8 on toy")
    # cheap items first: every performance point finishes before the first accuracy configuration
    counts = [tuple(map(int, re.findall(r"(\d+)/\d+", ln)[:2])) for ln in lines if "left)" in ln]
    first_acc = next(i for i, (_, a) in enumerate(counts) if a)
    assert counts[first_acc - 1][0] == 20
    assert any("running: accuracy toy:a=4,w=2 on toy" in ln for ln in lines)
    assert re.search(r"\| ETA \d+s$", [ln for ln in lines if "left)" in ln][-1])
    report = [ln for ln in lines if ln.startswith("explore: report: ")]
    assert report[0] == "explore: report: part 1, setup" and report[-1].endswith(", report.html")
    for flag in ("--no-progress", "--json"):
        _run("--spec", str(TOY_SWEEP), "-o", str(tmp_path / flag), "--evaluator", TOY, "-j", "1", flag)
        assert not [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("explore: ")], flag
