"""The cocotb side of a plan-driven testbench: driver, monitor and result writer (runs in the simulator).

A *plan* (JSON, path in ``ACCEL_COCOTB_PLAN``) lists raw per-cycle values for input ports and the
(valid, payload) output ports to watch.  Inputs change and outputs are sampled at the falling clock
edge, so a value driven for cycle n is registered at rising edge n and outputs sampled after it are
the state after edge n (the same convention as Amaranth's ``ctx.tick()``).  Results (every sampled
payload with its cycle number) go to ``ACCEL_COCOTB_RESULT``.  The comparison with golden values
happens back in Python (``rtl.verify.runner``), so this module stays generic.

Imported twice (by pytest collection tools and inside the simulator): cocotb is imported lazily and
the test function has no ``test_`` prefix.
"""

from __future__ import annotations

import json
import os


async def _drive_plan(dut) -> None:
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge

    with open(os.environ["ACCEL_COCOTB_PLAN"]) as f:
        plan = json.load(f)
    inputs: dict[str, list[int]] = plan["inputs"]
    watch: list[list[str]] = plan["watch"]
    n = max((len(v) for v in inputs.values()), default=0) + int(plan.get("drain_cycles", 0))
    handles = {name: getattr(dut, name) for name in inputs}
    watched = [(getattr(dut, v), getattr(dut, p), p) for v, p in watch]
    results: dict[str, list[list[int]]] = {p: [] for _, p in watch}

    dut.clk.value = 0
    clock = Clock(dut.clk, 10, unit="ns")
    clock.start()
    for h in handles.values():
        h.value = 0
    dut.rst.value = 1
    for _ in range(int(plan.get("reset_cycles", 2))):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    for cycle in range(n):
        for name, h in handles.items():
            values = inputs[name]
            if cycle < len(values):
                h.value = values[cycle]
            elif cycle == len(values):
                h.value = 0
        await FallingEdge(dut.clk)
        for valid, payload, pname in watched:
            if int(valid.value):
                results[pname].append([cycle, int(payload.value)])
    with open(os.environ["ACCEL_COCOTB_RESULT"], "w") as f:
        json.dump({"cycles": n, "outputs": results}, f)


def _make_test():
    import cocotb

    @cocotb.test()
    async def run_plan(dut):
        """Drive the plan and record the watched outputs."""
        await _drive_plan(dut)

    return run_plan


if os.environ.get("ACCEL_COCOTB_PLAN") and os.environ.get("COCOTB_TEST_MODULES"):
    run_plan = _make_test()
