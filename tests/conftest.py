"""Shared pytest configuration: tier markers are declared in pyproject.toml (strict)."""

import os

# Keep numba and hypothesis deterministic and quiet in CI.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".cache", "numba"))
