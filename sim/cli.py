"""Command-line subcommands of the `sim` package (``accel sim``), registered by the `accel` entry point
(:mod:`cost_models.cli`)."""

from __future__ import annotations

import argparse

from accel.cliutil import add_command, add_float, add_int

_EPILOG = """\
examples:
  accel sim --pe mixpe_w4a8 --array 32x32 --dataflow ws --gemm 256,1024,1024
  accel sim --design examples/designs/mixpe_w4a8_32x32.yaml --gemm 1,4096,4096 --json
  accel sim --pe int8_mac --array 128x128 --dataflow os --gemm 256,512,512 --mode scalesim
  accel sim --pe mixpe_w4a8 --array 32x32 --dataflow ws --gemm 1,4096,4096 --weight-load-bits 4096
  accel sim --pe mixpe_w4a8 --model smollm2-135m --phase decode --context 2048 --kv-format bfp12_b32
  accel sim --pe mixpe_w4a8 --model llama2-13b --phase decode --context 2048 --batch 64 --weight-load-bits 4096
  accel sim --pe mixpe_w4a8 --model smollm2-135m --phase decode --context 2048 --dram hbm3
  accel sim --design examples/designs/mixpe_w4a8_32x32.yaml --model smollm2-135m --phase decode --tokens 256
  accel sim --design D.yaml --trace traces/smollm2 -o results/sim
"""


DEFAULT_CONTEXT = 128


def register(subparsers) -> None:
    """Add ``accel sim``."""
    p = add_command(subparsers, "sim", help="simulate GEMMs or a workload trace on a design (cycle level)",
                    func=_sim, description="Cycle-level simulation of a systolic PE array with an "
                    "enforced-bandwidth memory system.  Prints cycles, stalls, utilization and DRAM traffic.")
    p.epilog = _EPILOG
    d = p.add_mutually_exclusive_group(required=True)
    d.add_argument("--design", metavar="YAML", help="design file (see examples/designs/)")
    d.add_argument("--pe", metavar="SPEC", help="PE spec NAME[:key=value,...] (see `accel pe list`)")
    p.add_argument("--array", metavar="RxC", default="32x32", help="array shape with --pe (default 32x32)")
    p.add_argument("--dataflow", choices=("ws", "os", "is"), default="ws", help="dataflow with --pe (default ws)")
    add_float(p, "--dram-bw", metavar="B", help="DRAM bandwidth in bytes/cycle (overrides the design)")
    add_design_overrides(p)
    w = p.add_mutually_exclusive_group(required=True)
    w.add_argument("--trace", metavar="DIR", help="trace directory written by `accel workloads trace`")
    w.add_argument("--gemm", metavar="M,N,K", help="one GEMM Y[M,N] = A[M,K] @ W[K,N]")
    w.add_argument("--model", metavar="NAME", help="shape-only trace of a model (see `accel workloads list`)")
    p.add_argument("--phase", choices=("prefill", "decode", "both"), default="prefill",
                   help="with --model: prefill, one decode step at --context, or both (time to first token and "
                        "per output token)")
    add_workload_options(p, DEFAULT_CONTEXT)
    p.add_argument("--mode", choices=("cycle", "scalesim"), default="cycle",
                   help="cycle: full model; scalesim: SCALE-Sim 3.0.0's stall-free compute cycles")
    p.add_argument("--functional", action="store_true", help="compute outputs through the golden PE (traces)")
    p.add_argument("-o", "--output", metavar="DIR", help="write sim_result.json and per_op.parquet here")
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated time exceeds the limit (ACCEL_MAX_SECONDS, default 60 s)")


def add_workload_options(parser, default_context: int) -> None:
    """``--context T`` (alias ``--tokens``) and ``--batch B`` of a model workload (shared with ``accel cost``);
    unset, they come from the design's ``workload`` section (:func:`context_and_batch`)."""
    add_int(parser, "--context", "--tokens", dest="tokens",
            help="with --model: prompt tokens, the context a decode step attends to (default: the design's "
                 f"workload.context, else {default_context})")
    add_int(parser, "--batch", help="with --model: sequences processed together, each with its own KV cache; "
                                    "weights are read once per step for all (default: the design's "
                                    "workload.batch, else 1)")


def context_and_batch(args, design, default_context: int) -> tuple[int, int]:
    """``--context`` / ``--batch`` when given, else the design's ``workload`` section, else the defaults."""
    w = design.workload if design is not None else None
    context = args.tokens if args.tokens is not None else (w and w.context) or default_context
    batch = args.batch if args.batch is not None else (w and w.batch) or 1
    return context, batch


