"""The ``accel`` command: the entry point, and ``accel cost`` (energy, area and FPGA LUTs of a design on a
workload, and the cost-model reports).

The entry sits in the top package of the layering, the only one that may import every other: it imports each
package's ``cli`` module by name, so the import graph (and import-linter) sees every edge.  A ``cli`` module's
``register(subparsers)`` must stay cheap: heavy modules (sim, workloads, pandas, matplotlib) are imported inside
the command functions.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from accel import __version__
from accel import cli as accel_cli
from accel.cliutil import add_command, add_float, print_json
from accel.errors import AccelError, ConfigError
from rtl import cli as rtl_cli
from sim import cli as sim_cli
from workloads import cli as workloads_cli

log = logging.getLogger(__name__)

_DESCRIPTION = """Energy (pJ), area (um^2) and FPGA LUTs of a design on a workload, or a cost-model report.

    accel cost (--design D.yaml | --pe SPEC [--array RxC] [--dataflow D])
               (--gemm M,N,K | --trace DIR | --model NAME [--phase P] [--tokens N]) [--json]
    accel cost --show anchors|ops|sram|calibration|fpga|lmul|mac-sweep [--plot FILE] [--json]
    accel cost --show mixpe [--model NAME --phase P --tokens N | --trace DIR] [--array RxC] [--json]

Every number carries its unit, source and technology node (docs/cost_models.md).
"""

DEFAULT_CONTEXT = 64
SHOW = ("anchors", "ops", "sram", "calibration", "fpga", "lmul", "mac-sweep", "mixpe")
_OPS_SHOWN = ("int_add:8", "int_add:32", "int_mul:8x8", "int_mul:8x4", "int_mul:32x32", "shift_add_mul:8x4",
              "shift_add_mul:8x8", "fp_mul:fp16xfp16", "fp_mul:fp32xfp32", "fp_mul:bf16xbf16", "fp_mul:e4m3xe4m3",
              "fp_mul:e5m2xe5m2", "fp_mul:e2m1xe2m1", "fp_add:fp16", "fp_add:fp32", "fp_add:e4m3", "exp_add:5",
              "lmul_add:7", "lmul_add:15", "kulisch_add:50", "shift:16", "convert:32", "cmp:8",
              "dequant_mul:fp32", "dequant_add:fp16")


def register(subparsers) -> None:
    """Add ``accel cost`` and the exploration layer's ``accel explore`` (unless already registered)."""
    _register_cost(subparsers)
    if "explore" not in subparsers.choices:
        from cost_models.explore.cli import register as register_explore

        register_explore(subparsers)


def _register_cost(subparsers) -> None:
    p = add_command(subparsers, "cost", "energy (pJ), area (um^2) and FPGA LUTs of a design on a workload",
                    _run, description=_DESCRIPTION)
    g = p.add_argument_group("design (one of)")
    g.add_argument("--design", metavar="FILE", help="design YAML (see examples/designs/)")
    g.add_argument("--pe", metavar="SPEC", help="PE spec NAME[:key=value,...] (see `accel pe list`)")
    g.add_argument("--array", metavar="RxC", default="32x32", help="array shape with --pe (default 32x32)")
    g.add_argument("--dataflow", default="ws", help="array dataflow with --pe: ws, os, is (default ws)")
    add_float(g, "--freq-mhz", default=500.0, help="clock with --pe (default 500)")
    sim_cli.add_design_overrides(g)
    w = p.add_argument_group("workload (one of)")
    w.add_argument("--gemm", metavar="M,N,K", help="one GEMM (M,K) x (K,N)")
    w.add_argument("--trace", metavar="DIR", help="a saved trace directory (accel workloads trace)")
    w.add_argument("--model", metavar="NAME", help="shape-only trace of a model (e.g. smollm2-135m)")
    w.add_argument("--phase", default="prefill", help="with --model: prefill or decode (default prefill)")
    sim_cli.add_workload_options(w, DEFAULT_CONTEXT)
    m = p.add_argument_group("model options")
    m.add_argument("--table", default="horowitz45", help="cost table name or YAML path (default horowitz45)")
    add_float(m, "--node-nm", help="scale the table to this technology node (nm)")
    add_float(m, "--vdd-v", help="supply voltage for --node-nm (default: the table's)")
    m.add_argument("--fpga-target", default="xc7", choices=("xc7", "ice40"),
                   help="FPGA LUT model target (default xc7)")
    m.add_argument("--area-model", default="calibrated", choices=("calibrated", "anchored"),
                   help="PE/dequant logic area: calibrated (standard cells, synthesis-calibrated; default) or "
                        "anchored (Horowitz-anchored width laws)")
    m.add_argument("--force", action="store_true",
                   help="simulate even when the estimated time exceeds the limit (ACCEL_MAX_SECONDS, default 60 s)")
    m.add_argument("--analytic", action="store_true",
                   help="use the shape-only traffic/cycle estimate even when the simulator is available")
    r = p.add_argument_group("reports")
    r.add_argument("--show", choices=SHOW, help="print a cost-model report instead of evaluating a design")
    r.add_argument("--plot", metavar="FILE", help="with --show mac-sweep: write the plot (PNG/SVG)")
    r.add_argument("--out", metavar="FILE", help="with --show mac-sweep: write the full table (.csv or .parquet)")


