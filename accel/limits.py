"""Resource limits: what a command would allocate and how long it would run, estimated before it starts.

Every command that can be asked for more than the machine has builds an :class:`Estimate` from the sizes
it was given and calls :func:`check` before allocating anything.  Beyond a limit :func:`check` raises the
caller's error type (``ConfigError``, or ``TraceError`` for traces) naming the estimate and the limit.

Limits (docs/bad_inputs.md, "Limits and command-line values"):

- memory: the smallest of ``ACCEL_MAX_MEMORY`` (bytes, or with a K/M/G/T suffix), :data:`MEMORY_SHARE`
  of the memory available now (``MemAvailable`` in /proc/meminfo) and the process's address-space
  limit (``ulimit -v``).  Never exceeded, not even with ``--force``.
- time: ``ACCEL_MAX_SECONDS`` (default :data:`DEFAULT_MAX_SECONDS`); a command with ``--force`` may
  exceed it.

The per-unit costs below were measured on the project's reference machine (2 cores, Python 3.11);
they are rounded up, so an estimate is an upper bound within about 2x.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from accel.errors import AccelError, ConfigError

DEFAULT_MAX_SECONDS = 60.0
MEMORY_SHARE = 0.8
MEMORY_ENV = "ACCEL_MAX_MEMORY"
SECONDS_ENV = "ACCEL_MAX_SECONDS"

#: Simulator, per fold of a GEMM's tiling: the plan's per-fold arrays plus the event loop's lists
#: (measured 290-480 B), and the time of one fold in the event-driven cycle model (measured 160-310 us)
#: and in the stall-free SCALE-Sim mode (measured 0.4-6 us, fixed costs included; benchmarks/bench_limits.py).
SIM_BYTES_PER_FOLD = 600
SIM_SECONDS_PER_FOLD_EVENTS = 400e-6
SIM_SECONDS_PER_FOLD_CLOSED_FORM = 4e-6
#: RTL: Verilog conversion (Amaranth + bundled Yosys) per byte of the design's RTLIL (measured 4-8 us, and
#: 40-50 B of peak memory per byte above a 150 MB base: 128x128 int8_mac, 36 MB of RTLIL, 1.9 GB).
RTL_SECONDS_PER_RTLIL_BYTE = 8e-6
RTL_BYTES_PER_RTLIL_BYTE = 50
RTL_BASE_BYTES = 150 << 20


@dataclass(frozen=True)
class Estimate:
    """What a piece of work would take: ``what`` names it in messages (e.g. "simulating GEMM 4x4->4")."""

    what: str
    bytes: float
    seconds: float = 0.0


def _parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.I)
    if not m:
        raise ConfigError(f"{MEMORY_ENV} must be a size in bytes like 8000000000, 512M or 8G, got {text!r}")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def memory_limit() -> tuple[int, str]:
    """(bytes, where the limit comes from) for the memory a single command may take."""
    candidates: list[tuple[float, str]] = []
    env = os.environ.get(MEMORY_ENV)
    if env:
        candidates.append((_parse_bytes(env), MEMORY_ENV))
    avail = available_memory()
    if avail is not None:
        candidates.append((avail * MEMORY_SHARE, f"{MEMORY_SHARE:.0%} of the {fmt_bytes(avail)} available now"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            candidates.append((soft, "the process's address-space limit (ulimit -v)"))
    except (ImportError, OSError, ValueError):
        pass
    if not candidates:
        return 2 ** 62, "no limit known"
    value, source = min(candidates)
    return int(value), source


def time_limit() -> float:
    """Seconds a command may be estimated to run without ``--force``."""
    env = os.environ.get(SECONDS_ENV)
    if not env:
        return DEFAULT_MAX_SECONDS
    try:
        value = float(env)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{SECONDS_ENV} must be a positive number of seconds, got {env!r}")
    return value


def _fmt(value: float, units: tuple[tuple[str, float], ...], last: str) -> str:
    for unit, scale in units:
        if value >= scale:
            v = value / scale
            return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.3g} {unit}"
    return f"{value:.3g} {last}"


def fmt_bytes(n: float) -> str:
    return _fmt(n, (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)), "B")


def fmt_seconds(s: float) -> str:
    return _fmt(s, (("years", 3.156e7), ("days", 86400), ("h", 3600), ("min", 60)), "s")


def check(est: Estimate, *, error: type[AccelError] = ConfigError, force: bool | None = None) -> None:
    """Raise ``error`` when ``est`` exceeds the memory limit, or the time limit unless ``force``.

    ``force=None``: the command has no ``--force`` (the message then names ``ACCEL_MAX_SECONDS``).
    """
    limit, source = memory_limit()
    if est.bytes > limit:
        raise error(f"{est.what} needs about {fmt_bytes(est.bytes)} of memory, more than the limit of "
                    f"{fmt_bytes(limit)} ({source}); ask for less (set {MEMORY_ENV} to lower the limit)")
    seconds = time_limit()
    if est.seconds > seconds and not force:
        how = "pass --force to run it anyway" if force is not None else f"set {SECONDS_ENV} to allow it"
        raise error(f"{est.what} would take about {fmt_seconds(est.seconds)}, longer than the limit of "
                    f"{fmt_seconds(seconds)} ({SECONDS_ENV}); {how}")


# ------------------------------------------------------------------------------------------- estimators
def simulation(what: str, largest_op_folds: int, total_folds: int, *, event_driven: bool) -> Estimate:
    """Simulating GEMMs whose tilings have ``total_folds`` folds (the largest op ``largest_op_folds``).

    Ops run one after another, so memory follows the largest op and time the sum.
    """
    per_fold = SIM_SECONDS_PER_FOLD_EVENTS if event_driven else SIM_SECONDS_PER_FOLD_CLOSED_FORM
    return Estimate(what, largest_op_folds * SIM_BYTES_PER_FOLD, total_folds * per_fold)


def rtl_conversion(what: str, rtlil_bytes: float) -> Estimate:
    """Converting a design of ``rtlil_bytes`` of RTLIL to Verilog (export, and the first step of verify)."""
    return Estimate(what, RTL_BASE_BYTES + rtlil_bytes * RTL_BYTES_PER_RTLIL_BYTE,
                    rtlil_bytes * RTL_SECONDS_PER_RTLIL_BYTE)


def decoder_forward(what: str, tokens: int, *, n_layers: int, hidden: int, ffn: int, n_heads: int, n_kv_heads: int,
                    vocab: int) -> Estimate:
    """A float64 LLaMA-style decoder held in memory and one prefill pass over ``tokens`` tokens.

    The weights (float64: 1.1 GB for SmolLM2-135M, whose default run peaks at 1.4 GB) plus the pass's peak:
    an attention layer (scores, their softmax and the causal mask: 3 x heads x T^2) or the logits with their
    log-softmax (3 x T x vocab), plus the activations of the widest layer.
    """
    t = int(tokens)
    kv = hidden // n_heads * n_kv_heads
    weights = vocab * hidden + n_layers * (hidden * (2 * hidden + 2 * kv) + 3 * hidden * ffn)
    peak = max(3 * n_heads * t * t, 3 * t * vocab) + 4 * t * max(hidden, ffn)
    return Estimate(what, 8.0 * (weights + peak))
