import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.errors import ConfigError
from cost_models.explore.pareto import HV_REFERENCE, feasible_mask, hypervolume_by_family, pareto_mask

pytestmark = pytest.mark.property

values = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25)


def _brute_front(costs: np.ndarray) -> np.ndarray:
    """O(n^2) definition: i is on the front unless some j is <= everywhere and < somewhere."""
    n = len(costs)
    return np.array([not any((costs[j] <= costs[i]).all() and (costs[j] < costs[i]).any() for j in range(n))
                     for i in range(n)])


def _hv2d(costs: np.ndarray, ref: float) -> float:
    """2-D hypervolume by sweeping the sorted non-dominated points (minimisation)."""
    pts = sorted(map(tuple, costs[_brute_front(costs)]))
    area, prev_y = 0.0, ref
    for x, y in pts:
        if x < ref and y < prev_y:
            area += (ref - x) * (prev_y - y)
            prev_y = y
    return area


@settings(max_examples=60, deadline=None)
@given(values)
def test_front_matches_the_definition(rows):
    df = pd.DataFrame(rows, columns=["accuracy_loss", "area_um2", "utilization"], dtype=float)
    got = pareto_mask(df, ["accuracy_loss", "area_um2", "utilization"])
    costs = df.to_numpy() * np.array([1, 1, -1])  # utilization is maximised
    assert (got == _brute_front(costs)).all()


@settings(max_examples=60, deadline=None)
@given(values, st.lists(st.sampled_from("ab"), min_size=25, max_size=25))
def test_hypervolume_per_family_matches_a_2d_sweep(rows, fams):
    df = pd.DataFrame([r[:2] for r in rows], columns=["latency_ms", "area_mm2"], dtype=float)
    df["family"] = fams[: len(df)]
    hv = hypervolume_by_family(df, ["latency_ms", "area_mm2"]).set_index("family")
    v = df[["latency_ms", "area_mm2"]].to_numpy()
    lo, hi = v.min(axis=0), v.max(axis=0)
    norm = (v - lo) / np.where(hi > lo, hi - lo, 1.0)
    for fam in set(df["family"]):
        sel = (df["family"] == fam).to_numpy()
        assert hv.loc[fam, "hypervolume"] == pytest.approx(_hv2d(norm[sel], HV_REFERENCE), abs=1e-12)
        assert hv.loc[fam, "points"] == sel.sum()
    assert hv.loc["all", "hypervolume"] == pytest.approx(_hv2d(norm, HV_REFERENCE), abs=1e-12)
    assert hv.loc["all", "hypervolume"] >= hv["hypervolume"].max() - 1e-12


@pytest.mark.unit
def test_non_finite_and_infeasible_rows_are_never_on_the_front():
    df = pd.DataFrame({"accuracy_loss": [0.0, np.nan, 1.0, 2.0], "area_um2": [5.0, 0.0, 1.0, 0.5]})
    assert pareto_mask(df, ["accuracy_loss", "area_um2"]).tolist() == [True, False, True, True]
    ok = feasible_mask(df, [("max_area_um2", 2.0)])
    assert ok.tolist() == [False, True, True, True]
    assert pareto_mask(df, ["accuracy_loss", "area_um2"], where=ok).tolist() == [False, False, True, True]
    with pytest.raises(ConfigError, match=r"^cannot build a front over \['speed'\]; valid metrics: accuracy_loss"):
        pareto_mask(df, ["accuracy_loss", "speed"])