def _table(args):
    from cost_models.tables import get_table

    t = get_table(args.table)
    return t.at_node(args.node_nm, args.vdd_v) if args.node_nm is not None or args.vdd_v is not None else t


def _design(args):
    from accel.design import ArraySpec, Design, load_design

    if bool(args.design) == bool(args.pe):
        raise ConfigError("give exactly one of --design FILE or --pe SPEC "
                          f"(got design={args.design!r}, pe={args.pe!r})")
    if args.design:
        return sim_cli.with_design_overrides(load_design(args.design), args)
    from accel import pe as pe_mod

    rows, cols = ArraySpec.parse_shape(args.array)
    return sim_cli.with_design_overrides(Design(pe=pe_mod.parse(args.pe), array=ArraySpec(rows, cols, args.dataflow,
                                                                                      args.freq_mhz)), args)


def _simulator():
    """``sim.simulate`` when the simulator package provides it, else None."""
    try:
        from sim import simulate
    except ImportError:
        return None
    return simulate


def _usage(args, design):
    from cost_models import usage as U

    chosen = [n for n in ("gemm", "trace", "model") if getattr(args, n) is not None]
    if len(chosen) != 1:
        raise ConfigError(f"give exactly one workload: --gemm M,N,K, --trace DIR or --model NAME (got {chosen!r})")
    simulate = None if args.analytic else _simulator()
    if args.gemm is not None:
        from accel.cliutil import parse_gemm

        m, n, k = parse_gemm(args.gemm)
        if simulate:
            return U.usage_from_sim(simulate((m, n, k), design, force=args.force))
        return U.usage_for_gemm(design, m, n, k)
    trace = _trace(args, design=design)
    if simulate:
        u = U.usage_from_sim(simulate(trace, design, force=args.force))
        return u if u.tokens else dataclasses.replace(u, tokens=U.trace_tokens(trace))
    return U.usage_for_trace(design, trace)


def _trace(args, default_model: str | None = None, design=None):
    if args.trace:
        from workloads.trace import load_trace

        return load_trace(args.trace, arrays=False)
    from workloads.shapes import shape_trace

    context, batch = sim_cli.context_and_batch(args, design, DEFAULT_CONTEXT)
    return shape_trace(args.model or default_model, phase=args.phase, tokens=context, batch=batch)


