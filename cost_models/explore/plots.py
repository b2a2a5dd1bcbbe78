"""Plots of a sweep (PNG and SVG): metric-vs-metric with the Pareto front, roofline per op, stalls.

matplotlib is imported inside the functions (non-interactive Agg backend), never at module import.
Each function writes ``<base>.png`` and ``<base>.svg`` and returns both paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cost_models.explore import atomic
from cost_models.explore.display import scaled

STALLS = (("compute_cycles", "compute"), ("fill_drain_cycles", "fill/drain"),
          ("memory_stall_cycles", "memory stall"), ("dequant_stall_cycles", "dequant stall"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "accel"  # deterministic SVG ids
    return plt


def _save(fig, base: Path) -> list[Path]:
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.parent / f"{base.name}.png", base.parent / f"{base.name}.svg"]  # names may hold dots: opt-6.7b
    with atomic.atomic_path(paths[0]) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    with atomic.atomic_path(paths[1]) as tmp:
        fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def _log_scale(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(len(v) and (v > 0).all() and v.max() / v.min() > 30)


#: Label offsets tried in turn (points from the marker): right of it, then stepping down/up, then left.
_OFFSETS = [(side * 5, dy) for side in (1, -1) for dy in (3, -11, 17, -25, 31, -39, 45, -53, 59, -67, 73, -81)]


def place_labels(ax, xs, ys, labels, *, fontsize: float = 7) -> list:
    """Annotate each point with its label at the first offset whose text box overlaps no earlier label.

    Greedy, in the given order, using the renderer's own text extents; an offset label gets a thin leader
    line to its point.  When every offset collides the label keeps the nearest one.  Returns the texts.
    """
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    placed, texts = [], []
    for x, y, label in zip(xs, ys, labels, strict=True):
        chosen = None
        for dx, dy in _OFFSETS:
            t = ax.annotate(label, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                            ha="left" if dx > 0 else "right", va="bottom" if dy > 0 else "top",
                            arrowprops=None if (dx, dy) == _OFFSETS[0] else
                            {"arrowstyle": "-", "lw": 0.5, "color": "0.5", "shrinkA": 0, "shrinkB": 3})
            t.update_positions(renderer)  # resolve the offset into display coordinates
            box = Text.get_window_extent(t, renderer)  # the text only, not its leader line
            if not any(box.overlaps(b) for b in placed):
                chosen = (t, box)
                break
            t.remove()
        if chosen is None:
            t = ax.annotate(label, (x, y), textcoords="offset points", xytext=_OFFSETS[0], fontsize=fontsize)
            t.update_positions(renderer)
            chosen = (t, Text.get_window_extent(t, renderer))
        texts.append(chosen[0])
        placed.append(chosen[1])
    return texts


def plot_front(df: pd.DataFrame, x: str, y: str, front: np.ndarray, base: Path, *, title: str = "",
               feasible: np.ndarray | None = None, ties: np.ndarray | None = None) -> list[Path]:
    """Scatter of every design (coloured by family), the front highlighted, joined and labelled.

    Axes in SI-prefixed units, log where the values span decades; 95% intervals as error bars on accuracy
    axes; infeasible designs as crosses; front points tied with a neighbour (``ties``) as dotted circles.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    feasible = np.ones(len(df), dtype=bool) if feasible is None else feasible
    ties = np.zeros(len(df), dtype=bool) if ties is None else ties
    xs, xlabel = scaled(df, x)
    ys, ylabel = scaled(df, y)
    families = sorted(df["family"].unique())
    cmap = plt.get_cmap("tab10" if len(families) <= 10 else "tab20")
    for i, fam in enumerate(families):
        sel = (df["family"] == fam).to_numpy()
        for ok, marker, alpha in ((True, "o", 0.8), (False, "x", 0.4)):
            s = sel & (feasible == ok)
            if s.any():
                ax.scatter(xs[s], ys[s], color=cmap(i % cmap.N), marker=marker, alpha=alpha, s=28,
                           label=fam if ok else f"{fam} (infeasible)")
    _error_bars(ax, df, x, y, xs, ys)
    for axis, col, v in ((ax.set_xscale, x, xs), (ax.set_yscale, y, ys)):
        if _log_scale(v):
            lo_col = INTERVALS.get(col, (None,))[0]
            lows = df[lo_col].to_numpy(dtype=float) if lo_col in df else np.array([])
            if (lows[np.isfinite(lows)] <= 0).any():  # an interval reaching 0 or below: linear around 0
                axis("symlog", linthresh=float(np.nanmin(v[v > 0])))
            else:
                axis("log")
    f = np.flatnonzero(front)
    f = f[np.argsort(xs[f], kind="stable")]
    if len(f):
        ax.plot(xs[f], ys[f], "k--", lw=1, zorder=1)
        win, tie = f[~ties[f]], f[ties[f]]
        ax.scatter(xs[win], ys[win], s=90, facecolors="none", edgecolors="k", lw=1.5, label="Pareto front", zorder=3)
        if len(tie):
            ax.scatter(xs[tie], ys[tie], s=90, facecolors="none", edgecolors="k", lw=1.2, linestyle=":",
                       label="front, tied with a neighbour", zorder=3)
        place_labels(ax, xs[f], ys[f], df["label"].to_numpy()[f].tolist())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} vs {xlabel}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, base)


