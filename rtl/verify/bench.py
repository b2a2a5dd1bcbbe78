"""Run per-cycle stream stimulus on a component at any level: Amaranth's simulator or cocotb + HDL simulator.

Stimulus is a list of cycles, each a dict ``stream name -> payload`` (a payload is an int, a dict of
fields or a list for array layouts; a stream absent from a cycle is not valid).  Inputs are presented
during their cycle and registered at its closing clock edge; outputs are sampled after each edge, so an
output recorded with cycle number ``n`` is the state after edge ``n`` (valid during cycle ``n + 1``).
Both backends follow this convention and return the same result, so one check runs at every level.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from accel.errors import ConfigError
from rtl.export import export, ports
from rtl.verify.packing import pack, unpack

BACKENDS = ("amaranth", "icarus", "verilator")


def _run_amaranth(component, cycles: list[dict], watch: list[str], drain: int) -> dict:
    from amaranth.sim import Simulator

    info = ports(component)
    streams = sorted({p.split("__")[0] for p, i in info.items() if p.endswith("__valid") and i["direction"] == "input"})
    ins = {s: (getattr(component, s).valid, getattr(component, s).payload.as_value(), info[f"{s}__payload"])
           for s in streams}
    outs = {s: (getattr(component, s).valid, getattr(component, s).payload.as_value(), info[f"{s}__payload"])
            for s in watch}
    results: dict[str, list] = {s: [] for s in watch}

    async def bench(ctx):
        for n in range(len(cycles) + drain):
            beat = cycles[n] if n < len(cycles) else {}
            for s, (valid, payload, pinfo) in ins.items():
                if s in beat:
                    ctx.set(payload, pack(pinfo, beat[s]))
                ctx.set(valid, int(s in beat))
            await ctx.tick()
            for s, (valid, payload, pinfo) in outs.items():
                if ctx.get(valid):
                    results[s].append((n, unpack(pinfo, ctx.get(payload))))

    sim = Simulator(component)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return {"cycles": len(cycles) + drain, "outputs": results}


def run_cycles(component, name: str, cycles: list[dict[str, Any]], watch: list[str], *, backend: str = "amaranth",
               drain: int = 16, workdir: str | Path | None = None, waves: bool = False) -> dict:
    """Drive ``cycles`` into ``component`` and record the ``watch`` output streams.

    Returns ``{"cycles": n, "outputs": {stream: [(cycle, payload), ...]}, "seconds": wall time,
    "waves": path or None}``.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    t0 = time.perf_counter()
    if backend == "amaranth":
        result = _run_amaranth(component, cycles, watch, drain)
        result["waves"] = None
    else:
        from rtl.verify.runner import run_plan, stream_outputs, stream_plan

        tmp = None
        if workdir is None:
            tmp = tempfile.TemporaryDirectory(prefix="accel-cocotb-")
            workdir = tmp.name
        try:
            paths = export(component, workdir, name)
            manifest = json.loads(Path(paths["manifest"]).read_text())
            # The cocotb bench resets for 2 cycles first; its cycle numbers start after reset.
            plan = stream_plan(manifest, cycles, watch, drain_cycles=drain)
            raw = run_plan(paths["verilog"], name, plan, Path(workdir) / f"build_{backend}", sim=backend, waves=waves)
            result = {"cycles": raw["cycles"], "waves": raw.get("waves"),
                      "outputs": {s: stream_outputs(manifest, raw, s) for s in watch}}
        finally:
            if tmp is not None and not waves:
                tmp.cleanup()
    result["seconds"] = time.perf_counter() - t0
    return result