def _run(args: argparse.Namespace):
    from accel.cliutil import check_output_file

    if args.out is not None:
        check_output_file(args.out, "--out", (".csv", ".parquet"))
    if args.plot is not None:
        check_output_file(args.plot, "--plot", (".png", ".svg", ".pdf"))
    if args.show:
        return _show(args)
    from cost_models.evaluation import price

    design = _design(args)
    report = price(design, _usage(args, design), table=_table(args), fpga_target=args.fpga_target,
                   area_model=args.area_model)
    d = report.to_dict()
    if not args.json:
        print(f"design {d['provenance']['design']['pe']} on {design.array.rows}x{design.array.cols} "
              f"{design.array.dataflow} @ {design.array.freq_mhz} MHz; node {report.provenance['node_nm']} nm "
              f"({report.provenance['table']}); usage: {report.provenance['usage']}")
        print(f"energy {report.energy_pj:.6g} pJ  area {report.area_um2:.6g} um^2  FPGA {report.fpga_luts} LUTs "
              f"({args.fpga_target})  cycles {report.cycles}  MACs {report.macs}")
        print(f"energy/MAC {d['energy_per_mac_pj']} pJ  energy/token {d['energy_per_token_pj']} pJ  "
              f"EDP {d['energy_delay_product_pj_s']:.4g} pJ*s  ADP {d['area_delay_product_um2_s']:.4g} um^2*s")
        for title, key in (("energy (pJ)", "energy_breakdown_pj"), ("area (um^2)", "area_breakdown_um2")):
            print(title)
            for name, item in d[key].items():
                print(f"  {name:26s} {item['value']:14.6g}  {item['source'][:80]}")
    return d


