"""How close accel.limits' estimates come to what the work really takes, measured in this run.

1. Simulator: GEMMs of 5k-30k folds in the cycle and SCALE-Sim modes; peak traced memory and wall time
   against the estimate (a ratio <= 1 means the estimate is an upper bound).
2. RTL: Verilog conversion of 8x8 arrays (add ``--full`` for every PE variant and 32x32 int8_mac); the
   probe's RTLIL size against the real size, wall time and peak RSS of a fresh process against the estimate.
3. The cost of the checks themselves: refusing a 10^12 x 1 x 1 GEMM and probing a 128x128 array.
Run: ``.venv/bin/python benchmarks/bench_limits.py [--full]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_RTL_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from rtl.build import target_from_args
from rtl.export import to_verilog
t = target_from_args(None, {pe!r}, {array!r})
s = time.perf_counter()
to_verilog(t.component(), "bench")
print(json.dumps(dict(wall=time.perf_counter() - s, rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)))
"""


def bench_sim() -> None:
    import sim
    from accel import limits
    from accel import pe as pe_mod
    from accel.design import ArraySpec, Design
    from sim.pe_view import pe_view
    from sim.tiling import fold_count

    print("simulator: measured / estimated (<= 1: the estimate is an upper bound)")
    print(f"{'PE':12} {'df':3} {'GEMM':>22} {'mode':9} {'folds':>7} {'memory':>7} {'time':>7}")
    for pe, df, gemm in (("int8_mac", "ws", (81_920_000, 1, 1)), ("int8_mac", "os", (20_000, 1, 1)),
                         ("int8_mac", "is", (1, 81_920_000, 1)), ("mixpe_w4a8", "ws", (64, 256, 2048)),
                         ("mixpe_w4a8", "os", (512, 512, 256))):
        d = Design(pe=pe_mod.parse(pe), array=ArraySpec(4, 4, df))
        folds = fold_count(*gemm, d, pe_view(d.pe))
        for mode in ("cycle", "scalesim"):
            sim.simulate((4, 4, 64), d, mode=mode)
            tracemalloc.start()
            t = time.perf_counter()
            sim.simulate(gemm, d, mode=mode)
            wall = time.perf_counter() - t
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            est = limits.simulation("x", folds, folds, event_driven=mode == "cycle")
            print(f"{pe:12} {df:3} {'x'.join(map(str, gemm)):>22} {mode:9} {folds:>7} {peak / est.bytes:>7.2f} "
                  f"{wall / est.seconds:>7.2f}")


def bench_rtl(full: bool) -> None:
    from accel import limits
    from rtl.build import target_from_args
    from rtl.cli import rtlil_bytes
    from rtl.export import to_rtlil

    cases = [("int8_mac", "8x8"), ("mixpe_w4a8", "8x8"), ("block_mac", "8x8")]
    if full:
        cases += [("mixpe_w4a16", "8x8"), ("lmul", "8x8"), ("minifloat_mac", "8x8"), ("fp16_dequant_first", "8x8"),
                  ("int8_mac", "32x32")]
    print("\nRTL conversion: measured / estimated")
    print(f"{'PE':20} {'array':6} {'RTLIL':>7} {'time':>7} {'memory':>7}  (measured wall s, peak MB)")
    for pe, array in cases:
        t = target_from_args(None, pe, array)
        size = rtlil_bytes(t)
        real = len(to_rtlil(t.component(), "bench"))
        est = limits.rtl_conversion("x", size)
        out = subprocess.run([sys.executable, "-c", _RTL_CHILD.format(root=str(ROOT), pe=pe, array=array)],
                             capture_output=True, text=True, check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{pe:20} {array:6} {real / size:>7.3f} {m['wall'] / est.seconds:>7.2f} {m['rss'] / est.bytes:>7.2f}  "
              f"({m['wall']:.1f} s, {m['rss'] / 1e6:.0f} MB)")


def bench_checks() -> None:
    from accel.cli import build_parser
    from accel.errors import ConfigError

    print("\ncost of refusing (in-process, after imports)")
    for argv in (["sim", "--pe", "int8_mac", "--array", "4x4", "--gemm", "1000000000000,1,1"],
                 ["rtl", "export", "--pe", "int8_mac", "--array", "128x128", "-o", "/tmp/accel-bench-limits"]):
        args = build_parser().parse_args(argv)
        t = time.perf_counter()
        try:
            args.func(args)
        except ConfigError as exc:
            print(f"{time.perf_counter() - t:6.3f} s  {str(exc)[:100]}...")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="every PE variant and a 32x32 array (several minutes)")
    args = ap.parse_args(argv or [])
    bench_sim()
    bench_rtl(args.full)
    bench_checks()


if __name__ == "__main__":
    main(sys.argv[1:])
