"""Energy/area cost models and the exploration layer (sweeps, Pareto fronts, plots, report)."""
