"""``accel rtl verify``: the standard vector suite for one PE or array, at one level."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rtl.checks import (
    check_array,
    check_mixpe_array,
    check_pe,
    corner_groups,
    exhaustive_pairs,
    extreme_codes,
    group_length,
    random_groups,
)
from rtl.golden import fp_accumulating, operand_codes

EXHAUSTIVE_LIMIT = 2**16


def _workdir(base, name: str):
    if base is None:
        return None
    d = Path(base) / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def verify(target, *, backend: str = "icarus", vectors: int = 2000, seed: int = 0, waves: bool = False,
           workdir=None) -> dict:
    """Run the suite; returns ``{"checks": [report dicts], "ok": bool, "waves": [paths]}``."""
    spec = target.pe
    reports = []
    if spec.name in ("block_mac", "lmul"):
        from rtl.block_checks import verify_suite

        reports = verify_suite(spec, backend=backend, vectors=vectors, seed=seed, waves=waves,
                               workdir_for=lambda name: _workdir(workdir, name), rows=target.rows, cols=target.cols)
    elif fp_accumulating(spec):  # FP32 accumulation: rtl.fp_checks' suite
        from rtl.fp_checks import verify_fp

        return verify_fp(target, backend=backend, vectors=vectors, seed=seed, waves=waves, workdir=workdir)
    elif target.dequant:
        rng = np.random.default_rng(seed)
        K = 2 * max(spec.group_size, target.rows)  # whole groups and whole folds
        M = min(16, max(1, vectors // (K * target.cols)))
        A = rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, K)))
        W = rng.standard_normal((K, target.cols))
        reports.append(check_mixpe_array(spec, target.rows, A, W, backend=backend, dequant=target.dequant_spec,
                                         workdir=_workdir(workdir, "mixpe_array")))
    elif target.rows is None:
        ca, cw = operand_codes(spec)
        if len(ca) * len(cw) <= EXHAUSTIVE_LIMIT:
            reports.append(check_pe(spec, [exhaustive_pairs(spec)], backend=backend, what="pe exhaustive pairs",
                                    workdir=_workdir(workdir, "exhaustive")))
        n_groups = max(1, math.ceil(vectors / group_length(spec)))
        reports.append(check_pe(spec, [corner_groups(spec), random_groups(spec, n_groups, seed)], backend=backend,
                                what="pe corner + random groups", workdir=_workdir(workdir, "random"), waves=waves))
    else:
        R, C = target.rows, target.cols
        ca, cw = operand_codes(spec)
        rng = np.random.default_rng(seed)
        M = max(1, math.ceil(vectors / R))
        tiles = [(rng.choice(ca, (M, R)), rng.choice(cw, (R, C)))]
        ea, ew = extreme_codes(spec, "act"), extreme_codes(spec, "weight")
        tiles += [(np.full((2, R), a), np.full((R, C), w)) for a in ea[:3] for w in ew[:3]]
        reports.append(check_array(spec, R, C, tiles, backend=backend, what=f"array {R}x{C} random + corner tiles",
                                   workdir=_workdir(workdir, "array"), waves=waves))
    return {"target": target.name, "pe": spec.to_string(), "checks": [r.to_dict() for r in reports],
            "ok": all(r.ok for r in reports),
            "waves": [r.extra["waves"] for r in reports if r.extra.get("waves")]}
