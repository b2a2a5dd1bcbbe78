"""Fmax of a design on an FPGA part, predicted from its logic levels and calibrated on our own place-and-route runs.

Model, per timing class (parts of one family and speed grade share one; :data:`TIMING_CLASS`): the critical path
is a fixed part (clock-to-out, setup, the first and last routes) plus a delay per mapped cell on it, by kind::

    1 / fmax = t0 + t_lut * LUTs + t_carry * carry cells + t_mux * slice muxes     (ns; rtl.synth.levels)

fitted by non-negative least squares on relative residuals (``scipy.optimize.nnls``) to the rows of the P&R table
(``rtl/reports/pnr_table.json``, :func:`rtl.synth.table.write_pnr_table`).  ``levels`` of a design is the deeper
of its PE and its dequant unit, synthesised alone (:func:`rtl.synth.levels.design_levels`), so the prediction
needs no place and route.  The delays are fitted to the bare PEs and dequant units (:func:`fitted`); the table's
arrays are never fitted and check what the PE leaves out (the array and harness around it, routing across a larger
part).  :meth:`FmaxModel.validation` states the error on runs the model was not fitted on: each block is held out
(all its rows, on every part of the class) and predicted from the others.

LUTs on a part: the LUT model of :mod:`cost_models.fpga.model` (its ``ice40`` LUT4 target; ECP5's slices are
LUT4s too) times a per-class factor fitted (geometric mean) to the same P&R runs' bare PEs (their stand-alone RTL
structure, :func:`cost_models.fpga.blocks._rtl_pe_structure`) and dequant units, with its held-out error.
A design fits a part when its predicted LUTs and flip-flops are within the part's
(:mod:`cost_models.explore.fpga`).
"""

from __future__ import annotations

import logging
import math
from functools import cache

import numpy as np

from accel.errors import ConfigError

log = logging.getLogger(__name__)

#: device -> timing class (devices of one class share the fitted delays)
TIMING_CLASS = {"ecp5-25k": "ecp5", "ecp5-85k": "ecp5", "ice40-up5k": "ice40-up5k", "ice40-hx8k": "ice40-hx8k"}
#: the LUT model target whose structural counts a family's LUTs are scaled from
LUT_MODEL_TARGET = {"ecp5": "ice40", "ice40": "ice40"}


def timing_class(device: str) -> str:
    try:
        return TIMING_CLASS[device]
    except KeyError:
        raise ConfigError(f"no Fmax model for device {device!r}; valid devices: {', '.join(TIMING_CLASS)}") from None


#: the logic-level counts of a path (rtl.synth.levels.Levels) the delay is linear in
FEATURES = ("lut_levels", "carry_levels", "mux_levels")
MIN_ROWS = 1 + len(FEATURES)  # rows a class needs for a fit (one per parameter)


def _x(levels) -> np.ndarray:
    """Design matrix: 1 (the fixed part) and the counts of :data:`FEATURES` of each levels record."""
    return np.array([[1.0] + [float(lv[f]) for f in FEATURES] for lv in levels])


def fit_delay(levels, fmax_mhz) -> np.ndarray:
    """Non-negative delays (ns) of the fixed part and of each level kind, minimising the relative error of the
    predicted critical-path delay (``scipy.optimize.nnls`` on rows scaled by the measured delay)."""
    from scipy.optimize import nnls

    y = 1e3 / np.asarray(fmax_mhz, dtype=float)
    x = _x(levels)
    coef, _ = nnls(x / y[:, None], np.ones_like(y))
    return coef


def _fmax(coef: np.ndarray, levels: dict) -> float:
    return 1e3 / float(_x([levels])[0] @ coef)


def fitted(row: dict) -> bool:
    """Rows the delays are fitted to: bare PEs and dequant units with multipliers in LUTs (what a prediction reads
    the levels of); arrays and runs with DSP blocks only check the model."""
    return row["kind"] in ("pe", "dequant") and bool(row["nodsp"])


class FmaxModel:
    """Fmax and LUT scale of one timing class, fitted to the P&R rows of its devices."""

    def __init__(self, cls: str, rows: tuple[dict, ...] | None = None):
        if cls not in set(TIMING_CLASS.values()):
            raise ConfigError(f"unknown timing class {cls!r}; valid: {', '.join(sorted(set(TIMING_CLASS.values())))}")
        self.cls = cls
        self.rows = tuple(r for r in (pnr_rows() if rows is None else rows)
                          if TIMING_CLASS.get(r["device"]) == cls and all(f in r for f in FEATURES))
        self.fitted = tuple(r for r in self.rows if fitted(r))
        if len(self.fitted) < MIN_ROWS:
            raise ConfigError(f"timing class {cls!r} has {len(self.fitted)} place-and-route rows to fit, the Fmax fit "
                              f"needs at least {MIN_ROWS}; regenerate rtl/reports/pnr_table.json "
                              "(accel rtl table --pnr)")
        self.coef = fit_delay(self.fitted, [r["fmax_mhz"] for r in self.fitted])

    def fmax_mhz(self, levels: dict) -> float:
        """Predicted Fmax of a path with these level counts (a :class:`rtl.synth.levels.Levels` as a dict)."""
        return _fmax(self.coef, levels)

    def validation(self) -> list[dict]:
        """Predicted vs measured Fmax of every row, with the row's block held out of the fit (on every part)."""
        out = []
        for r in self.rows:
            rest = [x for x in self.fitted if x["block"] != r["block"]]
            held = _fmax(fit_delay(rest, [x["fmax_mhz"] for x in rest]), r) if len(rest) >= MIN_ROWS else None
            pred = self.fmax_mhz(r)
            out.append({"block": r["block"], "device": r["device"], "nodsp": r["nodsp"],
                        **{f: r[f] for f in FEATURES}, "measured_fmax_mhz": r["fmax_mhz"],
                        "predicted_fmax_mhz": round(pred, 2), "error": pred / r["fmax_mhz"] - 1,
                        "held_out_fmax_mhz": None if held is None else round(held, 2),
                        "error_held_out": None if held is None else held / r["fmax_mhz"] - 1})
        return out

    def describe(self) -> str:
        terms = " + ".join(f"{c:.3f} ns x {f}" for c, f in zip(self.coef[1:], FEATURES, strict=True))
        return (f"1/fmax = {self.coef[0]:.3f} ns + {terms}, fitted to {len(self.fitted)} place-and-route runs "
                f"of PEs and dequant units ({self.cls})")


