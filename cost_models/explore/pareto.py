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


#: Relative difference below which two designs' simulated or modelled figures (cycles, energy, area,
#: LUTs) count as equal: a front point that wins by less than this is a tie, not a win.
REL_RESOLUTION = 0.01
#: Metric -> (low, high) columns of its 95% interval: such a metric's resolution is its interval.
INTERVAL_COLUMNS = {"accuracy_loss": ("accuracy_loss_low", "accuracy_loss_high")}
RESOLUTION_RULE = (f"two designs tie on a metric when their 95% accuracy intervals overlap (accuracy) or when "
                   f"they differ by less than {REL_RESOLUTION:.0%} (simulated cycles, modelled energy, area, LUTs)")


def accuracy_mask(df: pd.DataFrame, limit: float | None) -> np.ndarray:
    """Rows whose accuracy loss is at most ``limit`` (all rows when None); rows without a measured accuracy
    (shape-only models) are kept, since nothing can be said of them."""
    if limit is None or "accuracy_loss" not in df:
        return np.ones(len(df), dtype=bool)
    loss = df["accuracy_loss"].to_numpy(dtype=float)
    return np.isnan(loss) | (loss <= limit)


def _not_worse(df: pd.DataFrame, metric: str, p: int) -> np.ndarray:
    """Rows that are not resolvably worse than row ``p`` on ``metric`` (:data:`RESOLUTION_RULE`)."""
    v = df[metric].to_numpy(dtype=float)
    lo_col, hi_col = INTERVAL_COLUMNS.get(metric, (None, None))
    if lo_col in df and hi_col in df:
        lo, hi = df[lo_col].to_numpy(dtype=float), df[hi_col].to_numpy(dtype=float)
        if np.isfinite([lo[p], hi[p]]).all():
            if METRICS[metric] == "min":
                return np.where(np.isfinite(lo), lo <= hi[p], v <= v[p])
            return np.where(np.isfinite(hi), hi >= lo[p], v >= v[p])
    tol = REL_RESOLUTION * abs(v[p])
    return v <= v[p] + tol if METRICS[metric] == "min" else v >= v[p] - tol


def ties(df: pd.DataFrame, metrics, front: np.ndarray, *, where: np.ndarray | None = None) -> list[list[int]]:
    """For each row: the other ``where`` rows it ties with, if it is on ``front`` (else an empty list).

    Row q ties front row p when q is not resolvably worse than p on any metric (:data:`RESOLUTION_RULE`):
    p's place on the front over q is then within the measurement's resolution.
    """
    rows = np.isfinite(df[list(metrics)].to_numpy(dtype=float)).all(axis=1)
    if where is not None:
        rows &= where
    out: list[list[int]] = [[] for _ in range(len(df))]
    for p in np.flatnonzero(front & rows):
        q = rows.copy()
        q[p] = False
        for m in metrics:
            q &= _not_worse(df, m, p)
        out[p] = np.flatnonzero(q).tolist()
    return out
