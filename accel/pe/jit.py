"""numba for the PE kernels: compiled once, cached on disk, so a short run pays no compilation.

Kernels are ``numba.njit(cache=True)``; numba keeps the compiled code beside the sources (``__pycache__``).
When the package directory is not writable (an installed, read-only package) and ``NUMBA_CACHE_DIR`` is
not set, the cache goes to ``$ACCEL_CACHE/numba`` (default ``~/.cache/accel/numba``) instead.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


def cache_dir() -> Path | None:
    """Where numba caches the kernels when the package directory is not writable (None: beside the sources)."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.access(Path(__file__).parent, os.W_OK):
        return None
    return Path(os.environ.get("ACCEL_CACHE") or Path.home() / ".cache" / "accel") / "numba"


@functools.cache
def numba():
    """The numba module, its on-disk cache placed as the module docstring says."""
    where = cache_dir()
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(where)
    import numba as nb

    if where is not None:  # numba read its configuration on import; it may have been imported before us
        nb.config.CACHE_DIR = str(where)
    return nb