def add_design_overrides(parser) -> None:
    """``--weight-load-bits B``, ``--kv-format F`` and ``--dram T`` (shared with ``accel cost``)."""
    add_int(parser, "--weight-load-bits", metavar="B",
            help="bits per cycle written into the array's stationary (shadow) registers, split over the columns "
                 "(overrides the design; default: one PE row per column per cycle)")
    parser.add_argument("--kv-format", metavar="F",
                        help="KV-cache storage format, any accel.formats name, e.g. fp16, int8, bfp12_b32 "
                             "(overrides the design's kv_cache_format; default: the activations' format)")
    parser.add_argument("--dram", metavar="T",
                        help="DRAM technology preset: ddr4 (the default figures), lpddr5, hbm3 (bandwidth at the "
                             "array's clock and energy per bit, each cited in accel/data/dram_technologies.yaml)")


def with_design_overrides(design, args):
    """``design`` with ``--weight-load-bits`` / ``--kv-format`` / ``--dram`` applied when given."""
    import dataclasses

    from accel.design import with_dram

    if getattr(args, "weight_load_bits", None) is not None:
        design = design.replace(array=dataclasses.replace(design.array,
                                                          weight_load_bits_per_cycle=args.weight_load_bits))
    if getattr(args, "kv_format", None) is not None:
        design = design.replace(kv_cache_format=args.kv_format)
    if getattr(args, "dram", None) is not None:
        design = with_dram(design, args.dram)
    return design


def _design(args):
    import dataclasses

    from accel.design import ArraySpec, Design, load_design
    from accel.errors import ConfigError

    if args.design:
        design = load_design(args.design)
    else:
        from accel import pe as pe_mod

        rows, cols = ArraySpec.parse_shape(args.array)
        design = Design(pe=pe_mod.parse(args.pe), array=ArraySpec(rows, cols, args.dataflow))
    if args.dram_bw is not None and args.dram is not None:
        raise ConfigError(f"--dram {args.dram} sets the DRAM bandwidth: give --dram or --dram-bw, not both")
    if args.dram_bw is not None:
        design = design.replace(memory=dataclasses.replace(design.memory, dram_bandwidth_bytes_per_cycle=args.dram_bw))
    return with_design_overrides(design, args)


def _workload(args, design):
    if args.gemm is not None:
        from accel.cliutil import parse_gemm

        return parse_gemm(args.gemm)
    if args.trace:
        from workloads.trace import load_trace

        return load_trace(args.trace, arrays=args.functional)
    from workloads.shapes import shape_trace
    from workloads.trace import PHASES, Trace

    context, batch = context_and_batch(args, design, DEFAULT_CONTEXT)
    traces = [shape_trace(args.model, phase=ph, tokens=context, batch=batch)
              for ph in (PHASES if args.phase == "both" else (args.phase,))]
    return traces[0] if len(traces) == 1 else Trace(traces[0].model, [o for t in traces for o in t.ops],
                                                    {**traces[0].meta, "phase": "both"})


def _sim(args: argparse.Namespace):
    import json
    from pathlib import Path

    from accel.cliutil import check_output_dir, to_jsonable
    from sim import simulate

    if args.output is not None:
        check_output_dir(args.output, "-o/--output")
    design = _design(args)
    result = simulate(_workload(args, design), design, mode=args.mode, functional=args.functional, progress=True,
                      force=args.force)
    out = result.to_dict()
    if args.output:
        d = Path(args.output)
        d.mkdir(parents=True, exist_ok=True)
        from accel.provenance import provenance

        record = {**out, "design_spec": design.to_dict(), **provenance()}
        (d / "sim_result.json").write_text(json.dumps(to_jsonable(record), indent=1))
        result.per_op.to_parquet(d / "per_op.parquet", index=False)
    if not args.json:
        print(f"design {out['design']} ({out['array']}, {design.array.dataflow}), mode {out['mode']}: "
              f"{len(result.ops)} op(s), {out['macs']:,} MACs")
        print(f"cycles {out['cycles']:,} = compute {out['compute_cycles']:,} + fill/drain "
              f"{out['fill_drain_cycles']:,} + memory stall {out['memory_stall_cycles']:,} + dequant stall "
              f"{out['dequant_stall_cycles']:,}")
        print(f"utilization {out['utilization']:.1%}; roofline bound {out['roofline']['bound_cycles']:,.0f} "
              f"(compute {out['roofline']['compute_cycles']:,.0f}, memory {out['roofline']['memory_cycles']:,.0f})")
        print("DRAM bits " + ", ".join(f"{k} {v:,}" for k, v in out["dram_bits_by_operand"].items())
              + f" (total {out['dram_bits']:,})")
        print(f"simulated {result.pe_cycles:,} PE-cycles in {result.wall_seconds:.2f} s "
              f"({result.pe_cycles_per_second:,.3g} PE-cycles/s)")
        if args.output:
            print(f"wrote {args.output}/sim_result.json and per_op.parquet")
    return out
