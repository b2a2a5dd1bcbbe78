"""accel: bit-exact number formats, golden PE arithmetic and design specs (the foundation layer)."""

__version__ = "0.1.0"