#: Metric column -> (low, high) columns of its 95% interval, drawn as error bars where plotted.
INTERVALS = {"accuracy_loss": ("accuracy_loss_low", "accuracy_loss_high")}


def _error_bars(ax, df: pd.DataFrame, x: str, y: str, xs: np.ndarray, ys: np.ndarray) -> None:
    """95% intervals of the plotted metrics that have one (accuracy), as grey error bars behind the points.

    ``xs``/``ys`` are the plotted (scaled) values; an interval is scaled by the same factor as its metric.
    """
    err = {}
    for axis, col, shown in (("xerr", x, xs), ("yerr", y, ys)):
        lo_col, hi_col = INTERVALS.get(col, (None, None))
        if lo_col in df and hi_col in df:
            v = df[col].to_numpy(dtype=float)
            factor = np.divide(shown, v, out=np.ones_like(v), where=v != 0)
            lo, hi = df[lo_col].to_numpy(dtype=float), df[hi_col].to_numpy(dtype=float)
            ok = np.isfinite(lo) & np.isfinite(hi)
            err[axis] = (np.where(ok, np.stack([v - lo, hi - v]), 0.0) * factor).clip(min=0.0)
    if err:
        ax.errorbar(xs, ys, fmt="none", ecolor="0.6", elinewidth=0.8, capsize=2, zorder=0, **err)


#: Binding limit of an op (sim.bounds.LIMITS) -> marker colour on the roofline plot.
BOUND_COLOURS = {"compute": "tab:blue", "weight_load": "tab:purple", "sram": "tab:green", "dram": "tab:red",
                 "dequant": "tab:orange", "": "0.5"}


