"""FPGA design points of a sweep: a point naming ``fpga_device`` runs at the Fmax the model predicts on that part
(:mod:`cost_models.fpga.fmax`), is infeasible when it does not fit the part, and with ``fpga_place_and_route`` is
also placed and routed for real (the array in the SPI + RAM harness, multipliers in LUTs) to check the model.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import pandas as pd

from accel.errors import ConfigError

log = logging.getLogger(__name__)

#: Multipliers in LUTs (the LUT model's mapping) on every FPGA design point.
NODSP = True


def check_device(name) -> list[str]:
    """Problems with an ``fpga_device`` axis value (None: an ASIC point)."""
    if name is None:
        return []
    from cost_models.fpga.fmax import TIMING_CLASS

    if name not in TIMING_CLASS:
        return [f"axes.fpga_device: unknown device {name!r}; valid devices: {', '.join(TIMING_CLASS)}"]
    return []


def lut_target(point, default: str) -> str:
    """The LUT model target a point is priced on: its part's (FPGA points) or the evaluator's."""
    if point.fpga_device is None:
        return default
    from cost_models.fpga.fmax import _lut_target

    return _lut_target(point.fpga_device)


def clocked(point, design):
    """(design at the clock it runs at, the PerfResult fields of its FPGA prediction).  Needs only the design's
    structure (PE, dequant units), not its cost."""
    if point.fpga_device is None:
        return design, {"clock_mhz": float(design.array.freq_mhz)}
    from cost_models.fpga.fmax import model
    from rtl.synth.levels import design_levels
    from rtl.synth.pnr import device

    fam = device(point.fpga_device).family
    lv = design_levels(design.pe, fam, dequant=_has_dequant(design), nodsp=NODSP)["critical"]
    fmax = round(model(point.fpga_device).fmax_mhz(lv), 3)
    design = dataclasses.replace(design, array=dataclasses.replace(design.array, freq_mhz=fmax))
    return design, {"clock_mhz": fmax, "fpga_fmax_mhz": fmax, "fpga_levels": float(lv["levels"])}


def _has_dequant(design) -> bool:
    from rtl.config import has_group_dequant

    return design.dequant.placement == "column_edge" and has_group_dequant(design.pe)


def fit(point, design, cost) -> dict:
    """PerfResult fields of the part's resources: predicted LUTs (scaled to the part), fit, measured P&R."""
    if point.fpga_device is None:
        return {}
    from cost_models.fpga.fmax import lut_scale, model
    from rtl.synth.pnr import device

    dev = device(point.fpga_device)
    factor, _ = lut_scale(model(point.fpga_device).cls)
    luts, ffs = cost.fpga["luts"] * factor, cost.fpga["ffs"]
    why = [f"needs {luts:,.0f} LUTs (predicted), {dev.name} has {dev.luts:,}"] if luts > dev.luts else []
    why += [f"needs {ffs:,} flip-flops, {dev.name} has {dev.ffs:,}"] if ffs > dev.ffs else []
    out = {"fpga_luts": float(luts), "fpga_fits": not why, "fpga_misfit": "; ".join(why),
           "fpga_luts_available": float(dev.luts)}
    if point.fpga_place_and_route and not why:
        out.update(_place_and_route(point, design))
    return out


def _place_and_route(point, design) -> dict:
    from rtl.build import Target
    from rtl.export import to_rtlil
    from rtl.harness import Harness
    from rtl.synth.pnr import device, place_and_route_rtlil
    from rtl.synth.table import PNR_CLOCK_MHZ, PNR_SEED

    arr = design.array
    comp = Harness(Target(design.pe, arr.rows, arr.cols, _has_dequant(design), design.dequant).component())
    try:
        r = place_and_route_rtlil(to_rtlil(comp, "top"), "top", point.fpga_device,
                                  PNR_CLOCK_MHZ[device(point.fpga_device).family], seed=PNR_SEED, nodsp=NODSP)
    except ConfigError as exc:  # the model said it fits; the placer disagrees: record it, as a misfit
        log.warning("%s on %s: %s", point.label, point.fpga_device, exc)
        return {"fpga_fits": False, "fpga_misfit": f"place and route: {exc}"}
    return {"fpga_fmax_measured_mhz": float(r.fmax_mhz), "fpga_luts_measured": float(r.luts["used"])}


def _fmt(v, f="{:,.0f}") -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f.format(v)


