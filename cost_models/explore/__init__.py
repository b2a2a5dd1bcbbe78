"""Design-space exploration: sweep specs, point hashing, a resumable Parquet results store, local and
Dask runners, Pareto fronts and hypervolume, plots, the Markdown report and the claims table.

The evaluation is a pluggable stage (:class:`~cost_models.explore.records.Evaluator`): it takes typed
records (:class:`ArithConfig`, :class:`Point`) and returns typed results (:class:`AccuracyResult`,
:class:`PerfResult`).  Accuracy is evaluated once per arithmetic configuration and joined onto every
array configuration that shares it.
"""

from cost_models.explore.records import AccuracyResult, ArithConfig, Evaluator, OpPerf, PerfResult, Point, Workload

__all__ = ["AccuracyResult", "ArithConfig", "Evaluator", "OpPerf", "PerfResult", "Point", "Workload"]
