"""Progress of a sweep, per stage: what runs now, how many items are done and left, and an ETA.

Stages are the kinds of item (performance points, accuracy configurations) and then the report.  The
ETA weights the items by cost: each kind's mean CPU seconds per finished item prices the items left,
and the wall time so far per CPU second done turns that into time (so parallel workers and a loaded
machine are both accounted for).  Until an item of a kind has finished its cost is unknown, and the ETA
says it is a lower bound.  One line is written each time the state changes (never on a timer), to
stderr, so logs of a run stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: Item kind -> what a stage's items are called.
STAGE_NAMES = {"performance": "performance points", "accuracy": "accuracy configurations"}


def duration(seconds: float) -> str:
    """``1h02m``, ``4m05s``, ``12s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


#: Seconds between two lines that differ only in their ETA.
QUIET_SECONDS = 30.0


class Progress:
    """Counts, running items and the cost-weighted ETA of a sweep; ``enabled=False`` writes nothing."""

    def __init__(self, totals: dict[str, int], *, enabled: bool = True, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.totals = {k: n for k, n in totals.items() if n}
        self.done = dict.fromkeys(self.totals, 0)
        self.cpu = dict.fromkeys(self.totals, 0.0)
        self.running: list[str] = []
        self.enabled = enabled
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self._last = ""
        self._last_state: tuple = ()
        self._last_at = -float("inf")

    def eta(self) -> tuple[float, bool] | None:
        """(seconds left, exact-or-lower-bound) from the finished items' costs; None before any finished."""
        spent = sum(self.cpu.values())
        if spent <= 0:
            return None
        left_cpu, unknown = 0.0, False
        for kind, total in self.totals.items():
            left = total - self.done[kind]
            if left and self.done[kind]:
                left_cpu += left * self.cpu[kind] / self.done[kind]
            elif left:
                unknown = True
        return (self.clock() - self.start) * left_cpu / spent, not unknown

    def line(self) -> str:
        parts = [f"{STAGE_NAMES.get(k, k)} {self.done[k]}/{n} ({n - self.done[k]} left)"
                 for k, n in self.totals.items()]
        eta = self.eta()
        if eta is None:
            parts.append("ETA after the first item")
        else:
            seconds, exact = eta
            untimed = [STAGE_NAMES.get(k, k) for k, n in self.totals.items() if not self.done[k] and n]
            if exact:
                parts.append(f"ETA {duration(seconds)}")
            elif seconds >= 1:
                parts.append(f"ETA > {duration(seconds)} ({', '.join(untimed)} not timed yet)")
            else:
                parts.append(f"ETA after the first of the {' and '.join(untimed)}")
        text = "explore: " + " | ".join(parts)
        if self.running:
            text += " | running: " + "; ".join(self.running)
        return text

    def _emit(self) -> None:
        """A line when the counts or the running items change, else at most one per ``QUIET_SECONDS`` (the ETA
        alone moves every poll)."""
        text = self.line()
        state = (tuple(self.done.values()), tuple(self.running))
        now = self.clock()
        if self.enabled and text != self._last and (state != self._last_state or now - self._last_at >= QUIET_SECONDS):
            print(text, file=self.stream or sys.stderr, flush=True)
            self._last, self._last_state, self._last_at = text, state, now

    def set_running(self, names: list[str]) -> None:
        self.running = list(names)
        self._emit()

    def finished(self, kind: str, cpu_seconds: float, name: str = "") -> None:
        if name in self.running:
            self.running.remove(name)
        self.done[kind] = self.done.get(kind, 0) + 1
        self.cpu[kind] = self.cpu.get(kind, 0.0) + max(float(cpu_seconds), 1e-6)
        self._emit()



def report_steps(enabled: bool, stream: TextIO | None = None) -> Callable[[str], None]:
    """The report stage's progress: a callback writing the part being written (numbered), or a no-op."""
    count = iter(range(1, 1 << 30))

    def step(part: str) -> None:
        if enabled:
            print(f"explore: report: part {next(count)}, {part}", file=stream or sys.stderr, flush=True)
    return step
