"""Simulate a design from Python: SmolLM2-135M prefill on a MixPE W4A8 32x32 array, then price it.

Run:  .venv/bin/python examples/simulate_design.py [DESIGN.yaml]
"""

import sys
from pathlib import Path

import cost_models
import sim
from accel.design import load_design
from workloads.shapes import shape_trace


def main(design_file: str) -> None:
    design = load_design(design_file)
    trace = shape_trace("smollm2-135m", phase="prefill", tokens=64)  # every GEMM of one prefill, shapes only
    result = sim.simulate(trace, design)
    cost = cost_models.evaluate(design, result)
    print(f"design      {design.name} ({design.pe.to_string()}, {design.array.rows}x{design.array.cols})")
    print(f"trace       {trace.model}: {len(trace.ops)} GEMMs, {result.macs:,} MACs")
    print(f"cycles      {result.cycles:,} (compute {result.compute_cycles:,}, memory stalls "
          f"{result.memory_stall_cycles:,}, dequant stalls {result.dequant_stall_cycles:,})")
    print(f"utilization {result.utilization:.3f}; roofline bound {result.roofline_cycles:,.0f} cycles")
    print(f"latency     {cost.delay_s * 1e3:.3f} ms at {design.array.freq_mhz:g} MHz")
    print(f"energy      {cost.energy_pj / 1e6:.3f} uJ, area {cost.area_um2 / 1e6:.3f} mm^2, {cost.fpga_luts:,} LUTs")
    print("slowest ops:")
    print(result.per_op.sort_values("cycles", ascending=False).head(5)[["layer", "name", "m", "n", "k", "cycles",
                                                                        "bound"]].to_string(index=False))


if __name__ == "__main__":
    default = Path(__file__).parent / "designs" / "mixpe_w4a8_32x32.yaml"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
