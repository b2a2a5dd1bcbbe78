"""The ``accel`` command: the entry point, and the ``accel`` package's own subcommands (``accel formats list``,
``accel formats show NAME``; ``accel pe`` from :mod:`accel.pe.cli`).

Every package has one ``cli`` module whose ``register(subparsers)`` adds its subcommands; :data:`PACKAGES` names
them, each through an import inside a function, so the import graph (and import-linter) sees every edge while
``import accel.cli`` loads nothing above ``accel``.  Those four imports up the layering are the only ones the
layering contract exempts (``pyproject.toml``, ``docs/contracts.md``).  A command line registers the packages in
order until one owns its command, so ``accel formats list`` loads no simulator, RTL or cost-model code;
``--help`` and an unknown command register them all.  ``register`` functions stay cheap: heavy modules are
imported inside the command functions.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from accel import __version__
from accel.cliutil import add_command, add_group, print_json
from accel.errors import AccelError


def _formats_list(args):
    from accel.formats import get, names
    from accel.formats.describe import summary

    rows = [summary(get(n)) for n in names()]
    if not args.json:
        print(f"{'name':26} {'kind':8} {'bits':>6}  details")
        for r in rows:
            if "bits_per_element" in r:
                bits = f"{r['bits_per_element']:.4g}"
                detail = f"element {r['element']}, group {r['group_size'] or 'axis'}, scale {r['scale']}"
            else:
                bits = str(r["bits"])
                detail = f"max {r['max']:.6g}, min subnormal {r['min_subnormal']:.3g}"
                detail += "".join(f", {k}" for k in ("has_inf", "has_nan") if r[k])
            print(f"{r['name']:26} {r['kind']:8} {bits:>6}  {detail}")
        print(f"{len(rows)} names; group schemes also parse ELEMENT_g<N>[_asym][_SCALE] and "
              f"ELEMENT_per_channel[_asym][_SCALE]")
    return rows


def _formats_show(args):
    from accel.formats import get
    from accel.formats.describe import MAX_TABLE_BITS, element_of, summary

    obj = get(args.name)
    out = summary(obj)
    element = element_of(obj)
    table = element.table() if element.bits <= MAX_TABLE_BITS else None
    out["codes"] = table
    if not args.json:
        for k, v in out.items():
            if k != "codes":
                print(f"{k:17} {v}")
        if table is None:
            print(f"codes             not listed ({element.bits}-bit element: 2**{element.bits} codes)")
        else:
            print(f"\ncodes of {element.name}:")
            print(f"{'code':>6} {'bits':>{element.bits}} {'value':>16}  class")
            for row in table:
                print(f"{row['hex']:>6} {row['bits']:>{element.bits}} {row['value']:>16.10g}  {row['class']}")
    return out


def register(subparsers) -> None:
    """Add the ``accel`` package's subcommands."""
    formats = add_group(subparsers, "formats", "number formats and quantization schemes")
    add_command(formats, "list", "list every registered format and scheme", _formats_list)
    show = add_command(formats, "show", "show a format's parameters and every code with its value and class",
                       _formats_show)
    show.add_argument("name", help="format or scheme name, e.g. float8_e4m3fn, int4, mxfp4, int4_g128")

    from accel.pe.cli import register as register_pe

    register_pe(subparsers)


def _workloads(subparsers) -> None:
    from workloads.cli import register as register_workloads

    register_workloads(subparsers)


def _sim(subparsers) -> None:
    from sim.cli import register as register_sim

    register_sim(subparsers)


def _rtl(subparsers) -> None:
    from rtl.cli import register as register_rtl

    register_rtl(subparsers)


def _cost_models(subparsers) -> None:
    from cost_models.cli import register as register_cost_models

    register_cost_models(subparsers)


#: Each package's ``register``, in ``--help`` order (the layering's order, bottom up).
PACKAGES: tuple[Callable[[argparse._SubParsersAction], None], ...] = (register, _workloads, _sim, _rtl, _cost_models)


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand a command line names: its first word that is not an option (the top-level options
    ``-v`` and ``--version`` take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``accel`` parser: every package's subcommands, or (given ``argv``) those up to the package that owns
    the subcommand ``argv`` names."""
    parser = argparse.ArgumentParser(
        prog="accel",
        description="Co-design low-precision hardware for transformer inference: number formats, "
                    "golden PE models, a cycle-level array simulator, RTL, cost models and "
                    "design-space exploration.")
    parser.add_argument("--version", action="version", version=f"accel {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else _command(argv)
    for register_package in PACKAGES:
        register_package(sub)
        if wanted is not None and wanted in sub.choices:
            break
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