def _show(args):
    from cost_models.fpga import calibration
    from cost_models.fpga.model import FpgaModel
    from cost_models.memory import MemoryModel
    from cost_models.operators import OperatorModel
    from cost_models.studies import claims

    t = _table(args)
    if args.show == "anchors":
        out = {"provenance": t.provenance, "sources": t.sources,
               "ops": {op: [a.__dict__ for a in anchors] for op, anchors in t.ops.items()},
               "reproduced": {op: [{"key": _anchor_key(op, a), **OperatorModel(t).price(_anchor_key(op, a)).to_dict()}
                                   for a in anchors] for op, anchors in t.ops.items()}}
        rows = [(k["key"], k["energy_pj"], k["area_um2"]) for v in out["reproduced"].values() for k in v]
        header = ("key", "energy_pj", "area_um2")
    elif args.show == "ops":
        model = OperatorModel(t)
        out = {"provenance": t.provenance, "ops": {k: model.price(k).to_dict() for k in _OPS_SHOWN},
               "float_components": {k: model.fp_breakdown(k) for k in _OPS_SHOWN
                                    if k.startswith(("fp_", "dequant_"))}}
        rows = [(k, v["energy_pj"], v["area_um2"]) for k, v in out["ops"].items()]
        header = ("key", "energy_pj", "area_um2")
    elif args.show == "sram":
        mem = MemoryModel(t)
        caps = [2 ** i * 8 * 1024 for i in range(0, 11, 2)]
        out = {"fit": mem.sram_fit().to_dict(), "source": mem.sram_source, "area_source": mem.sram_area_source,
               "dram_pj_per_bit": {w: mem.dram_pj_per_bit(w) for w in ("low", "value", "high")},
               "capacities": [{"capacity_bits": c, "read_pj_per_bit": mem.sram_read_pj_per_bit(c),
                               "write_pj_per_bit": mem.sram_write_pj_per_bit(c), "area_um2": mem.sram_area_um2(c)}
                              for c in caps]}
        rows = [(c["capacity_bits"], c["read_pj_per_bit"], c["area_um2"]) for c in out["capacities"]]
        header = ("capacity_bits", "read_pj_per_bit", "area_um2")
    elif args.show == "calibration":
        out = calibration.asic_calibration(t)
        rows = [(f"[{basis} | {which}]", b["block"], b["measured_ge"], b["calibrated_ge"],
                 f"{b['error_family_factor']:+.1%}",
                 "-" if b["error_held_out"] is None else f"{b['error_held_out']:+.1%}")
                for basis, by_model in out["bases"].items() for which, cal in by_model.items() for b in cal["blocks"]]
        header = ("[liberty | model]", "block", "GE synth", "GE model", "err", "err held out")
    elif args.show == "fpga":
        from cost_models.fpga.blocks import dsp_validation

        fm = FpgaModel(args.fpga_target)
        out = {"target": fm.target, "coefficients": fm.coef, "global_coefficient": fm.global_coef,
               "blocks": fm.validation(), "dsp_blocks": dsp_validation()}
        rows = [(b["block"], b["measured_luts"], b["predicted_luts"], f"{b['error']:+.1%}",
                 "-" if b["error_held_out"] is None else f"{b['error_held_out']:+.1%}") for b in out["blocks"]]
        rows += [(f"{b['block']} [{b['target']} DSPs allowed]", f"{b['measured_dsps']} DSP",
                  f"{b['predicted_dsps']} DSP", "exact" if b["measured_dsps"] == b["predicted_dsps"] else "MISS", "")
                 for b in out["dsp_blocks"]]
        header = ("block", f"{fm.target} LUTs synth", "model", "err", "err held out")
    elif args.show == "lmul":
        model = OperatorModel(t)
        out = {"accumulate_fp32": claims.lmul_energy(model, accumulate="fp32"),
               "accumulate_same": claims.lmul_energy(model, accumulate="same")}
        rows = [(f"{r['format']} acc {acc}", f"{r['elementwise_saving']:.1%}", f"{r['dot_product_saving']:.1%}")
                for acc, key in (("fp32", "accumulate_fp32"), ("same", "accumulate_same"))
                for r in out[key]["rows"]]
        rows.append(("paper (L-Mul abstract)", "95%", "80%"))
        header = ("format, accumulation", "element-wise saving", "dot-product saving")
    elif args.show == "mixpe":
        from accel.design import ArraySpec

        res = claims.mixpe_vs_conventional(_trace(args, default_model="smollm2-135m"),
                                           array=ArraySpec.parse_shape(args.array),
                                           simulate=None if args.analytic else _simulator(), table=t)
        out = res
        rows = [(f"{p['mixpe']} vs {p['conventional']}", "total", f"{p['total_ratio']:.3f}x",
                 f"paper {res['paper']['energy_reduction']}x", p["usage"][:60]) for p in res["pairs"]]
        rows += [(r["layer"], r["op"], f"{r['m']}x{r['k']}->{r['n']}", f"{r['ratio']:.3f}x",
                  f"arith {r['arith_ratio']:.2f}x") for p in res["pairs"] for r in p["rows"] if r["layer"] in (0, 30)]
        header = ("layer", "GEMM", "MxK->N", "energy conventional / MixPE", "PE arithmetic only")
    else:
        df = claims.mac_sweep(target=args.fpga_target, model=OperatorModel(t))
        if args.out:
            df.to_parquet(args.out) if str(args.out).endswith(".parquet") else df.to_csv(args.out, index=False)
        out = {"target": args.fpga_target, "k": df.attrs["k"], "pairs": len(df),
               "summary": claims.mac_sweep_summary(df), "table": df.to_dict(orient="records")}
        if args.plot:
            out["plot"] = claims.plot_mac_sweep(df, args.plot)
        rows = [(f"W{s['weight_bits']}A{s['act_bits']}", round(s["int_luts"], 1), round(s["minifloat_min_luts"], 1),
                 s["minifloat_min_pair"], round(s["minifloat_max_luts"], 1), s["minifloat_max_pair"])
                for s in out["summary"]]
        header = ("WxA bits", "INT LUTs", "cheapest ExMy LUTs", "pair", "dearest ExMy LUTs", "pair")
    if not args.json:
        for r in [header, *rows]:
            print("  ".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in r))
    return out


def _anchor_key(op: str, a) -> str:
    if op.startswith("int_mul"):
        return f"int_mul:{a.bits}x{a.bits}"
    if op.startswith("int"):
        return f"{op}:{a.bits}"
    fmt = a.format or f"e{a.ebits}m{a.mbits}"
    return f"fp_mul:{fmt}x{fmt}" if op == "fp_mul" else f"fp_add:{fmt}"


#: Each package's subcommands, in --help order.
REGISTER = (accel_cli.register, workloads_cli.register, sim_cli.register, rtl_cli.register, register)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accel",
        description="Co-design low-precision hardware for transformer inference: number formats, "
                    "golden PE models, a cycle-level array simulator, RTL, cost models and "
                    "design-space exploration.")
    parser.add_argument("--version", action="version", version=f"accel {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register_commands in REGISTER:
        register_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except AccelError as exc:
        print(f"accel: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        return 0
    except KeyboardInterrupt:
        print("accel: interrupted", file=sys.stderr)
        return 130
    if getattr(args, "json", False) and result is not None:
        print_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
