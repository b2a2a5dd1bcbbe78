"""Time one 256 x 576 x 1536 GEMM (a SmolLM2 FFN projection at 256 tokens) through each PE variant.

``--shape M,K,N`` times another shape, e.g. ``--shape 1,576,1536`` (the same projection in a decode step).

Printed as time relative to a float32 numpy matmul of the same shape measured in the same run (best of
several repetitions each).  ``gemm`` times use weights quantized beforehand (as a model's weights are);
``+quant`` adds the weight quantization.  Target: integer variants within 10x of the float32 matmul.
Times are process CPU time with single-threaded BLAS, so that other jobs on a shared machine disturb the
ratio less than wall time would (``--wall`` for wall-clock time).

    .venv/bin/python benchmarks/bench_pe.py [--json] [--shape M,K,N] [--only SPEC ...]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS

import numpy as np

M, K, N = 256, 576, 1536
SPECS_ALL = ["mixpe_w4a8", "mixpe_w4a8:weight_format=q4_1", "mixpe_w4a8:weight_format=uint4", "int8_mac",
         "block_mac:act_format=mxint8,weight_format=mxint8", "mixpe_w4a16", "block_mac",
         "minifloat_mac:accumulate=kulisch", "minifloat_mac", "fp16_dequant_first", "lmul", "lmul:realisation=adder"]
#: the rows the 10x target applies to (the integer variants)
TARGETED = {"mixpe_w4a8", "mixpe_w4a8:weight_format=q4_1", "mixpe_w4a8:weight_format=uint4", "int8_mac"}
#: one repetition only for a variant slower than this per GEMM (seconds)
SLOW_S = 0.5
SPECS = SPECS_ALL


CLOCK = time.process_time


def best_of(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = CLOCK()
        fn()
        best = min(best, CLOCK() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="spec strings to time (default: all)")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of process CPU time")
    ap.add_argument("--shape", default=f"{M},{K},{N}", help="M,K,N of the GEMM (default %(default)s)")
    args = ap.parse_args()
    try:
        m, k, n = (int(v) for v in args.shape.split(","))
    except ValueError:
        ap.error(f"--shape must be three integers M,K,N, got {args.shape!r}")
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    from accel import pe
    from accel.quant import quantize

    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, k))
    W = rng.standard_normal((k, n)) * 0.05
    A32, W32 = A.astype(np.float32), W.astype(np.float32)
    base = best_of(lambda: A32 @ W32, 10 if m > 1 else 100)
    rows = []
    for text in args.only or SPECS:
        spec = pe.parse(text)
        t_q = best_of(lambda s=spec: quantize(W, s.weight_scheme, axis=0), 2)
        qW = quantize(W, spec.weight_scheme, axis=0)
        spec.gemm(A[:2], qW)  # warm-up (compiles the numba kernels once)
        t = best_of(lambda s=spec, w=qW: s.gemm(A, w), 1)
        if t < SLOW_S:
            t = min(t, best_of(lambda s=spec, w=qW: s.gemm(A, w), args.reps * (10 if m == 1 else 1)))
        base = min(base, best_of(lambda: A32 @ W32, 3 if m > 1 else 30))  # re-measure: the machine is shared
        rows.append({"spec": text, "integer": text in TARGETED, "gemm_s": t, "quant_s": t_q})
    for r in rows:
        r["ratio"] = r["gemm_s"] / base
        r["ratio_with_quant"] = (r["gemm_s"] + r["quant_s"]) / base
    if args.json:
        print(json.dumps({"shape": [m, k, n], "float32_matmul_s": base, "rows": rows}, indent=2))
        return
    clock = "wall" if args.wall else "CPU, 1 BLAS thread"
    print(f"GEMM {m}x{k}x{n}; float32 numpy matmul: {base * 1e3:.2f} ms ({clock}, best of the run)")
    print(f"{'spec':<50} {'gemm/matmul':>11} {'+quant':>8}  target")
    for r in rows:
        target = ("<= 10x " + ("ok" if r["ratio"] <= 10 else "MISSED")) if r["integer"] else ""
        print(f"{r['spec']:<50} {r['ratio']:>10.1f}x {r['ratio_with_quant']:>7.1f}x  {target}")


if __name__ == "__main__":
    main()
