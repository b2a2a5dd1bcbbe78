"""Shared command-line conventions: every subcommand has --help and --json; errors are one line.

Each package exposes ``cli.register(subparsers)``; the entry point (``accel.cli``) collects
them.  Register functions must be cheap: import heavy modules inside the command function.

Values are checked before a command runs, each bad one a ConfigError naming the flag: counts added with
:func:`add_int` (``>= low``), numbers with :func:`add_float` (finite, optionally positive), a GEMM with
:func:`parse_gemm`, a design with :func:`accel.design.design_from_args`, output paths with :func:`check_output_dir` /
:func:`check_output_file`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import ConfigError

_CHECKS = "_value_checks"  # parser default: (dest, flag, kind, low) of every option add_int/add_float added


def add_command(subparsers, name: str, help: str, func: Callable[[argparse.Namespace], Any],
                description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand that has ``--json`` and runs ``func(args)``.

    ``func`` returns a JSON-serialisable object (printed with ``--json``) and may print human output
    itself when ``args.json`` is false.
    """
    p = subparsers.add_parser(name, help=help, description=description or help,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout, nothing else")

    def run(args: argparse.Namespace) -> Any:
        check_values(args)
        return func(args)

    p.set_defaults(func=run, **{_CHECKS: ()})
    return p


def _add_checked(p: argparse.ArgumentParser, flags: tuple[str, ...], kind: str, low: float | None, kw) -> None:
    action = p.add_argument(*flags, type=int if kind == "int" else float, **kw)
    p.set_defaults(**{_CHECKS: (*p.get_default(_CHECKS), (action.dest, action.option_strings[-1], kind, low))})


def add_int(p: argparse.ArgumentParser, *flags: str, low: int = 1, **kw: Any) -> None:
    """An integer option (a count, a seed) that must be ``>= low``; checked before the command runs."""
    _add_checked(p, flags, "int", low, kw)


def add_float(p: argparse.ArgumentParser, *flags: str, positive: bool = True, **kw: Any) -> None:
    """A number option that must be finite (and > 0 when ``positive``); checked before the command runs."""
    _add_checked(p, flags, "positive" if positive else "finite", None, kw)


def check_values(args: argparse.Namespace) -> None:
    """ConfigError for the first option of ``args`` outside what :func:`add_int` / :func:`add_float` allow."""
    for dest, flag, kind, low in getattr(args, _CHECKS, ()):
        v = getattr(args, dest, None)
        if v is None:
            continue
        if kind == "int" and v < low:
            raise ConfigError(f"{flag} must be an integer >= {low}, got {v!r}")
        if kind != "int" and not math.isfinite(v):
            raise ConfigError(f"{flag} must be a finite number, got {v!r}")
        if kind == "positive" and v <= 0:
            raise ConfigError(f"{flag} must be a positive number, got {v!r}")


def parse_gemm(text: str | None, flag: str = "--gemm") -> tuple[int, int, int]:
    """``"M,N,K"`` -> (M, N, K), three positive integers; ConfigError naming ``flag`` otherwise."""
    parts = [s.strip() for s in str(text).split(",")]
    if len(parts) != 3 or not all(s.isascii() and s.isdigit() and len(s) <= 30 and int(s) > 0 for s in parts):
        raise ConfigError(f"{flag} must be three positive integers M,N,K (e.g. 256,1024,1024), got {text!r}")
    m, n, k = (int(s) for s in parts)
    return m, n, k


def check_output_dir(path: str | os.PathLike, flag: str) -> Path:
    """A directory a command will create (with parents) and write into: refuse, before any work, a path
    that is an existing file or lies under a file or an unwritable directory."""
    p = Path(path)
    if str(path) == "":
        raise ConfigError(f"{flag} must name a directory, got ''")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} is an existing file; expected a directory (created when missing)")
    base = p
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} cannot be created: {str(base)!r} is a file, not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(p)!r} cannot be written: directory {str(base)!r} is not writable")
    return p


def check_output_file(path: str | os.PathLike, flag: str, suffixes: tuple[str, ...] = ()) -> Path:
    """A file a command will write: refuse, before any work, a directory, a missing or unwritable parent
    directory, or (with ``suffixes``) another file type."""
    p = Path(path)
    if str(path) == "" or p.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a directory or empty; expected a file name")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {str(p)!r} must end in one of {', '.join(suffixes)}")
    parent = p.parent
    if not parent.is_dir():
        raise ConfigError(f"{flag} {str(p)!r}: directory {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(p)!r}: directory {str(parent)!r} is not writable")
    return p


def add_group(subparsers, name: str, help: str):
    """Add a command group (e.g. ``accel formats``) and return its sub-subparsers."""
    p = subparsers.add_parser(name, help=help, description=help)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sub = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), None)[1])
    return sub


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses with ``to_dict`` and non-finite floats for JSON."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)  # "nan", "inf", "-inf": strict JSON has no literal for them
    return obj


def print_json(obj: Any) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
