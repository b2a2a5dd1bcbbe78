"""RTL verification throughput: vectors per second per PE variant, cocotb + Icarus (and Verilator when
present) next to Amaranth's own simulator, measured in the same run.

    .venv/bin/python benchmarks/bench_rtl.py [--vectors 4000] [--json]

A vector is one (activation, weight) operand pair through the PE (one clock cycle).  Each backend runs
N/10 and N random vectors; ``steady`` is 0.9 N / (t(N) - t(N/10)), the rate without build and start-up
cost, ``total`` = N / t(N) includes them (one cocotb run: export, compile, simulator start, ~2 s).
Ratios are against Amaranth's rate for the same variant; ``steady`` reads n/a when start-up noise exceeds
the run (raise ``--vectors``).  On a loaded machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accel.pe import parse  # noqa: E402
from rtl.config import binding  # noqa: E402
from rtl.verify.runner import available_simulators  # noqa: E402

VARIANTS = ["int8_mac", "mixpe_w4a8", "mixpe_w4a8:weight_format=q4_1", "mixpe_w4a16",
            "minifloat_mac:accumulate=kulisch",
            "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=int4",
            "minifloat_mac", "fp16_dequant_first:weight_format=q4_1",
            "block_mac", "block_mac:act_format=mxfp4,weight_format=mxfp4", "lmul"]


def check_random(spec, count: int, backend: str):
    """About ``count`` random operand pairs through the PE on ``backend`` (each variant family's own check)."""
    return binding(spec).random_check(spec, count, backend)


def measure(spec, backend: str, n: int) -> dict:
    times = []
    for count in (n // 10, n):
        r = check_random(spec, count, backend)
        if not r.ok:
            raise SystemExit(f"{spec} on {backend}: {r.mismatches} mismatches: {r.first_mismatch}")
        times.append((r.vectors, r.seconds))
    (n1, t1), (n2, t2) = times
    steady = (n2 - n1) / (t2 - t1) if t2 > t1 else None  # None: start-up noise exceeds the run (raise --vectors)
    return {"variant": spec.to_string(), "backend": backend, "vectors": n2, "seconds": round(t2, 3),
            "total_vectors_per_s": round(n2 / t2, 1),
            "steady_vectors_per_s": None if steady is None else round(steady, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", type=int, default=10000)
    ap.add_argument("--variant", action="append", help=f"PE spec to measure (repeatable; default: {VARIANTS})")
    ap.add_argument("--backend", action="append", help="amaranth, icarus, verilator (repeatable; default: all "
                    "available)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    backends = ["amaranth"] + [b for b in available_simulators() if not args.backend or b in args.backend]
    rows = [measure(parse(v), b, args.vectors) for v in args.variant or VARIANTS for b in backends]
    for r in rows:
        base = next(x for x in rows if x["variant"] == r["variant"] and x["backend"] == "amaranth")
        r["total_ratio_vs_amaranth"] = round(r["total_vectors_per_s"] / base["total_vectors_per_s"], 2)
        steady, base_steady = r["steady_vectors_per_s"], base["steady_vectors_per_s"]
        r["steady_ratio_vs_amaranth"] = round(steady / base_steady, 2) if steady and base_steady else None
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    def num(v, fmt, unit=""):
        return "n/a" if v is None else format(v, fmt) + unit

    print(f"{'variant':<72} {'backend':<9} {'total vec/s':>11} {'vs amaranth':>11} {'steady vec/s':>12} "
          f"{'vs amaranth':>11}")
    for r in rows:
        print(f"{r['variant']:<72} {r['backend']:<9} {r['total_vectors_per_s']:>11.0f} "
              f"{r['total_ratio_vs_amaranth']:>10.2f}x {num(r['steady_vectors_per_s'], '.0f'):>12} "
              f"{num(r['steady_ratio_vs_amaranth'], '.2f', 'x'):>11}")


if __name__ == "__main__":
    main()
