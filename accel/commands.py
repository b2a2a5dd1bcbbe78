"""Command-line subcommands of the `accel` package (registered by `cost_models.cli`)."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add this package's subcommands."""
