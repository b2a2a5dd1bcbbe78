"""Simulator benchmarks, printed as ratios measured in this run.

1. Speed of the fast fold model against the register-level reference (simulated PE-cycles per second).
2. Against SCALE-Sim 3.0.0 itself (when ``scripts/setup_scalesim.sh`` installed it): identical compute
   cycles in ``--mode scalesim``, and wall-time ratios (256 x 1024 -> 1024 on 32x32 OS; add ``--full`` for
   256 x 4096 -> 4096 on 128x128 OS, about 10 minutes of SCALE-Sim).
3. The full LLaMA-7B projection 2048 x 4096 -> 4096 on 32x32 and 128x128 (each in a fresh process:
   wall time and peak RSS against the 5 s / 1 GB budget).
4. The whole SmolLM2-135M trace (256-token prefill + 32 decode steps) through a MixPE design with
   functional outputs on, when the model has been fetched (``accel workloads fetch smollm2-135m``).
Run: ``.venv/bin/python benchmarks/bench_sim.py [--full] [--no-scalesim]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ROOT / "examples" / "designs"
sys.path.insert(0, str(ROOT))

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from accel.design import load_design, ArraySpec
import sim
d = load_design({design!r})
d = d.replace(array=ArraySpec({rows}, {cols}, {df!r}))
t = time.perf_counter()
r = sim.simulate(({m}, {n}, {k}), d, mode={mode!r})
wall = time.perf_counter() - t
print(json.dumps(dict(cycles=r.cycles, wall=wall, rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      util=r.utilization, bound=r.roofline_cycles, pe_cycles=r.pe_cycles, folds=r.ops[0].folds)))
"""


def _child(m, n, k, rows, cols, df, design, mode="cycle") -> dict:
    code = _CHILD.format(root=str(ROOT), design=str(design), rows=rows, cols=cols, df=df, m=m, n=n, k=k, mode=mode)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_reference_speed() -> None:
    import numpy as np

    from accel.design import load_design
    from sim.array_reference import run_reference
    from sim.array_timing import array_schedule
    from sim.pe_view import pe_view
    from sim.tiling import plan_op

    d = load_design(DESIGNS / "int8_mac_32x32.yaml")
    from accel.design import ArraySpec

    d = d.replace(array=ArraySpec(8, 8, "ws"))
    pe = pe_view(d.pe)
    m, n, k = 64, 32, 32
    plan = plan_op(m, n, k, d, pe)
    rng = np.random.default_rng(0)
    A, W = rng.integers(-8, 8, (m, k)), rng.integers(-8, 8, (k, n))
    starts, writes, end = array_schedule("ws", plan.stream, plan.depth, plan.width)
    t = time.perf_counter()
    run_reference("ws", A, W, 8, 8, plan.geometry, starts, writes)
    ref_rate = end * 64 / (time.perf_counter() - t)
    fast = _child(2048, 4096, 4096, 32, 32, "ws", DESIGNS / "mixpe_w4a8_32x32.yaml")
    fast_rate = fast["pe_cycles"] / fast["wall"]
    print(f"register-level reference: {ref_rate:.3g} PE-cycles/s (8x8 array, {m}x{k}->{n}, {end} cycles)")
    print(f"fast fold model + SimPy memory system: {fast_rate:.3g} PE-cycles/s (LLaMA-7B projection, 32x32)")
    print(f"ratio fast / reference: {fast_rate / ref_rate:,.0f}x")


def bench_scalesim(full: bool) -> None:
    from sim.scalesim import run_scalesim, scalesim_python

    if scalesim_python() is None:
        print("SCALE-Sim comparison skipped: run `bash scripts/setup_scalesim.sh` first")
        return
    cases = [(256, 1024, 1024, 32, 32)] + ([(256, 4096, 4096, 128, 128)] if full else [])
    for m, n, k, r, c in cases:
        t = time.perf_counter()
        theirs = run_scalesim(m, n, k, r, c, "os", timeout_s=3600)
        t_theirs = time.perf_counter() - t
        design = DESIGNS / "int8_mac_32x32.yaml"
        ours = _child(m, n, k, r, c, "os", design, mode="scalesim")
        cyc = _child(m, n, k, r, c, "os", design, mode="cycle")
        print(f"{m}x{k}->{n} on {r}x{c} OS: SCALE-Sim {theirs:,} cycles in {t_theirs:.1f} s; "
              f"scalesim mode {ours['cycles']:,} cycles ({'identical' if ours['cycles'] == theirs else 'DIFFERENT'}) "
              f"in {ours['wall']:.3f} s -> {t_theirs / ours['wall']:,.0f}x faster; cycle mode {cyc['cycles']:,} "
              f"cycles ({cyc['cycles'] / theirs:.3f} of SCALE-Sim's) in {cyc['wall']:.3f} s -> "
              f"{t_theirs / cyc['wall']:,.0f}x faster")