def report_lines(results: pd.DataFrame, md_table) -> list[str]:
    """The FPGA section of a report: per part, each design's clock and tokens/s, the largest array of each PE that
    fits, the misfits, and predicted vs measured Fmax and LUTs where a point was placed and routed."""
    if "fpga_device" not in results or results["fpga_device"].isna().all():
        return []
    from cost_models.fpga.fmax import fitted, model

    def _table(rows: list[dict]) -> str:
        return md_table(rows, rows[0]) if rows else ""

    df = results[results["fpga_device"].notna()]
    lines = ["## FPGA", ""]
    for dev, d in df.groupby("fpga_device"):
        m = model(dev)
        lines += [f"### {dev}", "",
                  f"Clock: the Fmax predicted from logic levels ({m.describe()}; `accel rtl table --pnr`), "
                  "multipliers in LUTs.  LUTs: the LUT model scaled to the part.  Designs that do not fit are "
                  "infeasible: kept in `results.parquet`, left out of the fronts and plots.", ""]
        rows = []
        for _, r in d.sort_values(["pe", "array_rows", "array_cols"]).iterrows():
            rows.append({"pe": r["pe"], "array": f"{r['array_rows']}x{r['array_cols']}",
                         "fmax_mhz": _fmt(r["fpga_fmax_mhz"], "{:.1f}"), "levels": _fmt(r["fpga_levels"]),
                         "luts": _fmt(r["fpga_luts"]), "fits": "yes" if r["fpga_fits"] else "no",
                         "tokens_per_s": _fmt(r.get("tokens_per_s"), "{:,.1f}") if r["fpga_fits"] else "",
                         "accuracy_loss": _fmt(r.get("accuracy_loss"), "{:.4f}")})
        lines += _table(rows), ""
        largest = []
        for pe, g in d.groupby("pe"):
            ok = g[g["fpga_fits"].astype(bool)]
            big = ok.loc[(ok["array_rows"] * ok["array_cols"]).idxmax()] if len(ok) else None
            largest.append({"pe": pe, "largest array that fits": "none" if big is None else
                            f"{big['array_rows']}x{big['array_cols']} ({big['fpga_luts']:,.0f} LUTs)",
                            "smallest that does not": next((f"{r['array_rows']}x{r['array_cols']}: {r['fpga_misfit']}"
                                                            for _, r in g.sort_values("array_rows").iterrows()
                                                            if not r["fpga_fits"]), "")})
        lines += ["Largest array of each PE that fits the part (of the sizes swept):", "", _table(largest), ""]
        checked = d[d["fpga_fmax_measured_mhz"].notna()] if "fpga_fmax_measured_mhz" in d else d.iloc[:0]
        if len(checked):
            rows = [{"pe": r["pe"], "array": f"{r['array_rows']}x{r['array_cols']}",
                     "predicted_fmax_mhz": f"{r['fpga_fmax_mhz']:.1f}",
                     "measured_fmax_mhz": f"{r['fpga_fmax_measured_mhz']:.1f}",
                     "fmax_error": f"{r['fpga_fmax_mhz'] / r['fpga_fmax_measured_mhz'] - 1:+.1%}",
                     "predicted_luts": f"{r['fpga_luts']:,.0f}", "measured_luts": f"{r['fpga_luts_measured']:,.0f}",
                     "luts_error": f"{r['fpga_luts'] / r['fpga_luts_measured'] - 1:+.1%}"}
                    for _, r in checked.sort_values(["pe", "array_rows"]).iterrows()]
            lines += ["Placed and routed for real (nextpnr, seed 1; the array in the SPI + RAM harness, whose LUTs "
                      "the measured count includes and the model does not):", "", _table(rows), ""]
        table = [v for v in m.validation() if v["device"] == dev and not fitted(_pnr_row(v))]
        if table:
            lines += [f"Runs of the P&R table on {dev} the model was not fitted on (`rtl/reports/pnr_table.md`):", "",
                      _table([{"block": v["block"], "predicted_fmax_mhz": f"{v['predicted_fmax_mhz']:.1f}",
                               "measured_fmax_mhz": f"{v['measured_fmax_mhz']:.1f}",
                               "fmax_error": f"{v['error_held_out']:+.1%}"} for v in table]), ""]
    return lines



def _pnr_row(v: dict) -> dict:
    from cost_models.fpga.fmax import pnr_rows

    return next(r for r in pnr_rows() if (r["block"], r["device"], r["nodsp"]) == (v["block"], v["device"], v["nodsp"]))
