"""SmolLM2-135M forward speed: float64 reference and a PE golden model, against float32 numpy, same process.

Prints wall times and ratios to the float32 peer measured in the same run, and the targets
(reference prefill of 256 tokens under 10 s, a decode step under 0.2 s on a 2-core machine).
Usage: python benchmarks/bench_forward.py [--tokens 256] [--pe mixpe_w4a8:weight_format=q4_1 | --pe none]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

CPU: dict[str, float] = {}


def timed(fn, repeat: int = 1, label: str | None = None):
    """Best wall time of ``repeat`` runs (and, under ``label``, the CPU seconds of that run in CPU)."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t
        if wall < best:
            best = wall
            if label:
                CPU[label] = time.process_time() - c
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--pe", default="mixpe_w4a8:weight_format=q4_1", help="PE spec, or 'none' to skip")
    ap.add_argument("--decode-steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (set before numpy loads; 1 is much faster on a contended machine)")
    args = ap.parse_args(argv)
    if args.threads:
        if "numpy" in sys.modules:
            raise SystemExit("--threads must be set before numpy is imported")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np

    from workloads import providers as prov
    from workloads.models import eval_ids, load_model

    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t_load, m = timed(lambda: load_model("smollm2-135m"))
    ids = eval_ids(m, args.tokens)
    t_deq64, _ = timed(lambda: [w.float64() for w in m.weights.values() if hasattr(w, "float64")])
    t_deq32, _ = timed(lambda: [w.float32() for w in m.weights.values() if hasattr(w, "float32")])
    print(f"load GGUF + tokenizer {t_load:.2f} s; dequantize all weights: float64 {t_deq64:.2f} s, "
          f"float32 {t_deq32:.2f} s (once per process)")

    t32, _ = timed(lambda: m.forward(ids, provider=prov.float32, dtype=np.float32), repeat=2, label="f32")
    t64, _ = timed(lambda: m.forward(ids), repeat=2, label="f64")
    print(f"prefill {args.tokens} tokens: float32 numpy {t32:.2f} s | float64 reference {t64:.2f} s "
          f"= {t64 / t32:.2f}x float32  (target < 10 s: {'met' if t64 < 10 else 'MISSED'}); "
          f"CPU seconds {CPU['f32']:.2f} | {CPU['f64']:.2f}")

    def decode(provider, dtype):
        cache = m.new_cache()
        m.forward(ids, cache=cache, provider=provider, logits="last", dtype=dtype)
        times = []
        for j in range(args.decode_steps):
            t = time.perf_counter()
            m.forward(ids[j:j + 1], cache=cache, provider=provider, dtype=dtype)
            times.append(time.perf_counter() - t)
        return min(times)

    d32 = decode(prov.float32, np.float32)
    d64 = decode(prov.reference, np.float64)
    print(f"decode step after {args.tokens} tokens: float32 {d32 * 1e3:.1f} ms | float64 reference "
          f"{d64 * 1e3:.1f} ms = {d64 / d32:.2f}x float32  (target < 200 ms: {'met' if d64 < 0.2 else 'MISSED'})")

    if args.pe != "none":
        from accel import pe

        p = prov.PEProvider(pe.parse(args.pe))
        tprep, _ = timed(lambda: [p.operand(w) for w in m.weights.values() if hasattr(w, "float64")])
        print(f"{args.pe}: weight operands prepared in {tprep:.2f} s (once)")
        tpe, _ = timed(lambda: m.forward(ids, provider=p))
        print(f"prefill {args.tokens} tokens through {args.pe} (golden model, requantized: "
              f"{len(p.requantized)} tensors): {tpe:.2f} s = {tpe / t32:.1f}x float32, {tpe / t64:.1f}x reference")


if __name__ == "__main__":
    main()
