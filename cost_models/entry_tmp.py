"""The ``accel`` command-line entry point (top of the import graph: it may reach every package)."""

from __future__ import annotations

import argparse
import logging
import sys

from accel import __version__
from accel.cliutil import print_json
from accel.errors import AccelError

#: Packages whose ``commands`` module registers subcommands, in --help order.
COMMAND_MODULES = ("accel.commands", "workloads.commands", "sim.commands", "rtl.cli",
                   "cost_models.commands")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="accel",
        description="Co-design low-precision hardware for transformer inference: number formats, "
                    "golden PE models, a cycle-level array simulator, RTL, cost models and "
                    "design-space exploration.")
    parser.add_argument("--version", action="version", version=f"accel {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
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
