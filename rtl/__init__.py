"""Amaranth RTL of accel's PEs and arrays, its verification and synthesis (see rtl/README.md)."""

from rtl import variants  # noqa: F401  (registers each PE variant's RTL binding in rtl.config)
