"""Cycle-level simulator of a systolic PE array with an enforced-bandwidth memory system.

Entry point: :func:`simulate` (``sim.simulate(trace_or_gemm, design) -> SimResult``).  Modules:
``array_timing`` (closed-form fold timing, ``tile_latency_cycles``), ``array_reference`` (register-level
proof of it), ``tiling`` (fold policy), ``dequant`` (dequant units), ``engine`` (SimPy memory system),
``scalesim`` (SCALE-Sim 3.0.0 compatibility), ``result`` (SimResult).
"""

from sim.array_timing import tile_latency_cycles
from sim.result import OpResult, SimResult
from sim.simulate import MODES, simulate
from sim.tiling import TilingPolicy

__all__ = ["simulate", "SimResult", "OpResult", "TilingPolicy", "MODES", "tile_latency_cycles"]
