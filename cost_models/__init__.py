"""Energy/area cost models and the exploration layer (sweeps, Pareto fronts, plots, report).

``cost_models.evaluate(design, sim_result) -> CostReport`` (defined in :mod:`cost_models.evaluation`).
"""


def __getattr__(name):  # lazy: the CLI entry point imports this package first and must stay cheap
    if name in ("evaluate", "price", "CostReport"):
        import importlib

        return getattr(importlib.import_module("cost_models.evaluation"), name)
    raise AttributeError(f"module 'cost_models' has no attribute {name!r}")
