"""Shared command-line conventions: every subcommand has --help and --json; errors are one line.

Each package exposes ``commands.register(subparsers)``; the entry point (``cost_models.cli``) collects
them.  Register functions must be cheap: import heavy modules inside the command function.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np


def add_command(subparsers, name: str, help: str, func: Callable[[argparse.Namespace], Any],
                description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand that has ``--json`` and runs ``func(args)``.

    ``func`` returns a JSON-serialisable object (printed with ``--json``) and may print human output
    itself when ``args.json`` is false.
    """
    p = subparsers.add_parser(name, help=help, description=description or help,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout, nothing else")
    p.set_defaults(func=func)
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
