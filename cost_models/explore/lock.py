"""One explore per output directory: an exclusive ``flock`` on ``<out>/.explore.lock`` holding the owner's pid.

The kernel drops the lock when its holder dies, however it dies, so a killed run never leaves the
directory locked.  The lock is re-entrant within a process (the study holds it around the sweep and
the report; the sweep takes it again).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from accel.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_NAME = ".explore.lock"
_held: dict[str, int] = {}  # resolved output directory -> nesting depth in this process


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "a process that has not written its pid yet"


@contextmanager
def output_lock(out_dir: str | Path, *, wait: bool = False) -> Iterator[None]:
    """Hold ``out_dir``'s lock; if another process holds it, raise ConfigError (or with ``wait``, wait)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = str(out_dir.resolve())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = os.open(out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise ConfigError(f"output directory {str(out_dir)!r} is in use by another explore ({holder}); "
                                  "wait for it to finish, rerun with --wait, or choose another -o") from None
            log.warning("output directory %r is in use by another explore (%s); waiting for it", str(out_dir), holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock
