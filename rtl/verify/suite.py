"""``accel rtl verify``: the standard check suite of one PE or array (its binding's), at one level."""

from __future__ import annotations

from pathlib import Path

from rtl.config import binding


def verify(target, *, backend: str = "icarus", vectors: int = 2000, seed: int = 0, waves: bool = False,
           workdir=None) -> dict:
    """Run the suite; returns ``{"checks": [report dicts], "ok": bool, "waves": [paths]}``."""

    def workdir_for(name: str):
        if workdir is None:
            return None
        d = Path(workdir) / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    spec = target.pe
    reports = binding(spec).verify(target, backend=backend, vectors=vectors, seed=seed, waves=waves,
                                   workdir=workdir_for)
    return {"target": target.name, "pe": spec.to_string(), "checks": [r.to_dict() for r in reports],
            "ok": all(r.ok for r in reports),
            "waves": [r.extra["waves"] for r in reports if r.extra.get("waves")]}
