"""Encode/decode throughput of accel.formats against ml_dtypes casts, measured in the same run.

    .venv/bin/python benchmarks/bench_formats.py [--n 10000000] [--repeat 2] [--json]

Prints, per format, million values per second for our vectorised numpy encode/decode and for the
ml_dtypes cast (float32 -> narrow type, and narrow type -> float64), the time ratio ours / ml_dtypes,
and how many codes agree bit for bit (differences are the documented policy ones, e.g. e8m0 ties).
"""

from __future__ import annotations

import argparse
import json
import time

import ml_dtypes
import numpy as np

import accel.formats as F

#: Our name -> the numpy/ml_dtypes type with the same values.
PEERS = {"float8_e4m3fn": ml_dtypes.float8_e4m3fn, "float8_e5m2": ml_dtypes.float8_e5m2,
         "float6_e2m3fn": ml_dtypes.float6_e2m3fn, "float4_e2m1fn": ml_dtypes.float4_e2m1fn,
         "float8_e8m0fnu": ml_dtypes.float8_e8m0fnu, "bf16": ml_dtypes.bfloat16, "fp16": np.float16,
         "int4": ml_dtypes.int4}


def best_time(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def inputs(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    fmt = F.get(name)
    x = rng.standard_normal(n).astype(np.float32) * np.float32(min(fmt.max, 1e30) / 3)
    if name == "float8_e8m0fnu":
        x = np.abs(x) + np.float32(1e-30)
    if name == "int4":  # ml_dtypes' int4 cast truncates and wraps: compare with our matching mode
        x = np.clip(x, -7.9, 7.9)
    return x


def bench(name: str, n: int, repeat: int, rng: np.random.Generator) -> dict:
    fmt, peer = F.get(name), PEERS[name]
    x = inputs(name, n, rng)
    kwargs = {"rounding": "toward_zero", "saturate": False} if name == "int4" else {}
    t_enc, codes = best_time(lambda: fmt.encode(x, **kwargs), repeat)
    with np.errstate(over="ignore", invalid="ignore"):
        t_enc_peer, peer_vals = best_time(lambda: x.astype(peer), repeat)
    peer_codes = peer_vals.view(fmt.code_dtype) if fmt.bits in (8, 16) else peer_vals.view(np.uint8)
    t_dec, _ = best_time(lambda: fmt.decode(codes), repeat)
    with np.errstate(invalid="ignore"):
        t_dec_peer, _ = best_time(lambda: peer_vals.astype(np.float64), repeat)
    return {"format": name, "n": n,
            "encode_mvals_per_s": n / t_enc / 1e6, "ml_dtypes_encode_mvals_per_s": n / t_enc_peer / 1e6,
            "encode_time_ratio": t_enc / t_enc_peer,
            "decode_mvals_per_s": n / t_dec / 1e6, "ml_dtypes_decode_mvals_per_s": n / t_dec_peer / 1e6,
            "decode_time_ratio": t_dec / t_dec_peer,
            "codes_equal": int(np.count_nonzero(codes == peer_codes))}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000_000, help="values per format (default 1e7)")
    p.add_argument("--repeat", type=int, default=2, help="best of this many runs (default 2)")
    p.add_argument("--formats", nargs="*", default=list(PEERS), choices=list(PEERS))
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = [bench(name, args.n, args.repeat, rng) for name in args.formats]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'format':16} {'encode Mv/s':>11} {'ml_dtypes':>10} {'ratio':>7}   {'decode Mv/s':>11} "
              f"{'ml_dtypes':>10} {'ratio':>7}   codes equal")
        for r in rows:
            print(f"{r['format']:16} {r['encode_mvals_per_s']:11.1f} {r['ml_dtypes_encode_mvals_per_s']:10.1f} "
                  f"{r['encode_time_ratio']:6.1f}x   {r['decode_mvals_per_s']:11.1f} "
                  f"{r['ml_dtypes_decode_mvals_per_s']:10.1f} {r['decode_time_ratio']:6.1f}x   "
                  f"{r['codes_equal']}/{r['n']}")
        print("ratio = our time / ml_dtypes time on the same inputs in this run (lower is better)")
    return rows


if __name__ == "__main__":
    main()