def bench_llama() -> None:
    for rows in (32, 128):
        design = DESIGNS / ("mixpe_w4a8_32x32.yaml" if rows == 32 else "mixpe_w4a8_128x128_decode.yaml")
        r = _child(2048, 4096, 4096, rows, rows, "ws", design)
        print(f"LLaMA-7B 2048x4096->4096 on {rows}x{rows} WS ({design.stem} memory): {r['cycles']:,} cycles, "
              f"{r['folds']:,} folds, utilization {r['util']:.3f}, cycles/roofline {r['cycles'] / r['bound']:.3f}; "
              f"wall {r['wall']:.2f} s ({r['wall'] / 5:.2f} of the 5 s budget), peak RSS {r['rss_mb']:.0f} MB "
              f"({r['rss_mb'] / 1024:.2f} of 1 GB), {r['pe_cycles'] / r['wall']:.3g} PE-cycles/s")


def bench_smollm2() -> None:
    from workloads import fetch

    if not fetch.is_cached("smollm2-135m"):
        print("SmolLM2 trace benchmark skipped: run `accel workloads fetch smollm2-135m` first")
        return
    from accel.design import load_design
    from sim import simulate
    from workloads import providers as prov
    from workloads.models import load_model, real_trace
    from workloads.trace import Trace, load_trace, save_trace

    design = load_design(DESIGNS / "mixpe_w4a8_32x32.yaml")
    model = load_model("smollm2-135m")
    provider = prov.PEProvider(design.pe)
    cached = ROOT / ".cache" / "bench_sim" / "smollm2_prefill256_decode32"
    t = time.perf_counter()
    if (cached / "manifest.json").is_file():
        trace = load_trace(cached)
        how = "loaded from " + str(cached.relative_to(ROOT))
    else:
        pre = real_trace("smollm2-135m", phase="prefill", tokens=256, model=model)
        dec = real_trace("smollm2-135m", phase="decode", tokens=256, decode_steps=32, model=model)
        trace = Trace("smollm2-135m", pre.ops + dec.ops)
        save_trace(trace, cached)
        how = "captured"
    t_trace = time.perf_counter() - t
    t = time.perf_counter()
    timing_only = simulate(trace, design)
    t_timing = time.perf_counter() - t
    t = time.perf_counter()
    r = simulate(trace, design, functional=True, weights=lambda ref: provider.operand(model.weights[ref]))
    t_sim = time.perf_counter() - t
    assert r.cycles == timing_only.cycles
    print(f"SmolLM2-135M trace, timing only: {t_timing:.2f} s ({t_timing / 60:.3f} of the 60 s budget), "
          f"{timing_only.pe_cycles_per_second:.3g} PE-cycles/s; functional outputs (accel.pe golden gemm) take "
          f"{(t_sim - t_timing) / max(t_timing, 1e-9):.0f}x the timing model's time")
    print(f"SmolLM2-135M 256-token prefill + 32 decode steps: {len(trace.ops)} ops, {r.cycles:,} cycles, "
          f"utilization {r.utilization:.3f}; simulate with functional outputs {t_sim:.1f} s ({t_sim / 60:.2f} of the "
          f"60 s budget; trace {how} in {t_trace:.1f} s, not included), {r.pe_cycles_per_second:.3g} PE-cycles/s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="also run SCALE-Sim on 256x4096->4096 (about 10 minutes)")
    ap.add_argument("--no-scalesim", action="store_true", help="skip the SCALE-Sim runs")
    args = ap.parse_args(argv if argv is not None else [])
    bench_reference_speed()
    bench_llama()
    if not args.no_scalesim:
        bench_scalesim(args.full)
    bench_smollm2()


if __name__ == "__main__":
    main(sys.argv[1:])