def plot_roofline(results: pd.DataFrame, ops: pd.DataFrame, point_hashes: list[str], base: Path) -> list[Path]:
    """Roofline per op for each chosen design: MACs/cycle vs MACs per DRAM byte, with both roofs.

    Each op is coloured by the limit that binds it (``bound``: compute, weight load, SRAM ports, DRAM or
    dequant units, from the simulator) and has that limit's own roof drawn above it as a dash (MACs over
    the cycles the binding resource alone needs); prefill ops are circles, decode ops squares.
    """
    plt = _pyplot()
    n = max(1, len(point_hashes))
    cols = min(2, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4.5 * rows), squeeze=False)
    for ax, h in zip(axes.flat, point_hashes, strict=False):
        design = results[results["point_hash"] == h].iloc[0]
        o = ops[(ops["point_hash"] == h) & (ops["dram_bits"] > 0) & (ops["cycles"] > 0)]
        intensity = (o["macs"] / (o["dram_bits"] / 8)).to_numpy(dtype=float)
        achieved = (o["macs"] / o["cycles"]).to_numpy(dtype=float)
        bound = o["bound"].fillna("").to_numpy(dtype=str) if "bound" in o else np.full(len(o), "")
        own_roof = (o["macs"] / o["bound_cycles"]).to_numpy(dtype=float) if "bound_cycles" in o else \
            np.full(len(o), np.nan)
        peak, bw = design["peak_macs_per_cycle"], design["dram_bandwidth_bytes_per_cycle"]
        if len(o):
            xs = np.logspace(np.log10(max(intensity.min() / 4, 1e-3)), np.log10(intensity.max() * 4), 200)
            ax.plot(xs, np.minimum(peak, bw * xs), "k-", lw=1.5, label=f"roof: {peak:g} MAC/cycle, {bw:g} B/cycle")
            for phase, marker in (("prefill", "o"), ("decode", "s")):
                for b, colour in BOUND_COLOURS.items():
                    s = (o["phase"] == phase).to_numpy() & (bound == b)
                    if s.any():
                        ax.scatter(intensity[s], achieved[s], marker=marker, s=22, alpha=0.75, color=colour,
                                   label=f"{phase}, {b or 'unknown'}-bound")
            roofed = np.isfinite(own_roof) & (own_roof > 0)
            if roofed.any():
                ax.scatter(intensity[roofed], own_roof[roofed], marker="_", s=140, linewidths=1.5,
                           color=[BOUND_COLOURS.get(b, "0.5") for b in bound[roofed]],
                           label="the op's roof: MACs / binding limit's cycles")
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_title(f"{design['label']} on {design.get('workload_model', '')}", fontsize=9)
        ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
        ax.set_ylabel("achieved MACs per cycle")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _save(fig, base)


def plot_stalls(results: pd.DataFrame, base: Path, *, title: str = "") -> list[Path]:
    """Stacked bars of where each design's cycles go, as fractions of its total cycles (compute,
    fill/drain, memory and dequant stalls); the total is written at the end of each bar."""
    plt = _pyplot()
    df = results.sort_values(["family", "label"])
    total = df[[c for c, _ in STALLS]].to_numpy(dtype=float).sum(axis=1)
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(df) + 1.6))
    left = np.zeros(len(df))
    ypos = np.arange(len(df))
    for col, name in STALLS:
        vals = np.divide(df[col].to_numpy(dtype=float), total, out=np.zeros(len(df)), where=total > 0)
        ax.barh(ypos, vals, left=left, label=name)
        left += vals
    for y, t in zip(ypos, total, strict=True):
        ax.text(1.01, y, f"{t:.3g} cycles", va="center", fontsize=6)
    ax.set_yticks(ypos, df["label"], fontsize=7)
    ax.set_xlim(0, 1.18)
    ax.set_xlabel("fraction of total cycles (all ops, all phases)")
    ax.set_title(title or "cycle breakdown per design", fontsize=10, pad=20)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=6, frameon=False)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, base)


def plot_energy_components(results: pd.DataFrame, columns: dict[str, str], base: Path, *,
                           title: str = "") -> list[Path]:
    """Stacked bars of energy per token by component (``columns``: result column -> component name),
    in the SI-prefixed unit of the largest total."""
    from cost_models.explore.display import si_scale

    plt = _pyplot()
    df = results.sort_values(["family", "label"])
    values = df[list(columns)].to_numpy(dtype=float)
    factor, unit = si_scale("energy_per_token_pj", values.sum(axis=1))
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(df) + 1.6))
    left = np.zeros(len(df))
    ypos = np.arange(len(df))
    cmap = plt.get_cmap("tab10")
    for j, name in enumerate(columns.values()):
        vals = values[:, j] * factor
        ax.barh(ypos, vals, left=left, label=name, color=cmap(j % cmap.N))
        left += vals
    ax.set_yticks(ypos, df["label"], fontsize=7)
    ax.set_xlabel(f"energy per token ({unit})")
    ax.set_title(title or "energy per token by component", fontsize=10, pad=20)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=6, frameon=False)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, base)