@cache
def pnr_rows() -> tuple[dict, ...]:
    """The committed P&R table's rows (empty when it is absent)."""
    from rtl.synth.results import PNR_TABLE, read_pnr_rows

    return read_pnr_rows(PNR_TABLE) if PNR_TABLE.exists() else ()


@cache
def model(device: str) -> FmaxModel:
    return FmaxModel(timing_class(device))


def _lut_target(device: str) -> str:
    from rtl.synth.pnr import device as get_device

    return LUT_MODEL_TARGET[get_device(device).family]


def predicted_block_luts(row: dict) -> float | None:
    """The LUT model's count for a P&R row's PE or dequant unit (arrays, whose harness the model does not know:
    None), on the device's LUT model target."""
    from accel.pe import parse
    from cost_models.datapath import pe_datapath
    from cost_models.fpga.blocks import _rtl_pe_structure
    from cost_models.fpga.model import FpgaModel

    if row["kind"] not in ("pe", "dequant") or row.get("harness"):
        return None
    m = FpgaModel(_lut_target(row["device"]))
    dp = pe_datapath(parse(row["pe"]))
    if row["kind"] == "dequant":
        keys = [u.key for u in dp.dequant_ops for _ in range(u.instances)]
    else:  # the stand-alone RTL PE's operators, as the LUT model's own validation takes them
        keys = _rtl_pe_structure(row["pe"], dp)[0]
    return float(sum(m.luts(k) for k in keys)) if keys else None


@cache
def lut_scale(cls: str) -> tuple[float, list[dict]]:
    """(factor, validation rows): placed LUTs / LUT-model LUTs, geometric mean over the class's bare PE and dequant
    rows (``-nodsp``), each row's held-out error from the factor of the other blocks."""
    rows = [r for r in pnr_rows() if TIMING_CLASS.get(r["device"]) == cls and r["nodsp"]]
    pairs = [(r, p) for r in rows if (p := predicted_block_luts(r))]
    if not pairs:
        return 1.0, []
    logs = {r["block"] + "@" + r["device"]: math.log(r["luts"] / p) for r, p in pairs}
    factor = math.exp(sum(logs.values()) / len(logs))
    out = []
    for r, p in pairs:
        rest = [v for (x, _), v in zip(pairs, logs.values(), strict=True) if x["block"] != r["block"]]
        held = math.exp(sum(rest) / len(rest)) * p if rest else None
        out.append({"block": r["block"], "device": r["device"], "measured_luts": r["luts"],
                    "predicted_luts": round(factor * p), "error": factor * p / r["luts"] - 1,
                    "error_held_out": None if held is None else held / r["luts"] - 1})
    return factor, out


def _stats(errors: list[float]) -> dict:
    a = np.abs(np.asarray(errors, dtype=float))
    return {"n": int(a.size), "median_abs": float(np.median(a)) if a.size else None,
            "mean_abs": float(a.mean()) if a.size else None, "max_abs": float(a.max()) if a.size else None}


def summary() -> dict:
    """Every timing class with P&R runs: the fitted delays, each run predicted (in the fit and held out), the LUT
    scale and its validation, and the held-out error statistics."""
    out = {}
    for cls in dict.fromkeys(TIMING_CLASS[r["device"]] for r in pnr_rows() if r["device"] in TIMING_CLASS):
        try:
            m = FmaxModel(cls)
        except ConfigError as exc:
            log.warning("%s", exc)
            continue
        v = m.validation()
        factor, luts = lut_scale(cls)
        out[cls] = {"model": m.describe(), "delays_ns": dict(zip(("fixed", *FEATURES), m.coef.tolist(), strict=True)),
                    "fmax": v,
                    "fmax_held_out": _stats([x["error_held_out"] for x in v if x["error_held_out"] is not None]),
                    "lut_scale": factor, "luts": luts,
                    "luts_held_out": _stats([x["error_held_out"] for x in luts if x["error_held_out"] is not None])}
    return {"classes": out, "source": "rtl/reports/pnr_table.json (accel rtl table --pnr)"}
