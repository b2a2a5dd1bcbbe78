"""Golden-forward speed for accuracy runs: tokens/s of each PE variant relative to the float64 reference.

One window of N tokens of SmolLM2-135M (the evaluation text's first window) is run through the float64
reference and through each PE variant's golden model (``workloads.providers.PEProvider``), in this process,
one after another; the reference's float64 weights are made before it is timed.  Ratio = variant tokens/s /
reference tokens/s (higher is faster), for a window whose weight operands are prepared (what every
further window of an accuracy run costs; the targets apply to it) and for the first window with a fresh
provider (weights quantized and decoded for the PE, compiled kernels loaded from numba's disk cache).
Targets: >= 0.5x for the exact-sum variants, >= 0.1x for the order-dependent FP32-accumulating minifloat
MAC and L-Mul.

Times are process CPU seconds with single-threaded BLAS (as bench_pe.py), so that other jobs on a shared
machine disturb the ratio less than wall time would; ``--wall`` uses wall-clock time (then set
OPENBLAS_NUM_THREADS yourself to compare multi-threaded runs).

    .venv/bin/python benchmarks/bench_accuracy.py [--tokens 512] [--only SPEC ...] [--check] [--json] [--wall]

``--check`` exits non-zero when a target is missed; otherwise the script only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS

#: (spec, target ratio to the reference): the default study's arithmetic and the variants the targets name
SPECS = [
    ("int8_mac", 0.5),
    ("mixpe_w4a8:weight_format=q4_1", 0.5),
    ("mixpe_w4a8", 0.5),
    ("mixpe_w4a16:weight_format=q4_1", 0.5),
    ("fp16_dequant_first:weight_format=q4_1", 0.5),
    ("block_mac", 0.5),
    ("block_mac:weight_format=bfp12_b32,act_format=bfp16_b32", 0.5),
    ("minifloat_mac:accumulate=kulisch", 0.5),
    ("minifloat_mac", 0.1),
    ("minifloat_mac:weight_format=float4_e2m1fn", 0.1),
    ("lmul", 0.1),
]


CLOCK = time.process_time


def timed(fn) -> tuple[float, object]:
    t = CLOCK()
    out = fn()
    return CLOCK() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=512, help="window length N (default %(default)s)")
    ap.add_argument("--only", nargs="*", help="spec strings to time (default: the list above, with their targets)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a variant misses its target")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of process CPU time")
    args = ap.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    if args.tokens < 2:
        ap.error(f"--tokens must be >= 2, got {args.tokens!r}")
    import numpy as np

    from accel import pe
    from workloads import providers as prov
    from workloads.models import eval_ids, load_model

    targets = dict(SPECS)
    specs = args.only or [s for s, _ in SPECS]
    m = load_model("smollm2-135m")
    ids = eval_ids(m, args.tokens)
    m.forward(ids[:2])  # float64 weights made once, outside the timed runs
    t_ref, ref = timed(lambda: m.forward(ids))
    clock = "wall" if args.wall else f"CPU, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}"
    if not args.json:
        print(f"SmolLM2-135M, one window of {args.tokens} tokens; float64 reference {t_ref:.2f} s "
              f"({args.tokens / t_ref:.1f} tokens/s, {clock}); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'spec':<52} {'first s':>8} {'ratio':>6} | {'s':>7} {'tok/s':>7} {'ratio':>6}  target", flush=True)
    rows = []
    for text in specs:
        spec = pe.parse(text)
        provider = prov.PEProvider(spec)
        t_first, y = timed(lambda p=provider: m.forward(ids, provider=p))
        t, y = timed(lambda p=provider: m.forward(ids, provider=p))  # weight operands prepared
        rel = float(np.max(np.abs(np.asarray(y) - ref)) / np.max(np.abs(ref)))
        target = targets.get(text)
        r = {"spec": text, "first_s": t_first, "seconds": t, "tokens_per_s": args.tokens / t, "ratio": t_ref / t,
             "ratio_first": t_ref / t_first, "target": target, "met": None if target is None else t_ref / t >= target,
             "max_rel_logit_diff": rel}
        rows.append(r)
        if not args.json:  # one line per variant as it finishes
            tgt = "" if r["target"] is None else f">= {r['target']}x {'met' if r['met'] else 'MISSED'}"
            print(f"{r['spec']:<52} {r['first_s']:>8.2f} {r['ratio_first']:>5.2f}x | {r['seconds']:>7.2f} "
                  f"{r['tokens_per_s']:>7.1f} {r['ratio']:>5.2f}x  {tgt}", flush=True)
    missed = [r["spec"] for r in rows if r["met"] is False]
    if args.json:
        print(json.dumps({"tokens": args.tokens, "clock": clock, "reference_s": t_ref,
                          "reference_tokens_per_s": args.tokens / t_ref, "load_average": os.getloadavg()[0],
                          "rows": rows, "missed": missed}, indent=2))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
