"""Pareto fronts (paretoset) and hypervolume per design family (moocore) over any chosen metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from accel.errors import ConfigError
from cost_models.explore.spec import CONSTRAINTS, METRICS

#: Hypervolume reference point, per objective, after normalising every objective to [0, 1].
HV_REFERENCE = 1.1


def _check_metrics(df: pd.DataFrame, metrics) -> None:
    bad = [m for m in metrics if m not in METRICS or m not in df.columns]
    if bad:
        raise ConfigError(f"cannot build a front over {bad!r}; valid metrics: {', '.join(METRICS)}")


def fitting(df: pd.DataFrame) -> np.ndarray:
    """Rows that fit their FPGA part (``fpga_fits``; every ASIC row does)."""
    if "fpga_fits" not in df:
        return np.ones(len(df), dtype=bool)
    return np.array([True if pd.isna(v) else bool(v) for v in df["fpga_fits"]], dtype=bool)


def feasible_mask(df: pd.DataFrame, constraints) -> np.ndarray:
    """Rows meeting every ``(constraint_name, bound)`` (see :data:`spec.CONSTRAINTS`) and fitting their FPGA part."""
    ok = fitting(df)
    for name, bound in constraints:
        metric, kind = CONSTRAINTS[name]
        col = df[metric].to_numpy(dtype=float)
        ok &= (col <= bound) if kind == "max" else (col >= bound)
    return ok


def pareto_mask(df: pd.DataFrame, metrics, *, where: np.ndarray | None = None) -> np.ndarray:
    """Non-dominated rows over ``metrics`` (directions from :data:`spec.METRICS`) among ``where`` rows.

    Rows with a non-finite value in any metric are never on the front; duplicates all stay on it.
    """
    from paretoset import paretoset

    _check_metrics(df, metrics)
    values = df[list(metrics)].to_numpy(dtype=float)
    rows = np.isfinite(values).all(axis=1)
    if where is not None:
        rows &= where
    mask = np.zeros(len(df), dtype=bool)
    if rows.any():
        sense = [METRICS[m] for m in metrics]
        mask[rows] = paretoset(values[rows], sense=sense, distinct=False, use_numba=False)
    return mask


def front_per_model(df: pd.DataFrame, metrics, *, where: np.ndarray | None = None) -> np.ndarray:
    """:func:`pareto_mask` within each ``workload_model`` (accuracy and cost are not comparable across models)."""
    if "workload_model" not in df or df["workload_model"].nunique() <= 1:
        return pareto_mask(df, metrics, where=where)
    mask = np.zeros(len(df), dtype=bool)
    for model in df["workload_model"].unique():
        rows = (df["workload_model"] == model).to_numpy()
        mask |= pareto_mask(df, metrics, where=rows if where is None else rows & where)
    return mask


def normalised_costs(df: pd.DataFrame, metrics, rows: np.ndarray) -> np.ndarray:
    """Objectives as costs in [0, 1] (maximised metrics flipped), scaled over ``rows``."""
    values = df[list(metrics)].to_numpy(dtype=float)
    for j, m in enumerate(metrics):
        if METRICS[m] == "max":
            values[:, j] = -values[:, j]
    sel = values[rows]
    lo, hi = sel.min(axis=0), sel.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (values - lo) / span


def hypervolume_by_family(df: pd.DataFrame, metrics, *, where: np.ndarray | None = None) -> pd.DataFrame:
    """Hypervolume of each family's points (objectives normalised over all rows; reference 1.1 each).

    Larger is better; the ``all`` row is the whole sweep's.  Columns: family, points, front_points,
    hypervolume.
    """
    import moocore

    _check_metrics(df, metrics)
    rows = np.isfinite(df[list(metrics)].to_numpy(dtype=float)).all(axis=1)
    if where is not None:
        rows &= where
    out = []
    if not rows.any():
        return pd.DataFrame(columns=["family", "points", "front_points", "hypervolume"])
    costs = normalised_costs(df, metrics, rows)
    front = pareto_mask(df, metrics, where=rows)
    ref = [HV_REFERENCE] * len(metrics)
    groups = [(fam, (df["family"] == fam).to_numpy() & rows) for fam in sorted(df.loc[rows, "family"].unique())]
    for fam, sel in [*groups, ("all", rows)]:
        out.append({"family": fam, "points": int(sel.sum()), "front_points": int((sel & front).sum()),
                    "hypervolume": float(moocore.hypervolume(costs[sel], ref=ref))})
    return pd.DataFrame(out)
