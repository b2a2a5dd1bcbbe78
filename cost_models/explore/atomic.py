"""Files of an output directory written whole or not at all, and removed only by the process that owns them.

Every file goes to a hidden temporary name in the same directory, ``.<name>.<pid>.<random>.tmp``, is
fsynced and then renamed into place (atomic on POSIX): a reader sees the old file or the new one, never
a torn one.  A temporary whose process is gone is debris; one of a live process is left alone.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TOKEN_HEX = 8
#: Temporary names: this module's, then the ``.<name>.<pid>.tmp`` of earlier versions.
_TEMPS = (re.compile(rf"^\..+\.(\d+)\.[0-9a-f]{{{_TOKEN_HEX}}}\.tmp$"), re.compile(r"^\..+\.(\d+)\.tmp$"))


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``, unique to this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(_TOKEN_HEX // 2)}.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove the temporaries in ``directory`` whose writing process is dead; return them."""
    removed = []
    for p in directory.glob(".*.tmp"):
        m = next(filter(None, (r.match(p.name) for r in _TEMPS)), None)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
