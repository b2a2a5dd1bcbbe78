"""Shared fixtures of the exploration tests (a test-local evaluator; no accel.pe/sim/workloads needed)."""

from pathlib import Path

import pytest

from cost_models.explore.spec import load_sweep

HERE = Path(__file__).parent
TOY_SWEEP = HERE / "toy_sweep.yaml"


@pytest.fixture
def toy_sweep():
    return load_sweep(TOY_SWEEP)


def logged(log_dir: Path, kind: str | None = None) -> list[str]:
    """Hashes evaluated (one entry per call) according to the toy evaluator's log directory."""
    out = []
    for p in Path(log_dir).iterdir():
        k, key = p.name.split("-")[:2]
        if kind is None or k == kind:
            out.append(key)
    return out
