"""Provenance recorded in every results file: tool version and the git commit of the source tree."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from accel import __version__

_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def git_commit() -> str | None:
    """The commit of the checkout accel runs from (with ``-dirty`` when modified), or None."""
    try:
        head = subprocess.run(["git", "-C", str(_ROOT), "describe", "--always", "--dirty", "--abbrev=40"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() or None if head.returncode == 0 else None


def provenance() -> dict[str, str | None]:
    """``{"tool": "accel", "version": ..., "git_commit": ...}`` for results files."""
    return {"tool": "accel", "version": __version__, "git_commit": git_commit()}
